"""`flask db check`: does the live database match the models?

The expected schema is built from the models in a throwaway place (PostgreSQL temporary
tables inside a transaction that is rolled back, or an in-memory SQLite database) and read
back with the same introspection as the live one, so both sides are described by the
database itself: types, nullability, defaults, constraints (FK actions, UNIQUE, CHECK)
and index definitions. Definitions are compared by meaning (deepref.migrate.meaning):
PostgreSQL spells some differently after a dump and restore.
"""

from __future__ import annotations

import re
import uuid

import peewee as pw

from deepref.db import SqliteDatabase
from deepref.migrate import meaning
from deepref.migrate.history import BOOKKEEPING

Schema = dict[str, dict[str, dict[str, str]]]  # table -> kind -> name -> definition
KINDS = ("column", "constraint", "index")


def compare(db: pw.Database, models=None, extra_indexes=None) -> list[str]:
    """One line per difference between the live database and the models (by default
    deepref's; `extra_indexes`: {model: [CREATE INDEX ...]} built on PostgreSQL only)."""
    models, extra_indexes = _models(models, extra_indexes)
    if db.is_postgres:
        live, expected = _postgres_schemas(db, models, extra_indexes)
    else:
        live, expected = _sqlite_schema(db), _sqlite_expected(models)
    return diff(expected, live)


def live_schema(db: pw.Database) -> Schema:
    """The live database's tables, columns, constraints and indexes."""
    if db.is_postgres:
        return _postgres_schema(db)[1]
    return _sqlite_schema(db)


def diff(expected: Schema, live: Schema, source: str = "the models") -> list[str]:
    """Differences, worded from the database's side ("missing" = in `source` only)."""
    lines = []
    for table in sorted(expected.keys() | live.keys()):
        if table not in live:
            lines.append(f"missing table {table} (in {source}, not in the database)")
            continue
        if table not in expected:
            lines.append(f"unexpected table {table} (in the database, not in {source})")
            continue
        for kind in KINDS:
            want, have = expected[table][kind], live[table][kind]
            for name in sorted(want.keys() | have.keys()):
                if name not in have:
                    lines.append(f"{table}: missing {kind} {name}: {want[name]}")
                elif name not in want:
                    lines.append(f"{table}: unexpected {kind} {name}: {have[name]}")
                elif not meaning.same(kind, want[name], have[name]):
                    lines.append(
                        f"{table}: {kind} {name} differs: {source} have {want[name]}; "
                        f"database has {have[name]}"
                    )
    return lines


def _models(models=None, extra_indexes=None):
    from deepref.models import ALL_MODELS
    from deepref.models.indexes import POSTGRES_ONLY_INDEXES

    return (ALL_MODELS if models is None else models,
            POSTGRES_ONLY_INDEXES if extra_indexes is None else extra_indexes)


# PostgreSQL ---------------------------------------------------------------------------


def _postgres_schemas(db: pw.Database, models, extra_indexes) -> tuple[Schema, Schema]:
    """The live schema (read first, with the search_path its definitions are printed
    for), and the models' built, read back and rolled back in one round trip (the server's
    time is most of `check`'s): as temporary tables, which it builds several times faster
    (no index file synced to disk), or in a scratch schema when this session has
    temporary tables of its own."""
    with db.atomic() as transaction:  # one session throughout, even behind a pooler
        own_temporary, live = _postgres_schema(db)
        setup = ["SET LOCAL search_path TO pg_temp"]
        if own_temporary:
            scratch = f"deepref_check_{uuid.uuid4().hex[:12]}"
            setup = [f"CREATE SCHEMA {scratch}", f"SET LOCAL search_path TO {scratch}"]
        statements = [*setup, *_create_statements(db, models, extra_indexes)]
        _, expected = _postgres_schema(db, statements)
        transaction.rollback()
    return live, expected


def _create_statements(db: pw.Database, models, extra_indexes) -> list[str]:
    """What db.create_tables(models) sends, then the extra indexes, as one script's
    statements (in the form execute_sql takes: a literal % doubled)."""
    cursor, statements = db.cursor(), []
    for model in pw.sort_models(models):  # as Model.create_table(safe=True) on PostgreSQL
        schema, meta = model._schema, model._meta
        options = {"temporary": meta.temporary} if meta.temporary else {}
        sequences = [schema._create_sequence(f) for f in meta.sorted_fields
                     if f.sequence and db.sequences]
        for ctx in (*sequences, schema._create_table(safe=True, **options),
                    *schema._create_indexes(safe=True)):
            if ctx is None:  # a sequence that exists already
                continue
            sql, params = ctx.query()
            statements.append(sql if not params else
                              cursor.mogrify(sql, params).decode().replace("%", "%%"))
    return statements + [s for group in extra_indexes.values() for s in group]


