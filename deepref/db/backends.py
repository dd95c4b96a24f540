"""The two backends as peewee Database classes that answer for themselves.

Everything that differs between PostgreSQL and SQLite is a method or an attribute
here, so callers ask the database (`db.serialized(key)`, `db.estimate_rows(query)`)
instead of branching on which one it is. Models reach these through the proxy.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import threading
import time
from pathlib import Path
from typing import Callable

import peewee as pw
import psycopg2
from playhouse.pool import PooledPostgresqlDatabase

from deepref.db.failures import first_line
from deepref.exceptions import DeeprefError

log = logging.getLogger("deepref.db")
# pg_advisory_lock key: "deepref" as a number, shared by every deepref process.
MIGRATION_LOCK_KEY = int.from_bytes(b"deepref", "big")
LOCK_POLL_SECONDS = 0.5
# application_name of a session polling for the migration lock (pg_locks does not show it).
LOCK_WAITER = "deepref migrate (waiting for the migration lock)"

# Interleaved statements of two connections that tell a pooled session from a direct one.
SESSION_PROBES = 3
# Is the migration lock held by the backend running this very statement?
_HOLDS_LOCK = ("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
               "AND pid = pg_backend_pid() AND objsubid = 1 "
               "AND ((classid::bigint << 32) | objid::bigint) = %s)")
SQLITE_TIMESTAMP = "%Y-%m-%d %H:%M:%S.%f"


class NoDatabase(DeeprefError):
    """The SQLite file does not exist yet: only `flask db migrate` creates it."""


class UnfitForMigrations(DeeprefError):
    """The connection cannot hold the migration lock (a transaction pooler) or cannot
    write (a standby): migrating through it would race or fail half-way."""


class PostgresDatabase(PooledPostgresqlDatabase):
    """PostgreSQL through a pool of connections (one per thread while in use).

    Its database exists or the connection says so: there is no file to check or make.
    """

    is_postgres = True
    # Full-text search through the GIN indexes of deepref.models.indexes.
    has_full_text_search = True
    # What UUID primary keys default to for rows inserted by plain SQL.
    uuid_default = "gen_random_uuid()"
    # The setting this database came from, named when it is unfit for migrations.
    setting = "DATABASE_URL"

    def timestamp_value(self, value: dt.datetime):
        """An aware UTC datetime as the driver takes it."""
        return value

    # -- locks ---------------------------------------------------------------------------

    def write_transaction(self):
        """A transaction that will write: row locks are taken as rows are written."""
        return self.atomic()

    def serialized(self, key: str):
        """A transaction in which no other `serialized(key)` transaction runs."""
        return _xact_locked(self, key)

    def exclusive_transaction(self, table: str):
        """A transaction that holds off other writers of `table` until it ends."""
        return _table_locked(self, table)

    def for_update(self, query: pw.ModelSelect) -> pw.ModelSelect:
        """`query` locking the rows it reads until the transaction ends."""
        return query.for_update()

    @contextlib.contextmanager
    def migration_lock(self, echo: Callable[[str], None]):
        """Hold the one migration lock (a session advisory lock) while the block runs.

        A waiting run polls with pg_try_advisory_lock from an idle session instead of
        blocking in pg_advisory_lock: a session blocked there holds a snapshot, and a
        CREATE INDEX CONCURRENTLY in the run holding the lock would wait for it forever.
        """
        self.connect(reuse_if_open=True)
        self.require_session()
        # A direct session, so a session setting stays ours: if this process dies
        # mid-statement, let the server notice within a second and end the session
        # (rolling back, releasing the lock) instead of after the statement.
        with contextlib.suppress(pw.ProgrammingError):  # PostgreSQL < 14 lacks it
            self.execute_sql("SET client_connection_check_interval = 1000")
        waiting = False
        while not self.execute_sql("SELECT pg_try_advisory_lock(%s)",
                                   (MIGRATION_LOCK_KEY,)).fetchone()[0]:
            if not waiting:
                echo("Waiting for another migration run to finish...")
                # A poller is in no lock queue: its name is how `db doctor` sees it.
                self.execute_sql(f"SET application_name = '{LOCK_WAITER}'")
                waiting = True
            time.sleep(LOCK_POLL_SECONDS)
        if waiting:
            self.execute_sql("RESET application_name")
        try:
            if not self.execute_sql(_HOLDS_LOCK, (MIGRATION_LOCK_KEY,)).fetchone()[0]:
                raise self._pooled()  # the statement that took it ran on another backend
            yield
        finally:
            with contextlib.suppress(pw.DatabaseError, pw.InterfaceError):
                self.execute_sql("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))

    def migration_lock_sessions(self) -> list[str]:
        """Who holds the migration lock and who waits for it, one line each (reads only)."""
        key = MIGRATION_LOCK_KEY
        rows = self.execute_sql(
            "SELECT a.pid, l.granted, a.application_name, a.client_addr, a.backend_start "
            "FROM pg_stat_activity a LEFT JOIN pg_locks l ON l.pid = a.pid AND "
            "l.locktype = 'advisory' AND l.classid = %s AND l.objid = %s AND l.objsubid = 1 "
            "WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND "
            "(l.pid IS NOT NULL OR a.application_name = %s) ORDER BY l.granted DESC NULLS LAST",
            (key >> 32, key & 0xFFFFFFFF, LOCK_WAITER)).fetchall()
        lines = []
        for pid, granted, application, address, started in rows:
            who = f"pid {pid} ({application or 'no application name'}, " \
                  f"{address or 'local'}, connected {started:%Y-%m-%d %H:%M:%S %Z})"
            lines.append(f"{who} holds the migration lock" if granted else
                         f"{who} waits for the migration lock")
        return lines

    def invalid_indexes(self) -> list[tuple[str, str]]:
        """(table, index) of each INVALID index (a concurrent build that was interrupted)."""
        return self.execute_sql(
            "SELECT t.relname, i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
            "WHERE NOT x.indisvalid AND n.nspname = current_schema() ORDER BY 1, 2").fetchall()

    def read_only_reason(self) -> str | None:
        """Why this server refuses writes (a standby, or default_transaction_read_only), or
        None when it takes them."""
        standby, read_only = self.execute_sql(
            "SELECT pg_is_in_recovery(), current_setting('transaction_read_only') = 'on'"
        ).fetchone()
        if standby:
            return "a standby (pg_is_in_recovery)"
        return "default_transaction_read_only" if read_only else None

    def require_session(self) -> None:
        """Refuse a read-only server, or a connection whose session does not last from
        one statement to the next (a transaction- or statement-mode pooler).

        A direct connection keeps one backend (pg_backend_pid) for its whole life, and
        no other client shares it. Through a transaction pooler a quiet pool hands the
        backend this connection just used to the next client (PgBouncer reuses the last
        released one), and a busy one moves this connection between backends: a second
        connection's statements, interleaved with ours, show either.
        """
        if self.read_only_reason() is not None:
            raise UnfitForMigrations(
                f"{self.setting} points at a read-only server (a standby, or "
                "default_transaction_read_only): migrations run on the primary; point "
                f"{'it' if self.setting != 'DATABASE_URL' else 'DATABASE_MIGRATION_URL'} "
                "at the primary.")
        ours, theirs = set(), set()
        other = psycopg2.connect(dbname=self.database, **self.connect_params)
        try:
            other.autocommit = True
            for _ in range(SESSION_PROBES):
                ours.add(self.execute_sql("SELECT pg_backend_pid()").fetchone()[0])
                with other.cursor() as cur:
                    cur.execute("SELECT pg_backend_pid()")
                    theirs.add(cur.fetchone()[0])
        finally:
            other.close()
        if len(ours) > 1 or ours & theirs:
            raise self._pooled()

    def _pooled(self) -> UnfitForMigrations:
        if self.setting == "DATABASE_URL":
            return UnfitForMigrations(
                "DATABASE_URL goes through a transaction-mode pooler (e.g. PgBouncer), where "
                "the migration lock cannot hold: set DATABASE_MIGRATION_URL to a direct "
                "connection to the server for `flask db` and start-up migrations.")
        return UnfitForMigrations(
            f"{self.setting} goes through a transaction-mode pooler (e.g. PgBouncer), where "
            "the migration lock cannot hold: point it directly at the server.")

    # -- estimates -----------------------------------------------------------------------

    def estimate_rows(self, query: pw.ModelSelect | None = None, table: str | None = None):
        """The planner's estimate of the rows `query` returns (or `table` holds)."""
        if query is not None:
            sql, params = query.sql()
            plan = self.execute_sql(f"EXPLAIN (FORMAT JSON) {sql}", params).fetchone()[0]
            if isinstance(plan, str):
                plan = json.loads(plan)
            return int(plan[0]["Plan"]["Plan Rows"])
        estimate = self.execute_sql(
            "SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)", (f'"{table}"',)
        ).fetchone()[0]
        return int(estimate) if estimate is not None and estimate >= 0 else None

    def value_frequencies(self, table: str, column: str) -> dict[str, float] | None:
        """The share of rows holding each common value of `column` (planner statistics)."""
        row = self.execute_sql(
            "SELECT most_common_vals::text::text[], most_common_freqs FROM pg_stats "
            "WHERE schemaname = current_schema() AND tablename = %s AND attname = %s",
            (table, column),
        ).fetchone()
        if row is None or row[0] is None:
            return None
        return dict(zip(row[0], row[1]))

    def contains(self, subject, word: str, stored_lower: bool = False) -> pw.Expression:
        """`subject` holds `word` in any case: lower(...) LIKE, the user's % and _ escaped.

        lower() LIKE, not ILIKE: several times faster on a UTF-8 database; a column
        stored lower-case (`stored_lower`) is compared without lower().
        """
        escaped = word.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return pw.Expression(subject if stored_lower else pw.fn.lower(subject), pw.OP.LIKE,
                             f"%{escaped}%")

    def utc_day(self, field) -> tuple[pw.Node, pw.Node]:
        """(`field`'s UTC date to group by, that date as 'YYYY-MM-DD' text to select).

        A date cast per row is cheap; the text is made once per group (to_char, whatever
        the session's DateStyle).
        """
        day = pw.Cast(pw.NodeList((field, pw.SQL("AT TIME ZONE 'UTC'"))), "date")
        return day, pw.fn.to_char(day, "YYYY-MM-DD").coerce(False)

    # -- connections ---------------------------------------------------------------------

    def warm(self, count: int) -> int:
        """Open `count` pooled connections now, so the first requests don't pay for them."""
        return _warm(self, count)

    def cap(self, count: int) -> None:
        """Hold at most `count` connections from now on (gunicorn.conf.py: reload budget)."""
        self._max_connections = min(self._max_connections, count)

    def discard(self) -> None:
        """Close this thread's connection for good: a dead one never goes back to the pool."""
        if not self.is_closed():
            with contextlib.suppress(Exception):  # it may be half-dead already
                self.manual_close()

    def shut(self) -> None:
        """Close every pooled connection (process exit, before a fork)."""
        if not self.is_closed():
            self.close()
        self.close_all()

    file = None

    def require_file(self) -> None:
        pass

    def prepare_file(self) -> None:
        pass


