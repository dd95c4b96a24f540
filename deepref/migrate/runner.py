"""The migration runner around peewee-migrate, safe on a live PostgreSQL database.

- One run at a time: the database's migration lock (deepref.db), history re-read after
  taking it, so concurrent runs apply each revision once.
- A revision's work is cut into steps (deepref.migrate.steps). Each transaction starts
  with SET LOCAL lock_timeout and statement_timeout; a lock timeout rolls the
  transaction back and tries again with backoff, naming who blocked it each time.
  Concurrent index builds and validations run outside the revision's transaction while
  the lock is held; backfills run in batches. The history row is written with the last
  step; a run that stops part-way continues from the step after the last one done.
- Every failure is one MigrationError saying what failed, what was kept, what to do.
- Nothing runs on a history it cannot trust (deepref.migrate.ledger): an applied file
  missing or changed since it was applied, two files with one number, or a pending
  revision numbered below the last applied one (unless allowed) is refused up front,
  one line each. Each revision's checksum is recorded with its history row.

peewee-migrate supplies the revision files' loading and the migrator's model state
(replayed from the applied revisions); running them is done here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import logging
import random
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TextIO

import peewee as pw
import psycopg2
from peewee_migrate import Migrator, Router

from deepref.config import MIGRATIONS_DIR, MigrationSettings
from deepref.db import failures, first_line
from deepref.exceptions import DeeprefError, UsageError
from deepref.migrate import history, ledger
from deepref.migrate.history import HISTORY_TABLE
from deepref.migrate.steps import Backfill, Online, Step, Transaction, plan
from deepref.migrate.watch import Progress, Watcher

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,80}$")
# Tables whose row counts a rollback reports exactly; larger ones from planner estimates.
EXACT_COUNT_BELOW = 10_000

_quiet = logging.getLogger("deepref.migrate.router")
_quiet.addHandler(logging.NullHandler())
_quiet.propagate = False

__all__ = ["HISTORY_TABLE", "MIGRATIONS_DIR", "Limits", "MigrationError", "RevisionState",
           "UnknownRevision", "accept", "available", "create", "migrate", "pending",
           "require_files", "resolve", "rollback", "states", "status", "to_undo"]


class MigrationError(DeeprefError):
    """A revision failed or cannot be run; exit 1 with the reason."""


class UnknownRevision(UsageError):
    """A revision named on the command line does not exist (bad usage, exit 2)."""


@dataclass(frozen=True)
class Limits:
    """How long a migration's statements may wait and run (PostgreSQL), and retries."""

    lock_timeout: float = 2.0  # seconds a statement may wait for a lock
    statement_timeout: float = 10.0  # seconds a statement in a transaction may run; 0: none
    attempts: int = 5  # tries of a transaction that hits the lock timeout
    first_wait: float = 1.0  # seconds before the second try; doubled each time

    @classmethod
    def configured(cls, patience: MigrationSettings) -> Limits:
        """The limits MIGRATION_LOCK_TIMEOUT, _STATEMENT_TIMEOUT and _ATTEMPTS set."""
        return cls(lock_timeout=patience.lock_timeout,
                   statement_timeout=patience.statement_timeout, attempts=patience.attempts)

    def milliseconds(self) -> tuple[int, int]:
        return round(self.lock_timeout * 1000), round(self.statement_timeout * 1000)


@dataclass
class RevisionState:
    name: str
    applied_at: dt.datetime | None
    on_disk: bool = True
    changed: bool = False  # applied, and its file is not what was applied


class _StatementFailed(Exception):
    def __init__(self, statement: str, cause: BaseException):
        super().__init__(statement)
        self.statement = statement
        self.cause = cause


# Revisions on disk ------------------------------------------------------------------


def _router(db: pw.Database, directory: Path) -> Router:
    return Router(db, migrate_dir=directory, migrate_table=HISTORY_TABLE, logger=_quiet,
                  migrator_class=Migrator)


def available(directory: Path = MIGRATIONS_DIR) -> list[str]:
    """The revision names on disk, in order."""
    return sorted(p.stem for p in directory.glob("*.py") if Router.filemask.match(p.name))


def resolve(name: str, names: list[str]) -> str:
    """A revision's full name from its full name, file name or number (`002`)."""
    name = name.removesuffix(".py")
    matches = [n for n in names if n == name or n.split("_", 1)[0] == name]
    if len(matches) != 1:
        known = ", ".join(names) or "none"
        raise UnknownRevision(f"no revision named {name!r} (revisions: {known})")
    return matches[0]