_SCHEMA_QUERY = " UNION ALL ".join([
    "SELECT 'schema', current_schema(), NULL, NULL, EXISTS (SELECT FROM pg_class "
    "WHERE relnamespace = pg_my_temp_schema()), NULL",
    "SELECT 'table', c.relname, NULL, NULL, NULL, NULL FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')",
    "SELECT 'column', c.relname, a.attname, format_type(a.atttypid, a.atttypmod), "
    "a.attnotnull, pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a "
    "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
    "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
    "WHERE n.nspname = current_schema() AND a.attnum > 0 AND NOT a.attisdropped",
    "SELECT 'constraint', c.relname, con.conname, pg_get_constraintdef(con.oid), NULL, NULL "
    "FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid "
    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema()",
    "SELECT 'index', tablename, indexname, indexdef, NULL, NULL FROM pg_indexes "
    "WHERE schemaname = current_schema()",
])


def _postgres_schema(db: pw.Database, before=()) -> tuple[bool, Schema]:
    """Tables, columns, constraints and indexes of the current schema, after the
    statements `before`, in one round trip; and whether this session has temporary
    tables of its own."""
    rows = db.execute_sql(";\n".join([*before, _SCHEMA_QUERY])).fetchall()
    (schema, own_temporary), = [(row[1], row[4]) for row in rows if row[0] == "schema"]
    # How index definitions name the schema: the session's own temporary one is pg_temp.
    prefix = f" ON {'pg_temp' if schema.startswith('pg_temp_') else schema}."
    result: Schema = {table: {kind: {} for kind in KINDS} for what, table, *_ in rows
                      if what == "table" and table not in BOOKKEEPING}
    for what, table, name, definition, not_null, default in rows:
        if what in ("schema", "table") or table not in result:
            continue
        if what == "column":
            definition = _column(definition, not_null, default)
        elif what == "index":
            definition = definition.replace(prefix, " ON ")
        result[table][what][name] = definition
    return own_temporary, result


def _column(type_: str, not_null, default) -> str:
    text = f"{type_.lower()} {'NOT NULL' if not_null else 'NULL'}"
    return f"{text} DEFAULT {default}" if default is not None else text


# SQLite -------------------------------------------------------------------------------


def _sqlite_expected(models) -> Schema:
    memory = SqliteDatabase(":memory:")
    with memory.bind_ctx(models):
        memory.create_tables(models)
        return _sqlite_schema(memory)


def _sqlite_schema(db: pw.Database) -> Schema:
    result: Schema = {}
    rows = db.execute_sql(
        "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
    ).fetchall()
    for type_, name, _, sql in rows:
        if type_ == "table" and name not in BOOKKEEPING:
            result[name] = {"column": {}, "constraint": _checks(sql), "index": {}}
    for table, kinds in result.items():
        for _, name, type_, not_null, default, pk in db.execute_sql(f'PRAGMA table_info("{table}")'):
            text = _column(type_, not_null or pk == 1, default)
            kinds["column"][name] = text + (" PRIMARY KEY" if pk else "")
        for row in db.execute_sql(f'PRAGMA foreign_key_list("{table}")').fetchall():
            _, _, target, source, to, _, on_delete, _ = row
            kinds["constraint"][f"foreign key ({source})"] = (
                f"REFERENCES {target}({to}) ON DELETE {on_delete}"
            )
    for type_, name, table, sql in rows:
        if type_ == "index" and sql and table in result:
            result[table]["index"][name] = _normalise(sql)
    return result


def _normalise(sql: str) -> str:
    text = re.sub(r'["()`]', " ", sql.lower()).replace(" if not exists", " ")
    return " ".join(text.split()).replace(" ,", ",")


def _checks(create_table_sql: str) -> dict[str, str]:
    """Named CHECK constraints in a CREATE TABLE statement (SQLite keeps no catalogue)."""
    found = {}
    for match in re.finditer(r'CONSTRAINT\s+"?(\w+)"?\s+CHECK\s*\(', create_table_sql, re.I):
        depth, start = 1, match.end()
        end = start
        while depth and end < len(create_table_sql):
            depth += {"(": 1, ")": -1}.get(create_table_sql[end], 0)
            end += 1
        found[match.group(1)] = "CHECK " + _normalise(create_table_sql[start : end - 1])
    return found
