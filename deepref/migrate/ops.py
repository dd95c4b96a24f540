"""Helpers the revisions in migrations/ call: named indexes, and the safe forms of changes
that would stall a busy PostgreSQL table done the plain way.

Each helper both queues the work and records it on the migrator's model state, so that
`flask db create --auto` compares like with like and drafts no phantom changes.

| change                        | done here as                                               |
|-------------------------------|------------------------------------------------------------|
| index on an existing table    | CREATE INDEX CONCURRENTLY, outside the transaction         |
| NOT NULL column with default  | one ADD COLUMN ... NOT NULL DEFAULT <constant> (no rewrite)|
| widening a column, its default| ALTER COLUMN TYPE / SET DEFAULT: catalogue only            |
| foreign key, CHECK            | ADD CONSTRAINT ... NOT VALID, then VALIDATE on its own     |
| SET NOT NULL                  | a validated CHECK (col IS NOT NULL) first, so no scan      |
| unique constraint             | a unique index built concurrently                          |
| filling a column              | backfill(): batches, each committed, resumable             |

On SQLite (embedded, one writer, small) the same calls run the ordinary way in the
revision's one transaction; what SQLite's ALTER TABLE cannot do (constraints, a column's
new type or default, a column with a non-constant default) is done by rebuilding the
table (rebuild.py). Revisions depend on these signatures: keep them stable.
"""

from __future__ import annotations

import re

import peewee as pw

from deepref.migrate.rebuild import (clause_named as _clause_named, not_null as _not_null,
                                     rebuild_sqlite_table, replace_column as _replace_column,
                                     with_column as _with_column)
from deepref.migrate.steps import Backfill, Online

# (table, index name, columns (field or column names), unique, WHERE clause or None)
IndexSpec = tuple[str, str, tuple[str, ...], bool, str | None]


# Indexes -----------------------------------------------------------------------------


def _index(model, name, columns, unique, where) -> pw.ModelIndex:
    fields = [model._meta.combined[c] for c in columns]
    return pw.ModelIndex(model, fields, unique=unique, safe=False, name=name,
                         where=pw.SQL(where) if where else None)


def declare_indexes(migrator, specs: list[IndexSpec]) -> None:
    """Record indexes on models created in this revision (their CREATE TABLE builds them)."""
    for table, name, columns, unique, where in specs:
        model = migrator.orm[table]
        model._meta.indexes.append(_index(model, name, columns, unique, where))


def create_indexes(migrator, database, specs: list[IndexSpec], concurrently: bool = False) -> None:
    """Create indexes on tables that already exist, and record them.

    `concurrently`: on PostgreSQL, CREATE INDEX CONCURRENTLY outside the revision's
    transaction (writes go on during the build); an INVALID index left by an interrupted
    build is dropped and built again, a valid one of that name is kept.
    """
    for table, name, columns, unique, where in specs:
        model = migrator.orm[table]
        index = _index(model, name, columns, unique, where)
        model._meta.indexes.append(index)
        sql, params = database.get_sql_context().sql(index).query()
        if not concurrently:
            migrator.sql(sql, *params)
            continue
        online = re.sub(r"^CREATE (UNIQUE )?INDEX ", r"CREATE \1INDEX CONCURRENTLY ", sql)
        migrator.__ops__.append(Online(
            sql=online, label=f"building index {name}", sqlite=sql,
            skip_if=lambda db, name=name: _index_state(db, name) is True,
            prepare=lambda db, name=name: _drop_if_invalid(db, name)))


def drop_indexes(migrator, specs: list[IndexSpec], concurrently: bool = False) -> None:
    """Drop indexes (in reverse order) and forget them; `concurrently` as create_indexes."""
    for table, name, *_ in reversed(specs):
        _forget_index(migrator.orm[table], name)
        if not concurrently:
            migrator.sql(f'DROP INDEX "{name}"')
            continue
        migrator.__ops__.append(Online(
            sql=f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"', label=f"dropping index {name}",
            sqlite=f'DROP INDEX IF EXISTS "{name}"'))


def _forget_index(model, name: str) -> None:
    """Take index `name` off the model state, however it was declared there."""
    model._meta.indexes = [i for i in model._meta.indexes if _index_name(model, i) != name]
    for field in model._meta.sorted_fields:  # index=True / unique=True on the field
        if (field.index or field.unique) and not field.primary_key and \
                pw.ModelIndex(model, (field,))._name == name:
            field.index = field.unique = False


def _index_name(model, index) -> str | None:
    if isinstance(index, (list, tuple)):  # peewee-migrate's add_index: ((columns...), unique)
        return pw.ModelIndex(model, [model._meta.combined[c] for c in index[0]])._name
    return getattr(index, "_name", None)