class SqliteDatabase(pw.SqliteDatabase):
    """The embedded default: one file, foreign keys on, WAL, a 30 s busy timeout."""

    is_postgres = False
    has_full_text_search = False
    uuid_default = None

    def __init__(self, database, **kwargs):
        pragmas = {"foreign_keys": 1, "journal_mode": "wal", "busy_timeout": 30000}
        super().__init__(database, pragmas={**pragmas, **kwargs.pop("pragmas", {})}, **kwargs)

    def timestamp_value(self, value: dt.datetime):
        """An aware UTC datetime as sortable text (SQLite has no timestamp type)."""
        return value.strftime(SQLITE_TIMESTAMP)

    def write_transaction(self):
        """A transaction that takes the write lock at once (BEGIN IMMEDIATE).

        A deferred one that reads first and then writes cannot wait for the lock: it
        fails with "database is locked" at once when another writer holds it. Taking
        it up front waits (busy_timeout) instead. Nested inside another: a savepoint.
        """
        return self.atomic(lock_type="IMMEDIATE")

    def serialized(self, key: str):
        """A transaction that takes the write lock at once: one writer at a time."""
        return self.write_transaction()

    def exclusive_transaction(self, table: str):
        return self.atomic(lock_type="IMMEDIATE")

    def for_update(self, query: pw.ModelSelect) -> pw.ModelSelect:
        return query  # the transaction's write lock already holds off other writers

    @contextlib.contextmanager
    def migration_lock(self, echo: Callable[[str], None]):
        """Hold an flock beside the database file while the block runs."""
        if self.file is None:
            yield
            return
        with open(f"{self.file}.migrate-lock", "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                echo("Waiting for another migration run to finish...")
                fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def migration_lock_sessions(self) -> list[str]:
        """Which processes hold or wait for the flock beside the file (Linux's /proc/locks);
        reads only: a lock file that is not there yet is not made."""
        lock = Path(f"{self.file}.migrate-lock") if self.file is not None else None
        if lock is None or not lock.exists():
            return []
        inode = f":{lock.stat().st_ino} "
        try:
            held = [line for line in Path("/proc/locks").read_text().splitlines()
                    if inode in line and "FLOCK" in line]
        except OSError:  # not Linux: only whether it is free
            held = []
        lines = []
        for line in held:
            waits = "->" in line
            pid = line.replace("->", "").split()[4]
            lines.append(f"pid {pid} {'waits for' if waits else 'holds'} the migration lock")
        return lines

    def invalid_indexes(self) -> list[tuple[str, str]]:
        return []  # SQLite builds an index in one transaction or not at all

    def read_only_reason(self) -> str | None:
        return None  # a file this process can open is one it can write

    def estimate_rows(self, query=None, table=None):
        return None  # no planner statistics: callers count

    def value_frequencies(self, table: str, column: str):
        return None

    def contains(self, subject, word: str, stored_lower: bool = False) -> pw.Expression:
        """`subject` holds `word` in any case: instr(), as LIKE has no escape by default."""
        return pw.fn.instr(pw.fn.lower(subject), word.lower()) > 0

    def utc_day(self, field) -> tuple[pw.Node, pw.Node]:
        """Timestamps are stored as UTC text (SQLITE_TIMESTAMP): the date is its start."""
        day = pw.fn.substr(field, 1, 10).coerce(False)
        return day, day

    def warm(self, count: int) -> int:
        return 0

    def cap(self, count: int) -> None:
        pass

    def discard(self) -> None:
        if not self.is_closed():
            with contextlib.suppress(Exception):
                self.close()

    def shut(self) -> None:
        if not self.is_closed():
            self.close()

    @property
    def file(self) -> Path | None:
        """The file behind the database (None in memory)."""
        return None if self.database in ("", ":memory:") else Path(self.database)

    def require_file(self) -> None:
        """Refuse to go on where connecting would create an empty file (and its folders)."""
        if self.file is not None and not self.file.exists():
            raise NoDatabase(f"no database at {self.file}: run `flask db migrate` first")

    def prepare_file(self) -> None:
        """Create the folders a new file goes in (migrations then create the file)."""
        if self.file is not None:
            self.file.parent.mkdir(parents=True, exist_ok=True)


@contextlib.contextmanager
def _xact_locked(db: PostgresDatabase, key: str):
    with db.atomic():
        db.execute_sql("SELECT pg_advisory_xact_lock(hashtext(%s))", (key,))
        yield


@contextlib.contextmanager
def _table_locked(db: PostgresDatabase, table: str):
    # The LOCK runs inside the transaction's `with`: if it fails (e.g. the table does
    # not exist yet), the transaction is rolled back and closed, never left open.
    with db.atomic() as txn:
        db.execute_sql(f'LOCK TABLE "{table}" IN SHARE ROW EXCLUSIVE MODE')
        yield txn


def _warm(db: PostgresDatabase, count: int) -> int:
    """`count` threads each check a connection out at once, then all give them back.

    A pool hands each thread its own connection, so holding them together is what
    makes them `count` distinct connections; closing puts them back, open.
    """
    if count <= 0:
        return 0
    opened, failures = [], []
    barrier = threading.Barrier(count)

    def open_one():
        try:
            db.connect()
        except Exception as exc:  # noqa: BLE001  (reported below; serving goes on)
            failures.append(exc)
            barrier.abort()
            return
        opened.append(1)
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()
        db.close()

    threads = [threading.Thread(target=open_one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        log.warning("could not warm the connection pool: %s", first_line(failures[0]))
    return len(opened)
