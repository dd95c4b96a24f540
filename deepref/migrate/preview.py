"""Revisions seen before they run: their SQL (`--sql`) and what it would do to a busy
database (`flask db lint`). Nothing here changes the database.

Each revision is rendered against the model state the revisions before it leave (the
migrator, replayed), with a Recorder in front of the database: reads go through,
everything else is written down. lint renders for PostgreSQL even when the app runs on
SQLite (an offline PostgreSQL dialect that sends nothing), since production is there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import peewee as pw
from peewee_migrate import Migrator

from deepref.db import PostgresDatabase, SqliteDatabase
from deepref.migrate import history, lint
from deepref.migrate.render import Recorder, Rendered, render_steps
from deepref.migrate.runner import Limits, _router, _run_operation, available
from deepref.migrate.steps import Transaction, plan

# A revision file says which lint findings it accepts, and why: {"rule": "reason"}.
ACCEPT_NAME = "LINT_ACCEPT"


@dataclass
class Preview:
    """A revision rendered, with what lint needs to judge it."""

    rendered: Rendered
    tables_before: set[str]
    accepted: dict[str, str]
    types_before: dict[tuple[str, str], str]  # (table, column) -> its type, from the state


def sql(db: pw.Database, directory: Path, names: list[str], downgrade: bool = False,
        limits: Limits = Limits()) -> list[Rendered]:
    """The SQL that applying (or, `downgrade`, rolling back) `names` in order would send."""
    return [p.rendered for p in _previews(db, directory, names, downgrade, limits)]


def lint_revisions(db: pw.Database, directory: Path, names: list[str],
                   limits: Limits = Limits()) -> dict[str, list[lint.Finding]]:
    """Findings per revision, for the SQL PostgreSQL would receive."""
    target = db if db.is_postgres else _offline_postgres()
    applied = list(history.applied(db))
    live = _column_types(db) if db.is_postgres else None
    found = {}
    for preview in _previews(target, directory, names, False, limits, applied):
        statements = [lint.Statement(s.sql, s.in_transaction)
                      for s in preview.rendered.statements if not _plumbing(s.sql)]
        # No server to ask (SQLite): the types the revisions before this one declare.
        types = live or (lambda table, column, known=preview.types_before:
                         known.get((table, column)))
        found[preview.rendered.name] = lint.lint_statements(
            preview.rendered.name, statements, preview.tables_before, preview.accepted, types)
    return found


def _plumbing(sql: str) -> bool:
    """The runner's own statements around a revision's (transactions, timeouts)."""
    return sql in ("BEGIN", "COMMIT") or sql.startswith(("SET ", "RESET "))


def _previews(db, directory, names, downgrade, limits, applied=None) -> list[Preview]:
    done = list(history.applied(db)) if applied is None else applied
    scratch = not db.is_postgres
    if scratch:  # SQLite rebuilds tables by reading them: render on a copy that changes
        db = _scratch_copy(db)
        history.create_history(db)  # the bookkeeping rows are written there too
        history.create_checksums(db)
    router = _router(db, directory)
    on_disk = available(directory)
    migrator = Migrator(db)
    if downgrade:
        for name in done:
            router.run_one(name, migrator, fake=True)
        order = names
    else:
        last = max((on_disk.index(n) for n in names), default=-1)
        order = on_disk[:last + 1]
    recorder = Recorder(db, offline=isinstance(db, _OfflinePostgres), scratch=scratch)
    previews = []
    for name in order:
        if name not in names:
            router.run_one(name, migrator, fake=True)
            continue
        tables_before = {model._meta.table_name for model in migrator.orm}
        types_before = _state_types(db, migrator)
        migrate_fn, rollback_fn = router.read(name)
        with recorder.active():
            (rollback_fn if downgrade else migrate_fn)(migrator, db, fake=False)
            closing = (history.forget(db, name) if downgrade else
                       history.record(db, name, history.checksum(directory / f"{name}.py")))
            for statement, params in closing:
                db.execute_sql(statement, params)
        bookkeeping = recorder.take()
        operations, migrator.__ops__ = migrator.__ops__, []
        steps = plan(operations, db.is_postgres) or [Transaction([])]
        rendered = Rendered(name, downgrade)
        render_steps(rendered, steps, recorder, lambda op: _run_operation(db, op), limits,
                     bookkeeping, db.is_postgres)
        accepted = migrate_fn.__globals__.get(ACCEPT_NAME) or {}
        previews.append(Preview(rendered, tables_before, dict(accepted), types_before))
    return previews


def _scratch_copy(db: pw.Database) -> SqliteDatabase:
    """An in-memory SQLite database with `db`'s schema (tables, then indexes), no rows."""
    scratch = SqliteDatabase(":memory:")
    rows = db.execute_sql("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT "
                          "LIKE 'sqlite_%' ORDER BY type = 'index'").fetchall()
    for (sql,) in rows:
        scratch.execute_sql(sql)
    history.create_history(scratch)
    return scratch


def _state_types(db, migrator) -> dict[tuple[str, str], str]:
    """Each column's type as the model state declares it, in `db`'s dialect."""
    types = {}
    for model in migrator.orm:
        for field in model._meta.sorted_fields:
            ctx = db.get_sql_context()
            kind = field.ddl_datatype(ctx)
            if kind is not None:
                types[(model._meta.table_name, field.column_name)] = ctx.sql(kind).query()[0]
    return types


class _OfflinePostgres(PostgresDatabase):
    """PostgreSQL's dialect with no server: every statement is recorded, reads find nothing."""


def _offline_postgres() -> PostgresDatabase:
    return _OfflinePostgres("deepref_lint", autoconnect=False)


def _column_types(db: pw.Database):
    """(table, column) -> the type PostgreSQL prints for it, or None."""
    rows = db.execute_sql(
        "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
        "JOIN pg_class c ON c.oid = a.attrelid "
        "WHERE c.relnamespace = current_schema()::regnamespace AND a.attnum > 0 "
        "AND NOT a.attisdropped AND c.relkind = 'r'").fetchall()
    types = {(table, column): kind for table, column, kind in rows}
    return lambda table, column: types.get((table, column))