def status(db: pw.Database, directory: Path = MIGRATIONS_DIR) -> list[RevisionState]:
    """Every revision, on disk or recorded, with when it was applied (reads only)."""
    return states(ledger.read(db, directory))


def states(book: ledger.Ledger) -> list[RevisionState]:
    """Every revision of `book`, on disk or recorded, with when it was applied."""
    changed = set(book.changed)
    found = [RevisionState(n, book.applied.get(n), changed=n in changed) for n in book.on_disk]
    found += [RevisionState(n, t, on_disk=False) for n, t in book.applied.items()
              if n not in book.on_disk]
    return found


def require_files(db: pw.Database, directory: Path = MIGRATIONS_DIR) -> ledger.Ledger:
    """The ledger, refused (MigrationError, one line each) when an applied revision's file
    is missing or two files share a number: nothing read from the files can be trusted."""
    book = ledger.read(db, directory)
    faults = [*book.shared_number_lines(), *book.missing_lines()]
    if faults:
        raise MigrationError("\n".join(faults))
    return book


def _trusted(db: pw.Database, directory: Path, allow_out_of_order: bool = False,
             echo: Callable[[str], None] = print) -> ledger.Ledger:
    """Under the migration lock: checksums recorded for revisions applied before there
    were any (trusting the files as they are now), then the ledger, refused on any fault."""
    history.create_history(db)
    history.create_checksums(db)
    book = ledger.read(db, directory)
    if book.unchecked:
        with db.atomic():
            for name in book.unchecked:
                for sql, params in history.set_checksum(db, name, book.files[name]):
                    db.execute_sql(sql, params)
        echo(f"Recorded the checksums of {len(book.unchecked)} revision(s) applied before "
             "checksums were kept.")
        book = ledger.read(db, directory)
    faults = book.faults(allow_out_of_order)
    if faults:
        raise MigrationError("\n".join(faults))
    return book


def accept(db: pw.Database, name: str, reason: str, directory: Path = MIGRATIONS_DIR,
           who: str | None = None, echo: Callable[[str], None] = print) -> history.Acceptance:
    """Record the reviewed edit of applied revision `name`: its file's checksum becomes
    the one in the history, and who accepted it, when and why is kept."""
    if not reason.strip():
        raise UsageError("--reason: say why the edit is right (it is kept in the history)")
    db.require_file()
    with db.migration_lock(echo):
        history.create_history(db)
        history.create_checksums(db)
        book = ledger.read(db, directory)
        name = resolve(name, list(book.applied))
        if name not in book.files:
            raise MigrationError(book.missing_lines()[book.missing.index(name)])
        old, new = book.recorded.get(name, ""), book.files[name]
        if old == new:
            raise UsageError(f"{name}.py is as it was applied: nothing to accept")
        who = who or _operator()
        with db.atomic():
            for sql, params in history.accept(db, name, old, new, who, reason.strip()):
                db.execute_sql(sql, params)
    return history.acceptances(db)[-1]


def _operator() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment (a container without one)
        return "unknown"


# Applying and rolling back ----------------------------------------------------------


def pending(db: pw.Database, directory: Path = MIGRATIONS_DIR,
            target: str | None = None) -> list[str]:
    """The revisions `migrate` would apply, in order (reads only)."""
    on_disk = available(directory)
    if target is not None:
        target = resolve(target, on_disk)
    done = set(history.applied(db))
    names = [n for n in on_disk if n not in done]
    return names[:names.index(target) + 1] if target in names else ([] if target else names)


def to_undo(db: pw.Database, steps: int = 1, to: str | None = None) -> list[str]:
    """The revisions `rollback` would undo, in the order it would undo them (reads only)."""
    return _to_undo(list(history.applied(db)), steps, to)


