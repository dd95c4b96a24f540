"""The migration runner around peewee-migrate: a lock, atomic revisions, clear errors.

peewee-migrate has no lock (STACK_NOTES): every command that writes holds the
database's migration lock (deepref.db: a PostgreSQL advisory lock, or an flock beside
the SQLite file) for its whole run and re-reads the history after taking it, so
concurrent runs apply each revision once.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import peewee as pw
from peewee_migrate import Migrator, Router

from deepref.config import MIGRATIONS_DIR
from deepref.db import first_line
from deepref.exceptions import DeeprefError, UsageError

HISTORY_TABLE = "migratehistory"
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,80}$")

_quiet = logging.getLogger("deepref.migrate.router")
_quiet.addHandler(logging.NullHandler())
_quiet.propagate = False


class MigrationError(DeeprefError):
    """A revision failed or cannot be run; exit 1 with the reason."""


class UnknownRevision(UsageError):
    """A revision named on the command line does not exist (bad usage, exit 2)."""


@dataclass
class RevisionState:
    name: str
    applied_at: dt.datetime | None
    on_disk: bool = True


class _StatementFailed(Exception):
    def __init__(self, statement: str, cause: Exception):
        super().__init__(statement)
        self.statement = statement
        self.cause = cause


class _ReportingMigrator(Migrator):
    """Runs a revision's operations, remembering which statement failed."""

    def __call__(self):
        with self.__migrator__.migration_context():
            for op in self.__ops__:
                try:
                    op.run() if hasattr(op, "run") else op()
                except Exception as exc:
                    raise _StatementFailed(_describe(op), exc) from exc
            self.__ops__ = []


def _describe(op) -> str:
    fn = getattr(op, "fn", op)
    args = getattr(op, "args", ())
    name = getattr(fn, "__name__", str(fn))
    if name == "sql" and args:
        return " ".join(str(args[0]).split())
    owner = getattr(fn, "__self__", None)
    if name == "create_table" and owner is not None:
        return f"CREATE TABLE {owner._meta.table_name}"
    return f"{name}({', '.join(str(a) for a in args if a is not None)})"


def _router(db: pw.Database, directory: Path) -> Router:
    return Router(
        db,
        migrate_dir=directory,
        migrate_table=HISTORY_TABLE,
        logger=_quiet,
        migrator_class=_ReportingMigrator,
    )


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
    applied = {}
    if db.table_exists(HISTORY_TABLE):
        cursor = db.execute_sql(f"SELECT name, migrated_at FROM {HISTORY_TABLE} ORDER BY id")
        for name, when in cursor.fetchall():
            applied.setdefault(name, _as_utc(when))
    on_disk = available(directory)
    states = [RevisionState(n, applied.get(n)) for n in on_disk]
    states += [RevisionState(n, t, on_disk=False) for n, t in applied.items() if n not in on_disk]
    return states


def _as_utc(value) -> dt.datetime | None:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value


def migrate(
    db: pw.Database,
    directory: Path = MIGRATIONS_DIR,
    target: str | None = None,
    echo: Callable[[str], None] = print,
) -> list[str]:
    """Apply pending revisions in order (up to `target`); return those applied."""
    if target is not None:
        target = resolve(target, available(directory))
    applied = []
    db.prepare_file()  # the one place a new SQLite file (and its folders) appears
    with db.migration_lock(echo):
        router = _router(db, directory)
        done = set(router.done)
        if target is not None and target in done:
            return applied
        for name in router.diff:
            _run(router, name, downgrade=False)
            applied.append(name)
            echo(f"Applied {name}")
            if name == target:
                break
    return applied


def rollback(
    db: pw.Database,
    directory: Path = MIGRATIONS_DIR,
    steps: int = 1,
    to: str | None = None,
    echo: Callable[[str], None] = print,
) -> list[str]:
    """Undo the last `steps` revisions, or all after `to` ("zero": all); return them."""
    undone = []
    db.require_file()
    with db.migration_lock(echo):
        router = _router(db, directory)
        done = router.done
        if to is not None:
            keep = 0 if to == "zero" else done.index(resolve(to, done)) + 1
            steps = len(done) - keep
        elif done and steps > len(done):
            raise UsageError(f"--steps {steps}: only {len(done)} revision(s) are applied")
        for name in reversed(done[len(done) - steps:] if steps else []):
            if name not in router.todo:
                raise MigrationError(f"cannot roll back {name}: its file is not in {directory}")
            before = _tables(db)
            _run(router, name, downgrade=True)
            undone.append(name)
            echo(f"Rolled back {name}")
            for line in _drops(before, _tables(db)):
                echo(f"  dropped {line}")
            router = _router(db, directory)
    return undone


def _run(router: Router, name: str, downgrade: bool) -> None:
    """Apply or undo one revision in one transaction, with a clear error on failure."""
    verb = "Rolling back" if downgrade else "Applying"
    try:
        with router.database.atomic():
            router.run_one(name, router.migrator, fake=False, downgrade=downgrade)
    except _StatementFailed as failed:
        raise MigrationError(
            f"{verb} {name} failed; nothing of it was kept.\n"
            f"  statement: {failed.statement[:300]}\n"
            f"  database said: {first_line(failed.cause)}"
        ) from None
    except (pw.DatabaseError, pw.InterfaceError) as exc:
        raise MigrationError(f"{verb} {name} failed: {first_line(exc)}") from None
    except Exception as exc:  # a revision file that does not load or run
        raise MigrationError(
            f"{verb} {name} failed: {type(exc).__name__}: {first_line(exc)}"
        ) from None


def _tables(db: pw.Database) -> dict[str, tuple[int, set[str]]]:
    """Each table's row count and columns, to say what a rollback dropped."""
    result = {}
    for table in db.get_tables():
        if table == HISTORY_TABLE:
            continue
        count = db.execute_sql(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        result[table] = (count, {c.name for c in db.get_columns(table)})
    return result


def _drops(before: dict, after: dict) -> list[str]:
    lines = []
    for table, (rows, columns) in before.items():
        if table not in after:
            lines.append(f"table {table} ({rows} rows)")
            continue
        for column in sorted(columns - after[table][1]):
            lines.append(f"column {table}.{column} ({rows} rows)")
    return lines


def create(db: pw.Database, name: str, auto_models=None, directory: Path = MIGRATIONS_DIR) -> str | None:
    """Write a new revision file (empty, or a draft diffed from `auto_models`)."""
    if not NAME_PATTERN.match(name):
        raise UsageError(
            "a revision name is lower-case letters, digits and underscores, starting with a letter"
        )
    router = _router(db, directory)
    return router.create(name, auto=auto_models or False)
