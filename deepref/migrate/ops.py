"""Helpers the revisions in migrations/ use to declare named indexes.

An index is both created in the database and recorded on the revision's model state,
so that `flask db create --auto` compares like with like and drafts no phantom changes.
Revisions depend on these signatures: keep them stable.
"""

from __future__ import annotations

import peewee as pw

# (table, index name, columns (field or column names), unique, WHERE clause or None)
IndexSpec = tuple[str, str, tuple[str, ...], bool, str | None]


def _index(model, name, columns, unique, where) -> pw.ModelIndex:
    fields = [model._meta.combined[c] for c in columns]
    return pw.ModelIndex(model, fields, unique=unique, safe=False, name=name,
                         where=pw.SQL(where) if where else None)


def declare_indexes(migrator, specs: list[IndexSpec]) -> None:
    """Record indexes on models created in this revision (their CREATE TABLE builds them)."""
    for table, name, columns, unique, where in specs:
        model = migrator.orm[table]
        model._meta.indexes.append(_index(model, name, columns, unique, where))


def create_indexes(migrator, database, specs: list[IndexSpec]) -> None:
    """Create indexes on tables that already exist, and record them."""
    for table, name, columns, unique, where in specs:
        model = migrator.orm[table]
        index = _index(model, name, columns, unique, where)
        model._meta.indexes.append(index)
        sql, params = database.get_sql_context().sql(index).query()
        migrator.sql(sql, *params)


def drop_indexes(migrator, specs: list[IndexSpec]) -> None:
    """Drop indexes (in reverse order) and forget them."""
    for table, name, *_ in reversed(specs):
        model = migrator.orm[table]
        model._meta.indexes = [
            i for i in model._meta.indexes if getattr(i, "_name", None) != name
        ]
        migrator.sql(f'DROP INDEX "{name}"')