def migrate(db: pw.Database, directory: Path = MIGRATIONS_DIR, target: str | None = None,
            echo: Callable[[str], None] = print, limits: Limits = Limits(),
            live: TextIO | None = None, allow_out_of_order: bool = False) -> list[str]:
    """Apply pending revisions in order (up to `target`); return those applied.

    `live`: a terminal to show progress on in place (else progress goes to `echo`).
    `allow_out_of_order`: apply pending revisions numbered below the last applied one.
    """
    if target is not None:
        target = resolve(target, available(directory))
    applied = []
    db.prepare_file()  # the one place a new SQLite file (and its folders) appears
    with db.migration_lock(echo):
        done = set(_trusted(db, directory, allow_out_of_order, echo).applied)
        router = _router(db, directory)
        if target is not None and target in done:
            return applied
        run = _Run(db, limits, echo, live)
        try:
            for name in [n for n in available(directory) if n not in done]:
                run.revision(router, name, downgrade=False)
                applied.append(name)
                echo(f"Applied {name}")
                if name == target:
                    break
        finally:
            run.close()
    return applied


def rollback(db: pw.Database, directory: Path = MIGRATIONS_DIR, steps: int = 1,
             to: str | None = None, echo: Callable[[str], None] = print,
             limits: Limits = Limits(), live: TextIO | None = None) -> list[str]:
    """Undo the last `steps` revisions, or all after `to` ("zero": all); return them."""
    undone = []
    db.require_file()
    with db.migration_lock(echo):
        done = list(_trusted(db, directory, allow_out_of_order=True, echo=echo).applied)
        names = _to_undo(done, steps, to)
        on_disk = set(available(directory))
        run = _Run(db, limits, echo, live)
        try:
            for name in names:
                if name not in on_disk:
                    raise MigrationError(f"cannot roll back {name}: its file is not in {directory}")
                before = _shape(db)
                run.revision(_router(db, directory), name, downgrade=True)
                undone.append(name)
                echo(f"Rolled back {name}")
                for line in _drops(before, _shape(db, counts=False)):
                    echo(f"  dropped {line}")
        finally:
            run.close()
    return undone


def _to_undo(done: list[str], steps: int, to: str | None) -> list[str]:
    if to is not None:
        keep = 0 if to == "zero" else done.index(resolve(to, done)) + 1
        steps = len(done) - keep
    elif done and steps > len(done):
        raise UsageError(f"--steps {steps}: only {len(done)} revision(s) are applied")
    return list(reversed(done[len(done) - steps:])) if steps else []


