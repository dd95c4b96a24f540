"""What the database records about revisions.

- HISTORY_TABLE (peewee-migrate's `migratehistory`: id, name, migrated_at): one row per
  applied revision, written in the same transaction as the revision's last step.
- STEPS_TABLE: for a revision that runs in several steps on PostgreSQL, the steps
  already done, so a run that was interrupted or stopped continues where it left off.
  Its rows go when the revision's history row is written. It is made the first time
  such a revision runs.

Reading never creates anything; the tables are created (IF NOT EXISTS) only by a run
that writes.
"""

from __future__ import annotations

import datetime as dt

import peewee as pw

HISTORY_TABLE = "migratehistory"
STEPS_TABLE = "migratehistory_steps"
# The runner's own tables: not part of the schema the models describe.
BOOKKEEPING = frozenset({HISTORY_TABLE, STEPS_TABLE})


def applied(db: pw.Database) -> dict[str, dt.datetime]:
    """Applied revisions in the order they were applied, with when (UTC)."""
    if not db.table_exists(HISTORY_TABLE):
        return {}
    rows = db.execute_sql(f"SELECT name, migrated_at FROM {HISTORY_TABLE} ORDER BY id")
    done: dict[str, dt.datetime] = {}
    for name, when in rows.fetchall():
        done.setdefault(name, as_utc(when))
    return done


def as_utc(value) -> dt.datetime | None:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value


def create_history(db: pw.Database) -> None:
    """The history table, if it is not there yet (the same DDL as peewee-migrate)."""
    key = "SERIAL" if db.is_postgres else "INTEGER"
    db.execute_sql(
        f'CREATE TABLE IF NOT EXISTS "{HISTORY_TABLE}" ("id" {key} NOT NULL PRIMARY KEY, '
        '"name" VARCHAR(255) NOT NULL, "migrated_at" TIMESTAMP NOT NULL)')


def create_steps(db: pw.Database) -> None:
    """The steps table, made the first time a revision runs in several steps."""
    db.execute_sql(
        f'CREATE TABLE IF NOT EXISTS "{STEPS_TABLE}" ("name" VARCHAR(255) NOT NULL, '
        '"step" INTEGER NOT NULL, "done_at" TIMESTAMP NOT NULL, PRIMARY KEY ("name", "step"))')


def record(db: pw.Database, name: str) -> list[tuple[str, tuple]]:
    """The statements that mark `name` applied (and forget its steps)."""
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    p = db.param
    return [(f'INSERT INTO "{HISTORY_TABLE}" ("name", "migrated_at") VALUES ({p}, {p})',
             (name, now)), *_forget_steps(db, name)]


def forget(db: pw.Database, name: str) -> list[tuple[str, tuple]]:
    """The statements that mark `name` rolled back."""
    p = db.param
    return [(f'DELETE FROM "{HISTORY_TABLE}" WHERE "name" = {p}', (name,)),
            *_forget_steps(db, f"{name} (rollback)")]


def _forget_steps(db: pw.Database, key: str) -> list[tuple[str, tuple]]:
    if not db.table_exists(STEPS_TABLE):
        return []
    return [(f'DELETE FROM "{STEPS_TABLE}" WHERE "name" = {db.param}', (key,))]


def steps_done(db: pw.Database, name: str) -> set[int]:
    """Steps of `name` already done by an earlier, unfinished run."""
    if not db.table_exists(STEPS_TABLE):
        return set()
    rows = db.execute_sql(f'SELECT "step" FROM "{STEPS_TABLE}" WHERE "name" = {db.param}',
                          (name,))
    return {step for (step,) in rows.fetchall()}


def step_done(db: pw.Database, name: str, step: int) -> tuple[str, tuple]:
    """The statement that marks one step of `name` done."""
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    p = db.param
    return (f'INSERT INTO "{STEPS_TABLE}" ("name", "step", "done_at") VALUES ({p}, {p}, {p})',
            (name, step, now))