def create_index_sql(migrator, name: str, target: str, concurrently: bool = False) -> None:
    """An index the models cannot declare (GIN, expressions), as SQL: CREATE INDEX name ON
    `target` ("table" USING ... (...)); PostgreSQL only. `concurrently` as create_indexes.
    Recorded by name on the table's model state (`_meta.sql_indexes`)."""
    table = re.match(r'\s*"?(\w+)"?', target).group(1)
    if table in migrator.orm.__tables__:
        sql_indexes(migrator.orm[table])[name] = target
    if not concurrently:
        migrator.sql(f'CREATE INDEX "{name}" ON {target}')
        return
    migrator.__ops__.append(Online(
        sql=f'CREATE INDEX CONCURRENTLY "{name}" ON {target}', label=f"building index {name}",
        skip_if=lambda db: _index_state(db, name) is True,
        prepare=lambda db: _drop_if_invalid(db, name)))


def drop_index_sql(migrator, name: str, concurrently: bool = False) -> None:
    """Drop an index made by create_index_sql."""
    for model in migrator.orm:
        sql_indexes(model).pop(name, None)
    if not concurrently:
        migrator.sql(f'DROP INDEX "{name}"')
        return
    migrator.__ops__.append(Online(sql=f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"',
                                   label=f"dropping index {name}"))


def sql_indexes(model) -> dict[str, str]:
    """The model state's indexes made by create_index_sql: name -> target."""
    if not hasattr(model._meta, "sql_indexes"):
        model._meta.sql_indexes = {}
    return model._meta.sql_indexes


def _index_state(db, name: str) -> bool | None:
    """True: a valid index `name` exists; False: an INVALID one; None: none."""
    row = db.execute_sql("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)",
                         (f'"{name}"',)).fetchone()
    return None if row is None else bool(row[0])