class _Run:
    """Runs revisions' steps on one database for one command: timeouts, retries, progress."""

    def __init__(self, db: pw.Database, limits: Limits, echo, live: TextIO | None):
        self.db, self.limits, self.echo = db, limits, echo
        self.progress = Progress(echo, live)
        self.watcher: Watcher | None = None
        if db.is_postgres:
            pid = db.execute_sql("SELECT pg_backend_pid()").fetchone()[0]
            self.watcher = Watcher(lambda: _watcher_connection(db), pid, self.progress)

    def close(self) -> None:
        if self.watcher is not None:
            self.watcher.close()

    def revision(self, router: Router, name: str, downgrade: bool) -> None:
        """Apply or undo `name`; MigrationError saying what was kept if it fails."""
        steps = _steps(router, name, downgrade, self.db)
        key = f"{name} (rollback)" if downgrade else name
        if len(steps) > 1:
            history.create_steps(self.db)
        closing = (history.forget(self.db, name) if downgrade else history.record(
            self.db, name, history.checksum(Path(router.migrate_dir) / f"{name}.py")))
        done = history.steps_done(self.db, key) if len(steps) > 1 else set()
        verb = "Rolling back" if downgrade else "Applying"
        for index, step in enumerate(steps):
            if index in done:
                self.echo(f"  step {index + 1} of {len(steps)} ({step.label}) was done by an "
                          "earlier run")
                continue
            last = index == len(steps) - 1
            mark = closing if last else (
                [history.step_done(self.db, key, index)] if len(steps) > 1 else [])
            try:
                self._step(step, mark)
            except _StatementFailed as failed:
                raise _failure(verb, name, failed, index, len(steps), done, self.limits) from None
            except DeeprefError:
                raise
            except Exception as exc:  # a revision whose Python fails
                raise MigrationError(
                    f"{verb} {name} failed: {type(exc).__name__}: {first_line(exc)}") from None

    def _step(self, step: Step, mark: list[tuple[str, tuple]]) -> None:
        if isinstance(step, Transaction):
            self._retrying(lambda: self._transaction(step.operations, mark), step.label,
                           _first_statement(step.operations))
            return
        if isinstance(step, Online):
            if step.skip_if is not None and step.skip_if(self.db):
                self.echo(f"  {step.label}: already there (an earlier run built it)")
            else:
                self._retrying(lambda: self._online(step), step.label, step.sql)
        elif isinstance(step, Backfill):
            self._backfill(step)
        self._retrying(lambda: self._transaction([], mark), "bookkeeping", "")

    def _retrying(self, attempt: Callable[[], None], label: str, statement: str) -> None:
        """Run `attempt`; on a lock timeout roll back, wait, and try again (Limits)."""
        for number in range(1, self.limits.attempts + 1):
            try:
                if self.watcher is None:
                    return attempt()
                with self.watcher.watching(label):
                    return attempt()
            except _StatementFailed as failed:
                failure = failures.classify(failed.cause)
                blockers = list(self.watcher.blockers.values()) if self.watcher else []
                if not blockers and self.watcher is not None and failure is not None \
                        and failure.kind == failures.LOCK_TIMEOUT:
                    from deepref.migrate import lint  # PostgreSQL's parser: only when needed

                    blockers = self.watcher.holders(lint.tables_in(failed.statement))
                failed.blockers = blockers
                if failure is None or failure.kind != failures.LOCK_TIMEOUT:
                    raise
                if number == self.limits.attempts:
                    failed.attempts = number
                    raise
                wait = self.limits.first_wait * 2 ** (number - 1) * random.uniform(0.8, 1.2)
                self.echo(f"  attempt {number} of {self.limits.attempts}: waited "
                          f"{self.limits.lock_timeout:g} s for a lock ({_short(failed.statement)})"
                          f"; {_blocked_by(blockers)}; trying again in {wait:.1f} s")
                time.sleep(wait)

    def _transaction(self, operations: list, mark: list[tuple[str, tuple]]) -> None:
        db = self.db
        if not db.is_postgres:
            return self._sqlite_transaction(operations, mark)
        lock_ms, statement_ms = self.limits.milliseconds()
        try:
            with db.atomic():
                db.execute_sql(f"SET LOCAL lock_timeout = '{lock_ms}ms'")
                db.execute_sql(f"SET LOCAL statement_timeout = '{statement_ms}ms'")
                for op in operations:
                    _run_operation(db, op)
                for sql, params in mark:
                    db.execute_sql(sql, params)
        except _StatementFailed:
            raise
        except failures.DATABASE_ERRORS as exc:  # COMMIT, or the bookkeeping rows
            raise _StatementFailed("COMMIT", exc) from exc

    def _sqlite_transaction(self, operations: list, mark: list[tuple[str, tuple]]) -> None:
        """One transaction with foreign keys off, as SQLite's table rebuilds need (a DROP
        TABLE would otherwise delete the rows referring to it), checked before commit."""
        db = self.db
        db.pragma("foreign_keys", 0)
        try:
            with db.atomic():
                for op in operations:
                    _run_operation(db, op)
                for sql, params in mark:
                    db.execute_sql(sql, params)
                broken = db.execute_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise _StatementFailed("PRAGMA foreign_key_check", pw.IntegrityError(
                        f"{len(broken)} row(s) would refer to missing rows, e.g. in {broken[0][0]}"))
        finally:
            db.pragma("foreign_keys", 1)

    def _online(self, step: Online) -> None:
        db = self.db
        lock_ms, _ = self.limits.milliseconds()
        try:
            if step.prepare is not None:
                step.prepare(db)
            if step.outside_transaction:
                db.execute_sql(f"SET lock_timeout = '{lock_ms}ms'")
                db.execute_sql("SET statement_timeout = 0")
                try:
                    db.execute_sql(step.sql)
                finally:
                    db.execute_sql("RESET lock_timeout")
                    db.execute_sql("RESET statement_timeout")
            else:
                with db.atomic():
                    db.execute_sql(f"SET LOCAL lock_timeout = '{lock_ms}ms'")
                    db.execute_sql("SET LOCAL statement_timeout = 0")
                    db.execute_sql(step.sql)
        except failures.DATABASE_ERRORS as exc:
            raise _StatementFailed(step.sql, exc) from exc

    def _backfill(self, step: Backfill) -> None:
        """Batches by key, each its own transaction (retried on a lock timeout)."""
        db = self.db
        total = db.execute_sql(step.remaining()).fetchone()[0]
        self.echo(f"  {step.label}: {total:,} row(s) to update")
        done, reported, after, size = 0, time.monotonic(), None, step.batch_size
        while total:
            end = db.execute_sql(step.batch_end(None if after is None else "%s", size),
                                 () if after is None else (after,)).fetchone()
            upto = end[0] if end else None
            sql = step.batch_update(None if after is None else "%s",
                                    None if upto is None else "%s", driver=True)
            params = tuple(v for v in (after, upto) if v is not None)
            counted, started = [], time.monotonic()
            self._retrying(lambda: counted.append(self._batch(sql, params)), step.label, sql)
            done += counted[-1]
            size = step.next_size(size, time.monotonic() - started)
            if upto is None or time.monotonic() - reported >= 1:
                reported = time.monotonic()
                self.progress.update(f"{step.label}: {done:,} of {total:,} row(s)")
            if upto is None:
                break
            after = upto
        self.progress.done()
        self.echo(f"  {step.label}: {done:,} row(s) updated")

    def _batch(self, sql: str, params: tuple) -> int:
        lock_ms, statement_ms = self.limits.milliseconds()
        try:
            with self.db.atomic():
                self.db.execute_sql(f"SET LOCAL lock_timeout = '{lock_ms}ms'")
                self.db.execute_sql(f"SET LOCAL statement_timeout = '{statement_ms}ms'")
                return self.db.execute_sql(sql, params).rowcount
        except failures.DATABASE_ERRORS as exc:
            raise _StatementFailed(sql, exc) from exc


