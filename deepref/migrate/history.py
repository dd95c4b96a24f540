"""What the database records about revisions.

- HISTORY_TABLE (peewee-migrate's `migratehistory`: id, name, migrated_at): one row per
  applied revision, written in the same transaction as the revision's last step.
- STEPS_TABLE: for a revision that runs in several steps on PostgreSQL, the steps
  already done, so a run that was interrupted or stopped continues where it left off.
  Its rows go when the revision's history row is written. It is made the first time
  such a revision runs.
- CHECKSUMS_TABLE: the checksum of each applied revision's file (`checksum`: line endings
  and trailing whitespace do not count), written with its history row, so an applied
  file edited afterwards is noticed. Databases from before it get their checksums from
  the files on disk the first time `migrate` (or `rollback`, `baseline`) runs.
- ACCEPTED_TABLE: each reviewed edit of an applied file (`flask db accept`): who, when,
  why, the checksum before and after. Kept for good, even if the revision is rolled back.

These are the runner's bookkeeping, not part of the schema: side tables rather than
columns of `migratehistory`, so peewee-migrate's own table stays as it made it.

Reading never creates anything; the tables are created (IF NOT EXISTS) only by a run
that writes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

import peewee as pw

HISTORY_TABLE = "migratehistory"
STEPS_TABLE = "migratehistory_steps"
CHECKSUMS_TABLE = "migratehistory_checksums"
ACCEPTED_TABLE = "migratehistory_accepted"
# The runner's own tables: not part of the schema the models describe.
BOOKKEEPING = frozenset({HISTORY_TABLE, STEPS_TABLE, CHECKSUMS_TABLE, ACCEPTED_TABLE})


@dataclass(frozen=True)
class Acceptance:
    """A reviewed edit of an applied revision's file."""

    name: str
    accepted_at: dt.datetime
    accepted_by: str
    reason: str
    old_checksum: str
    new_checksum: str


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


def create_checksums(db: pw.Database) -> None:
    """The checksum and acceptance tables, if they are not there yet."""
    key = "SERIAL" if db.is_postgres else "INTEGER"
    db.execute_sql(
        f'CREATE TABLE IF NOT EXISTS "{CHECKSUMS_TABLE}" ("name" VARCHAR(255) NOT NULL '
        'PRIMARY KEY, "checksum" VARCHAR(64) NOT NULL, "recorded_at" TIMESTAMP NOT NULL)')
    db.execute_sql(
        f'CREATE TABLE IF NOT EXISTS "{ACCEPTED_TABLE}" ("id" {key} NOT NULL PRIMARY KEY, '
        '"name" VARCHAR(255) NOT NULL, "accepted_at" TIMESTAMP NOT NULL, '
        '"accepted_by" VARCHAR(255) NOT NULL, "reason" TEXT NOT NULL, '
        '"old_checksum" VARCHAR(64) NOT NULL, "new_checksum" VARCHAR(64) NOT NULL)')


def checksum(path: Path) -> str:
    """SHA-256 of a revision file, normalised: line endings and trailing whitespace (at
    the end of lines and of the file) do not count."""
    text = path.read_bytes().decode("utf-8", errors="replace")
    lines = [line.rstrip() for line in text.splitlines()]
    return hashlib.sha256("\n".join(lines).rstrip("\n").encode("utf-8")).hexdigest()


def checksums(db: pw.Database) -> dict[str, str]:
    """The recorded checksum of each applied revision that has one."""
    if not db.table_exists(CHECKSUMS_TABLE):
        return {}
    rows = db.execute_sql(f'SELECT "name", "checksum" FROM "{CHECKSUMS_TABLE}"')
    return dict(rows.fetchall())


def set_checksum(db: pw.Database, name: str, value: str) -> list[tuple[str, tuple]]:
    """The statements that record `value` as `name`'s checksum."""
    p = db.param
    return [(f'DELETE FROM "{CHECKSUMS_TABLE}" WHERE "name" = {p}', (name,)),
            (f'INSERT INTO "{CHECKSUMS_TABLE}" ("name", "checksum", "recorded_at") '
             f'VALUES ({p}, {p}, {p})', (name, value, _now()))]


def accept(db: pw.Database, name: str, old: str, new: str, who: str,
           reason: str) -> list[tuple[str, tuple]]:
    """The statements that record a reviewed edit of `name` and its new checksum."""
    p = db.param
    return [*set_checksum(db, name, new),
            (f'INSERT INTO "{ACCEPTED_TABLE}" ("name", "accepted_at", "accepted_by", "reason", '
             f'"old_checksum", "new_checksum") VALUES ({p}, {p}, {p}, {p}, {p}, {p})',
             (name, _now(), who, reason, old, new))]


def acceptances(db: pw.Database) -> list[Acceptance]:
    """Every reviewed edit, oldest first."""
    if not db.table_exists(ACCEPTED_TABLE):
        return []
    rows = db.execute_sql(
        f'SELECT "name", "accepted_at", "accepted_by", "reason", "old_checksum", '
        f'"new_checksum" FROM "{ACCEPTED_TABLE}" ORDER BY "id"')
    return [Acceptance(name, as_utc(at), by, reason, old, new)
            for name, at, by, reason, old, new in rows.fetchall()]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def create_steps(db: pw.Database) -> None:
    """The steps table, made the first time a revision runs in several steps."""
    db.execute_sql(
        f'CREATE TABLE IF NOT EXISTS "{STEPS_TABLE}" ("name" VARCHAR(255) NOT NULL, '
        '"step" INTEGER NOT NULL, "done_at" TIMESTAMP NOT NULL, PRIMARY KEY ("name", "step"))')


def record(db: pw.Database, name: str, digest: str) -> list[tuple[str, tuple]]:
    """The statements that mark `name` applied with its file's checksum `digest` (and
    forget its steps). The checksum table must exist (create_checksums)."""
    p = db.param
    return [(f'INSERT INTO "{HISTORY_TABLE}" ("name", "migrated_at") VALUES ({p}, {p})',
             (name, _now())), *set_checksum(db, name, digest), *_forget_steps(db, name)]


def forget(db: pw.Database, name: str) -> list[tuple[str, tuple]]:
    """The statements that mark `name` rolled back (its acceptances are kept)."""
    p = db.param
    return [(f'DELETE FROM "{HISTORY_TABLE}" WHERE "name" = {p}', (name,)),
            (f'DELETE FROM "{CHECKSUMS_TABLE}" WHERE "name" = {p}', (name,)),
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
    p = db.param
    return (f'INSERT INTO "{STEPS_TABLE}" ("name", "step", "done_at") VALUES ({p}, {p}, {p})',
            (name, step, _now()))
