"""The work a revision asks for, cut into steps the runner can run safely on a live database.

A revision's `migrate()` queues operations on the migrator. Most are statements that
belong in one transaction (peewee-migrate's operations, `migrator.sql`). The helpers of
deepref.migrate.ops also queue Step objects for work that must not run inside that
transaction on PostgreSQL:

- Online: one statement on its own, outside any transaction (CREATE / DROP INDEX
  CONCURRENTLY), or in a short transaction of its own without a statement timeout
  (VALIDATE CONSTRAINT: reads and writes go on meanwhile).
- Backfill: an UPDATE in batches, each batch its own transaction, resumable.

`plan()` groups the queue into steps in order: runs of ordinary operations become one
Transaction each. On SQLite (one writer, small data) everything runs in one transaction,
the online statements in their ordinary form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import peewee as pw


class Step:
    """One unit of a revision's work, with a short label for progress and errors."""

    label = "statements"

    def __call__(self):  # peewee-migrate's own runner would call queued operations
        raise RuntimeError("deepref revisions run through `flask db migrate`")


@dataclass
class Transaction(Step):
    """Ordinary operations, run together in one transaction."""

    operations: list = field(default_factory=list)
    label: str = "statements in one transaction"


@dataclass
class Online(Step):
    """A statement that must not wait inside the revision's transaction.

    `outside_transaction`: it cannot run in a transaction at all (CONCURRENTLY);
    otherwise it gets a short transaction of its own. Either way without a statement
    timeout: it may take long, but holds no lock that stops reads or writes.
    `skip_if(db)` says the work is already there (a rerun after an interruption);
    `prepare(db)` clears what an interrupted attempt left (an INVALID index).
    `sqlite` is what SQLite runs instead, inside the revision's transaction.
    """

    sql: str
    label: str
    outside_transaction: bool = True
    sqlite: str | None = None
    skip_if: Callable[[pw.Database], bool] | None = None
    prepare: Callable[[pw.Database], None] | None = None


@dataclass
class Backfill(Step):
    """UPDATE table SET ... WHERE ... in batches by primary key, each committed apart.

    `where` must exclude rows already done (e.g. `col IS NULL`): a rerun after a kill
    then finds only the rows left. On SQLite it is one UPDATE in the revision's
    transaction.
    """

    table: str
    assignments: dict[str, str]
    where: str
    key: str = "id"
    batch_size: int = 5000

    @property
    def label(self) -> str:
        return f'backfill of "{self.table}" ({", ".join(self.assignments)})'

    def set_clause(self, driver: bool = False) -> str:
        return ", ".join(f'"{column}" = {_text(value, driver)}'
                         for column, value in self.assignments.items())

    def whole_update(self) -> str:
        """The same work as one statement (SQLite, and what lint compares it with)."""
        return f'UPDATE "{self.table}" SET {self.set_clause()} WHERE {self.where}'

    def remaining(self) -> str:
        """Counts the rows left to do (for psycopg2: the author's % doubled)."""
        return f'SELECT count(*) FROM "{self.table}" WHERE {_text(self.where, True)}'

    def batch_update(self, after: str | None, upto: str | None, driver: bool = False) -> str:
        """One batch: the rows whose key is after `after` (None: from the first) up to
        and including `upto` (None: to the last). `driver`: the text goes to psycopg2
        with parameters, so the author's % signs are doubled."""
        bounds = [f'"{self.key}" > {after}'] if after is not None else []
        bounds += [f'"{self.key}" <= {upto}'] if upto is not None else []
        where = f"({_text(self.where, driver)})"
        return (f'UPDATE "{self.table}" SET {self.set_clause(driver)} '
                f'WHERE {" AND ".join([*bounds, where])}')

    def batch_end(self, after: str | None) -> str:
        """The key of the last row of the batch after `after` (no row: the batch is the last)."""
        start = f'WHERE "{self.key}" > {after} ' if after is not None else ""
        return (f'SELECT "{self.key}" FROM "{self.table}" {start}ORDER BY "{self.key}" '
                f"OFFSET {self.batch_size - 1} LIMIT 1")


def _text(sql: str, driver: bool) -> str:
    """An author's SQL as psycopg2 takes it (% is its placeholder mark) or as written."""
    return sql.replace("%", "%%") if driver else sql


def plan(operations: list, on_postgres: bool) -> list[Step]:
    """The queued operations as steps, in order (see the module's docstring)."""
    if not on_postgres:
        return [Transaction([_ordinary(op) for op in operations])] if operations else []
    steps: list[Step] = []
    for op in operations:
        if isinstance(op, Step):
            steps.append(op)
        elif steps and isinstance(steps[-1], Transaction):
            steps[-1].operations.append(op)
        else:
            steps.append(Transaction([op]))
    return steps


def _ordinary(op):
    """An operation as SQLite runs it inside the one transaction."""
    if isinstance(op, Online):
        return op.sqlite
    if isinstance(op, Backfill):
        return op.whole_update()
    return op