def _watcher_connection(db: pw.Database):
    """A connection of its own for the Watcher, outside the pool."""
    params = {**db.connect_params, "application_name": "deepref migrate (watcher)"}
    return psycopg2.connect(dbname=db.database, **params)


def _steps(router: Router, name: str, downgrade: bool, db: pw.Database) -> list[Step]:
    """Load `name` and queue its operations on the migrator (whose model state follows)."""
    try:
        migrate_fn, rollback_fn = router.read(name)
        migrator = router.migrator
        (rollback_fn if downgrade else migrate_fn)(migrator, db, fake=False)
    except Exception as exc:  # a revision file that does not load or run
        verb = "Rolling back" if downgrade else "Applying"
        raise MigrationError(f"{verb} {name} failed: {type(exc).__name__}: {first_line(exc)}") from None
    operations, migrator.__ops__ = migrator.__ops__, []
    return plan(operations, db.is_postgres) or [Transaction([])]


def _run_operation(db: pw.Database, op) -> None:
    """One queued operation (a playhouse Operation, SQL text, or a callable)."""
    try:
        if op is None:
            return
        if isinstance(op, str):
            db.execute_sql(op)
        elif hasattr(op, "run"):
            op.run()
        else:
            op()
    except _StatementFailed:
        raise
    except Exception as exc:
        raise _StatementFailed(_describe(op), exc) from exc


def _describe(op) -> str:
    if isinstance(op, str):
        return " ".join(op.split())
    fn = getattr(op, "fn", op)
    args = getattr(op, "args", ())
    name = getattr(fn, "__name__", str(fn))
    if name == "sql" and args:
        return " ".join(str(args[0]).split())
    owner = getattr(fn, "__self__", None)
    if name == "create_table" and owner is not None:
        return f"CREATE TABLE {owner._meta.table_name}"
    return f"{name}({', '.join(str(a) for a in args if a is not None)})"


def _first_statement(operations: list) -> str:
    return _describe(operations[0]) if operations else ""


def _short(statement: str) -> str:
    statement = " ".join(statement.split())
    return statement if len(statement) <= 80 else statement[:77] + "..."


def _blocked_by(blockers) -> str:
    if not blockers:
        return "no blocking session seen (it may have ended meanwhile)"
    return "blocked by " + "; ".join(b.describe() for b in blockers)


def _failure(verb: str, name: str, failed: _StatementFailed, index: int, count: int,
             done: set[int], limits: Limits) -> MigrationError:
    """One message: what failed, what the database said, what is kept, what to do."""
    kept = ("nothing of it was kept" if index == 0 or count == 1 else
            f"its steps 1-{index} stay done and the next run continues from step {index + 1}")
    where = f" in step {index + 1} of {count}" if count > 1 else ""
    attempts = getattr(failed, "attempts", None)
    lines = []
    if attempts:
        lines.append(f"{verb} {name} failed{where}: each of {attempts} attempts waited more "
                     f"than {limits.lock_timeout:g} s for a lock; {kept}.")
    else:
        lines.append(f"{verb} {name} failed{where}; {kept}.")
    lines.append(f"  statement: {failed.statement[:300]}")
    lines.append(f"  database said: {first_line(failed.cause)}")
    blockers = getattr(failed, "blockers", [])
    if attempts:
        lines.append(f"  {_blocked_by(blockers)}")
        lines.append("  End those sessions or wait for them, then run `flask db migrate` "
                     "again (MIGRATION_LOCK_TIMEOUT and MIGRATION_ATTEMPTS set the patience).")
    return MigrationError("\n".join(lines))