def _drop_if_invalid(db, name: str) -> None:
    if _index_state(db, name) is False:
        db.execute_sql(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')


# Columns ---------------------------------------------------------------------------


def add_column(migrator, table: str, name: str, field: pw.Field) -> None:
    """Add a column in one statement, its NOT NULL and server default included.

    PostgreSQL 11+ stores a constant default in the catalogue: no table rewrite, the lock
    is held for a moment. A NOT NULL column needs a server default (e.g.
    `constraints=server_default("0")`). A foreign key is added NOT VALID and validated
    in a step of its own.
    """
    model = migrator.orm[table]
    if not field.null and not _server_default(field):
        raise ValueError(f"{table}.{name}: a NOT NULL column added to an existing table needs "
                         "a server default (constraints=server_default(...)), or null=True")
    model._meta.add_field(name, field)
    db = migrator.__database__
    if db.is_postgres or _constant_default(field):
        migrator.sql(_add_column(db, table, field))  # the DDL of the field now
    else:  # SQLite adds no column whose default is not a constant (CURRENT_TIMESTAMP)
        clause = _column_ddl(db, field)
        _rebuild_queued(migrator, table, lambda clauses: _with_column(clauses, clause))
    if isinstance(field, pw.ForeignKeyField):
        target = field.rel_model._meta.table_name
        _queue_constraint(migrator, table, field.constraint_name or f"fk_{table}_{field.column_name}",
                          f'FOREIGN KEY ("{field.column_name}") REFERENCES "{target}" '
                          f'("{field.rel_field.column_name}") ON DELETE {field.on_delete or "NO ACTION"}')


def _add_column(db, table: str, field: pw.Field) -> str:
    return f'ALTER TABLE "{table}" ADD COLUMN {_column_ddl(db, field)}'


def _column_ddl(db, field: pw.Field) -> str:
    ctx = db.get_sql_context()
    return ctx.sql(field.ddl(ctx)).query()[0]


def _server_default(field: pw.Field) -> str | None:
    """The field's DEFAULT expression as SQL, or None."""
    for constraint in field.constraints or ():
        text = str(getattr(constraint, "sql", "")).strip()
        if text.upper().startswith("DEFAULT "):
            return text[len("DEFAULT "):].strip()
    return None


_CONSTANT = re.compile(r"^(-?\d+(\.\d+)?|'([^']|'')*'|NULL|TRUE|FALSE)$", re.IGNORECASE)


def _constant_default(field: pw.Field) -> bool:
    default = _server_default(field)
    return default is None or _CONSTANT.match(default) is not None


def alter_column(migrator, table: str, name: str, field: pw.Field) -> None:
    """Change a column to `field`'s type, nullability and server default.

    On PostgreSQL each part is its own statement, and these take the table's lock only
    for a moment: widening a type (varchar(n) to a longer n or text, numeric to more
    digits), SET or DROP DEFAULT, DROP NOT NULL, and SET NOT NULL done as set_not_null
    does. Any other type change rewrites the table (lint flags it). On SQLite the
    column is made anew by rebuilding the table.
    """
    model = migrator.orm[table]
    old = model._meta.combined[name]
    db = migrator.__database__
    field._order = old._order  # keep the column's place in the model state
    model._meta.add_field(old.name, field)
    column = field.column_name
    if not db.is_postgres:
        clause = _column_ddl(db, field)
        _rebuild_queued(migrator, table, lambda clauses: _replace_column(clauses, column, clause))
        return
    ctx = db.get_sql_context()
    old_type = ctx.sql(old.ddl_datatype(ctx)).query()[0]
    ctx = db.get_sql_context()
    new_type = ctx.sql(field.ddl_datatype(ctx)).query()[0]
    alter = f'ALTER TABLE "{table}" ALTER COLUMN "{column}"'
    if new_type != old_type:
        migrator.sql(f"{alter} TYPE {new_type}")
    default = _server_default(field)
    if default != _server_default(old):
        migrator.sql(f"{alter} SET DEFAULT {default}" if default else f"{alter} DROP DEFAULT")
    if field.null and not old.null:
        migrator.sql(f"{alter} DROP NOT NULL")
    elif old.null and not field.null:
        _set_not_null(migrator, table, column)


def set_not_null(migrator, table: str, column: str) -> None:
    """SET NOT NULL without a scan under ACCESS EXCLUSIVE: a CHECK (column IS NOT NULL) is
    added NOT VALID and validated first (reads and writes go on), which PostgreSQL 12+
    then trusts; the CHECK is dropped afterwards."""
    model = migrator.orm[table]
    field = model._meta.combined[column]
    field.null = False
    if not migrator.__database__.is_postgres:
        _rebuild_queued(migrator, table, lambda clauses: _not_null(clauses, field.column_name))
        return
    _set_not_null(migrator, table, field.column_name)


def _set_not_null(migrator, table: str, column: str) -> None:
    name = f"ck_{table}_{column}_not_null"
    _queue_constraint(migrator, table, name, f'CHECK ("{column}" IS NOT NULL)')
    migrator.sql(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET NOT NULL')
    migrator.sql(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')


# Constraints -------------------------------------------------------------------------


def add_check(migrator, table: str, name: str, expression: str) -> None:
    """A named CHECK: NOT VALID, then validated in a step of its own (PostgreSQL)."""
    model = migrator.orm[table]
    model._meta.constraints = [*(model._meta.constraints or []),
                               pw.SQL(f"CONSTRAINT {name} CHECK ({expression})")]
    _queue_constraint(migrator, table, name, f"CHECK ({expression})")


def drop_check(migrator, table: str, name: str) -> None:
    """Drop a named CHECK."""
    model = migrator.orm[table]
    model._meta.constraints = [c for c in model._meta.constraints or []
                               if not _names(c, name)]
    _drop_constraint(migrator, table, name)


def add_foreign_key(migrator, table: str, column: str, to_table: str, name: str,
                    on_delete: str = "NO ACTION", to_column: str = "id") -> None:
    """A named foreign key on an existing column: NOT VALID, then validated apart."""
    model = migrator.orm[table]
    field = model._meta.combined.get(column)
    if isinstance(field, pw.ForeignKeyField):
        field.on_delete, field.constraint_name = on_delete, name
    column_name = field.column_name if field is not None else column
    _queue_constraint(migrator, table, name, f'FOREIGN KEY ("{column_name}") REFERENCES '
                                             f'"{to_table}" ("{to_column}") ON DELETE {on_delete}')


def drop_foreign_key(migrator, table: str, name: str) -> None:
    """Drop a named foreign key (the column stays)."""
    _drop_constraint(migrator, table, name)


def add_unique(migrator, database, table: str, name: str, columns: tuple[str, ...]) -> None:
    """Uniqueness as a named unique index, built concurrently (how the models declare it)."""
    create_indexes(migrator, database, [(table, name, tuple(columns), True, None)],
                   concurrently=True)


def _queue_constraint(migrator, table: str, name: str, definition: str) -> None:
    if not migrator.__database__.is_postgres:
        _rebuild_queued(migrator, table,
                        lambda clauses: [*clauses, f'CONSTRAINT "{name}" {definition}'])
        return
    migrator.sql(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition} NOT VALID')
    migrator.__ops__.append(Online(
        sql=f'ALTER TABLE "{table}" VALIDATE CONSTRAINT "{name}"',
        label=f"validating {name}", outside_transaction=False))


def _drop_constraint(migrator, table: str, name: str) -> None:
    if not migrator.__database__.is_postgres:
        _rebuild_queued(migrator, table,
                        lambda clauses: [c for c in clauses if not _clause_named(c, name)])
        return
    migrator.sql(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')


def _names(constraint, name: str) -> bool:
    return _clause_named(str(getattr(constraint, "sql", constraint)), name)


# Data ------------------------------------------------------------------------------


def backfill(migrator, table: str, set: dict[str, str], where: str, batch_size: int = 1000,
             key: str = "id", batch_seconds: float | None = 0.1) -> None:
    """UPDATE table SET column = <SQL expression>... for the rows `where` selects, in
    batches by `key`, each committed on its own (PostgreSQL): row locks last one batch
    (sized to take about `batch_seconds`, starting at `batch_size` rows; None: always
    `batch_size` rows), and a run
    stopped part-way continues. `where` must exclude rows already done
    (e.g. "company_domain IS NULL"): a rerun then only finds what is left.
    """
    migrator.__ops__.append(Backfill(table=table, assignments=dict(set), where=where, key=key,
                                     batch_size=batch_size, batch_seconds=batch_seconds))


def _rebuild_queued(migrator, table: str, edit) -> None:
    migrator.__ops__.append(lambda: rebuild_sqlite_table(migrator.__database__, table, edit))
