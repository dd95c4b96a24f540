"""`flask db baseline NAME`: adopt a database whose schema was built elsewhere.

The revisions up to NAME are run for real on a scratch database of the same backend (an
in-memory SQLite database, or a PostgreSQL database created for the purpose and dropped
afterwards), and its schema is compared with the live one by deepref.migrate.check
(tables, columns, constraints, indexes; definitions by meaning). Only if they agree are
those revisions recorded as applied, with their checksums, without running them.
"""

from __future__ import annotations

import contextlib
import uuid
from pathlib import Path
from typing import Callable

import peewee as pw

from deepref.db import PostgresDatabase, SqliteDatabase, first_line
from deepref.migrate import check, history, ledger
from deepref.migrate.runner import Limits, MigrationError, available, migrate, resolve


def baseline(db: pw.Database, name: str, directory: Path,
             echo: Callable[[str], None] = print) -> list[str]:
    """Record the revisions up to `name` as applied on `db` if its schema is what they
    build; MigrationError listing the differences otherwise. Returns them."""
    db.require_file()
    on_disk = available(directory)
    name = resolve(name, on_disk)
    names = on_disk[:on_disk.index(name) + 1]
    with db.migration_lock(echo):
        done = history.applied(db)
        if done:
            raise MigrationError(
                f"the database already has a history ({len(done)} revision(s) applied, the "
                f"last {list(done)[-1]}): baseline is only for a database without one; "
                "`flask db status` shows where it is")
        book = ledger.read(db, directory)
        if book.shared_numbers:
            raise MigrationError("\n".join(book.shared_number_lines()))
        expected = _built_by(db, directory, name)
        differences = check.diff(expected, check.live_schema(db), f"the revisions up to {name}")
        if differences:
            raise MigrationError("\n".join([
                f"not adopted: the database is not what the revisions up to {name} build "
                f"({len(differences)} difference(s), nothing recorded):", *differences]))
        history.create_history(db)
        history.create_checksums(db)
        with db.atomic():
            for revision in names:
                digest = history.checksum(directory / f"{revision}.py")
                for sql, params in history.record(db, revision, digest):
                    db.execute_sql(sql, params)
    return names


def _built_by(db: pw.Database, directory: Path, name: str) -> check.Schema:
    """The schema the revisions up to `name` build, run on a scratch database."""
    with _scratch(db) as scratch:
        try:
            migrate(scratch, directory, target=name, echo=lambda line: None,
                    limits=Limits(statement_timeout=0))
        except MigrationError as exc:
            raise MigrationError(f"cannot build the revisions up to {name} on a scratch "
                                 f"database to compare: {exc.message}") from None
        return check.live_schema(scratch)


@contextlib.contextmanager
def _scratch(db: pw.Database):
    if not db.is_postgres:
        scratch = SqliteDatabase(":memory:")
        try:
            yield scratch
        finally:
            scratch.close()
        return
    name = f"deepref_baseline_{uuid.uuid4().hex[:12]}"
    try:
        db.execute_sql(f'CREATE DATABASE "{name}"')
    except pw.DatabaseError as exc:
        raise MigrationError(
            f"baseline builds the revisions in a scratch database and could not create one "
            f"({first_line(exc)}): run it as a role with CREATEDB") from None
    scratch = PostgresDatabase(name, max_connections=2, **db.connect_params)
    try:
        yield scratch
    finally:
        scratch.shut()
        db.execute_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