# What a rollback drops -------------------------------------------------------------


def _shape(db: pw.Database, counts: bool = True) -> dict[str, tuple[tuple[int, bool], set[str]]]:
    """Each table's rows (exact below EXACT_COUNT_BELOW, else the planner's estimate) and
    columns: what a rollback is about to drop is said without counting large tables."""
    result = {}
    for table in db.get_tables():
        if table in history.BOOKKEEPING:
            continue
        rows = (0, False)
        if counts:
            estimate = db.estimate_rows(table=table)
            if estimate is not None and estimate >= EXACT_COUNT_BELOW:
                rows = (estimate, True)
            else:
                rows = (db.execute_sql(f'SELECT count(*) FROM "{table}"').fetchone()[0], False)
        result[table] = (rows, {c.name for c in db.get_columns(table)})
    return result


def _drops(before: dict, after: dict) -> list[str]:
    lines = []
    for table, ((rows, estimated), columns) in before.items():
        held = f"≈{rows:,} rows, estimated" if estimated else f"{rows} rows"
        if table not in after:
            lines.append(f"table {table} ({held})")
            continue
        for column in sorted(columns - after[table][1]):
            lines.append(f"column {table}.{column} ({held})")
    return lines


# New revision files ----------------------------------------------------------------


EMPTY_REVISION = '''"""{name}: (say what it changes, and what its rollback undoes).

Use the safe forms of deepref.migrate.ops on tables that hold data (docs/migrations.md).
"""


def migrate(migrator, database, *, fake=False):
    pass


def rollback(migrator, database, *, fake=False):
    pass
'''


def create(db: pw.Database, name: str, auto_models=None, directory: Path = MIGRATIONS_DIR,
           renames=(), drops=(), sql_indexes=None) -> str | None:
    """Write a new revision file, numbered after the highest number on disk: empty, or a
    draft from the difference with `auto_models` (deepref.migrate.draft); None when the
    models and the revisions already agree. `renames`, `drops`, `sql_indexes`: see
    draft.draft."""
    if not NAME_PATTERN.match(name):
        raise UsageError(
            "a revision name is lower-case letters, digits and underscores, starting with a letter"
        )
    if (renames or drops) and auto_models is None:
        raise UsageError("--rename and --drop go with --auto")
    taken: list[str] = []  # applied revisions: their numbers are used, file here or not
    if auto_models is not None:
        taken = list(require_files(db, directory).applied)  # a draft replays the files
    elif db.file is None or db.file.exists():
        with contextlib.suppress(*failures.DATABASE_ERRORS):  # an empty one needs no database
            taken = list(history.applied(db))
    full = f"{_next_number(directory, taken):03}_{name}"
    if auto_models is None:
        text = EMPTY_REVISION.format(name=full)
    else:
        from deepref.migrate import draft  # only --auto needs it (and pglast)

        text = draft.draft(db, directory, auto_models, full, renames, drops, sql_indexes)
        if text is None:
            return None
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{full}.py").write_text(text, encoding="utf-8")
    return full


def _next_number(directory: Path, taken=()) -> int:
    """One more than the highest revision number on disk or `taken`; refuses two files with
    one number (counting files, as peewee-migrate does, reuses a number when one is missing)."""
    numbers: dict[str, list[str]] = {}
    for name in available(directory):
        numbers.setdefault(name.split("_", 1)[0], []).append(name)
    shared = {n: names for n, names in numbers.items() if len(names) > 1}
    if shared:
        number, names = min(shared.items())
        raise MigrationError(f"revisions {' and '.join(names)} share the number {number}: "
                             "renumber one of them (one not applied anywhere) first")
    return max((int(n) for n in [*numbers, *(t.split("_", 1)[0] for t in taken)]),
               default=0) + 1
