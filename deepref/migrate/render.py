"""The SQL a revision would send, without sending it: `flask db migrate --sql`, `lint`.

A Recorder stands in front of the database while a revision's operations run: reads
(SELECT, PRAGMA queries, catalogue lookups that operations make) go through, every
other statement is written down instead of executed. Steps that run outside the
revision's transaction (deepref.migrate.steps) are written out as the runner runs them:
each marked, with the settings the runner sends first.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import re
import uuid
from dataclasses import dataclass, field

import peewee as pw

from deepref.migrate.steps import Backfill, Online, Step, Transaction

_READS = re.compile(r"^\s*(SELECT|WITH|SHOW|EXPLAIN|VALUES)\b|^\s*PRAGMA\s+[\w.]+\s*(\(|;|$)",
                    re.IGNORECASE)


@dataclass(frozen=True)
class Statement:
    """One statement as it would be sent; `in_transaction` False when it runs alone."""

    sql: str
    in_transaction: bool = True


@dataclass
class Rendered:
    """A revision's SQL, in order, with the transaction boundaries as statements."""

    name: str
    downgrade: bool
    statements: list[Statement] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        """As a script a person reads: comments say what runs where."""
        verb = "roll back" if self.downgrade else "apply"
        lines = [f"-- {self.name}: {verb}"]
        lines += [f"-- {note}" for note in self.notes]
        for statement in self.statements:
            if not statement.in_transaction and not statement.sql.startswith(("SET ", "RESET ")):
                lines.append("-- outside a transaction:")
            lines.append(statement.sql.rstrip(";") + ";")
        return "\n".join(lines)


class Recorder:
    """While active, `db` runs reads and writes down everything else (`offline`: there
    is no server, so reads find nothing)."""

    def __init__(self, db: pw.Database, offline: bool = False):
        self.db, self.offline = db, offline
        self.sent: list[str] = []

    @contextlib.contextmanager
    def active(self):
        original = self.db.execute_sql

        def execute_sql(sql, params=None, *args, **kwargs):
            if _READS.match(sql):
                return _NoRows() if self.offline else original(sql, params, *args, **kwargs)
            self.sent.append(literal_sql(sql, params, self.db.param))
            return _NoRows()

        self.db.execute_sql = execute_sql
        try:
            yield self
        finally:
            del self.db.execute_sql

    def take(self) -> list[str]:
        sent, self.sent = self.sent, []
        return sent


class _NoRows:
    """What a recorded statement returns: a cursor with nothing in it."""

    rowcount = 0
    lastrowid = None
    description = None

    def fetchone(self):
        return None

    def fetchall(self):
        return []

    def __iter__(self):
        return iter(())

    def close(self):
        pass


def literal_sql(sql: str, params, placeholder: str) -> str:
    """`sql` with its parameters written in as literals (for reading, not for running)."""
    sql = " ".join(sql.split())
    if not params:
        return sql
    values = iter(params)
    marker = re.escape(placeholder)
    text = re.sub(marker, lambda _: _literal(next(values)), sql)
    return text.replace("%%", "%") if placeholder == "%s" else text


def _literal(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float, decimal.Decimal)):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date, uuid.UUID)):
        value = value.isoformat() if not isinstance(value, uuid.UUID) else str(value)
    if isinstance(value, bytes):
        return f"'\\x{value.hex()}'"
    return "'" + str(value).replace("'", "''") + "'"


def timeouts(lock_ms: int, statement_ms: int, local: bool) -> list[str]:
    """The settings the runner sends before a revision's statements."""
    scope = "SET LOCAL" if local else "SET"
    return [f"{scope} lock_timeout = '{lock_ms}ms'",
            f"{scope} statement_timeout = '{statement_ms}ms'"]


def render_steps(rendered: Rendered, steps: list[Step], recorder: Recorder, run_operation,
                 limits, bookkeeping: list[str], on_postgres: bool) -> None:
    """Append the statements of `steps` (and the history rows) to `rendered`."""
    lock_ms, statement_ms = limits.milliseconds()
    last = len(steps) - 1
    for index, step in enumerate(steps):
        closing = bookkeeping if index == last and isinstance(step, Transaction) else []
        if isinstance(step, Transaction):
            with recorder.active():
                for op in step.operations:
                    run_operation(op)
            body = recorder.take() + closing
            settings = timeouts(lock_ms, statement_ms, local=True) if on_postgres else []
            rendered.statements += [Statement(s) for s in ["BEGIN", *settings, *body, "COMMIT"]]
        elif isinstance(step, Online):
            rendered.statements += _online(step, lock_ms)
        elif isinstance(step, Backfill):
            rendered.notes.append(f"{step.label}: batches of {step.batch_size:,} rows by "
                                  f'"{step.key}", each committed on its own')
            update = step.batch_update("$1", "$2")  # the previous batch's last key, this one's
            rendered.statements += [Statement(s) for s in [
                "BEGIN", *timeouts(lock_ms, statement_ms, local=True), update, "COMMIT"]]
    if not isinstance(steps[-1], Transaction):
        rendered.statements += [Statement(s) for s in ["BEGIN", *bookkeeping, "COMMIT"]]


def _online(step: Online, lock_ms: int) -> list[Statement]:
    if step.outside_transaction:
        return [Statement(s, in_transaction=False) for s in [
            *timeouts(lock_ms, 0, local=False), step.sql,
            "RESET lock_timeout", "RESET statement_timeout"]]
    return [Statement(s) for s in ["BEGIN", *timeouts(lock_ms, 0, local=True), step.sql, "COMMIT"]]
