"""What a model says about its table, in a form two models can be compared in.

`flask db create --auto` compares the models with the migrator's model state (the
revisions replayed), both peewee models but written differently: deepref's field
classes against the ones a revision used, `Expression` against SQL text. Columns are
compared by what the database would hold (type, NULL, server default, foreign key),
CHECK constraints and index conditions by meaning (deepref.migrate.meaning), never by
Python spelling; and the same for every backend, since one revision serves both.

The models usually agree with the model state, and what agrees as text needs no parser:
pglast is imported only for a server default, CHECK or index condition that differs as
text, or for an index other than the plain forms read without it (_PLAIN_INDEX).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

import peewee as pw

from deepref.migrate import meaning

_CHECK = re.compile(r'^\s*CONSTRAINT\s+"?(\w+)"?\s+CHECK\s*\((.*)\)\s*$', re.IGNORECASE | re.DOTALL)
_RENDER = pw.PostgresqlDatabase(None)  # a dialect to print indexes in, never connected
_SQL_INDEX = re.compile(r'^\s*CREATE\s+INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?'
                        r'"?(\w+)"?\s+ON\s+(.+?)\s*;?\s*$', re.IGNORECASE | re.DOTALL)
# An index as peewee prints it on plain columns, with no condition or `"column" IS [NOT]
# NULL`: what PostgreSQL's grammar reads in it is known without parsing (quoted ASCII
# names of at most 63 characters are taken as written).
_PLAIN_INDEX = re.compile(r'CREATE (UNIQUE )?INDEX (?:IF NOT EXISTS )?"\w{1,63}" ON "\w{1,63}" '
                          r'\(("\w{1,63}"(?:, "\w{1,63}")*)\)(?: WHERE (.+))?',
                          re.ASCII | re.DOTALL)
_NULL_TEST = re.compile(r'(\()?"(\w{1,63})" IS (NOT )?NULL(?(1)\))', re.ASCII)


class Unsupported(Exception):
    """Something in a model that a draft cannot express; the message says what."""


@dataclass(frozen=True)
class ForeignKey:
    to_table: str
    to_column: str
    on_delete: str
    on_update: str
    name: str | None  # the constraint's name; None: the database names it


@dataclass(frozen=True)
class Column:
    name: str  # the column's name
    field_name: str
    type: tuple  # (field type, modifiers), e.g. ("VARCHAR", (200,))
    null: bool
    primary_key: bool
    written_default: str | None  # the server default, as written
    extra: tuple  # anything else in its DDL (inline constraints, collation, own ddl())
    foreign_key: ForeignKey | None

    @functools.cached_property
    def default(self) -> str | None:
        """The server default in one spelling (parsed on first use)."""
        if self.written_default is None:
            return None
        return meaning.canonical("expression", self.written_default) or self.written_default

    def same_default(self, other: Column) -> bool:
        """Whether the server defaults agree (one text: one spelling, no parser needed)."""
        return self.written_default == other.written_default or self.default == other.default

    def same_storage(self, other: Column) -> bool:
        """Everything but the name and the foreign key is the same."""
        return (self.type, self.null, self.primary_key, self.extra) == (
            other.type, other.null, other.primary_key, other.extra) and self.same_default(other)


@dataclass(frozen=True)
class Index:
    table: str
    name: str
    columns: tuple[str, ...]
    unique: bool
    sql: str = field(repr=False, compare=False)  # as peewee prints it
    # What the grammar reads in the condition when known without parsing: () none,
    # (column, negated) `"column" IS [NOT] NULL`; None: not known.
    condition: tuple | None = field(default=None, repr=False, compare=False)

    @functools.cached_property
    def where(self) -> str | None:
        """The condition as written back by PostgreSQL's grammar (parsed on first use)."""
        if self.condition == ():
            return None
        return _parsed(self.table, self.name, self.sql)[2]

    def spec(self) -> tuple:
        """As deepref.migrate.ops takes it (an IndexSpec)."""
        return (self.table, self.name, self.columns, self.unique, self.where)


def server_default(field: pw.Field) -> str | None:
    """The DEFAULT clause of the field's constraints, as written."""
    for constraint in field.constraints or ():
        text = str(getattr(constraint, "sql", "")).strip()
        if text.upper().startswith("DEFAULT "):
            return text[len("DEFAULT "):].strip()
    return None


def column(field: pw.Field) -> Column:
    """The column `field` makes."""
    others = tuple(str(getattr(c, "sql", c)) for c in field.constraints or ()
                   if not str(getattr(c, "sql", "")).strip().upper().startswith("DEFAULT "))
    own_ddl = next(c for c in type(field).__mro__ if "ddl" in c.__dict__)
    extra = (others, field.collation, field.sequence,
             own_ddl.__qualname__ if own_ddl.__module__ != "peewee" else "")
    default = server_default(field)
    return Column(field.column_name, field.name, (field.field_type.upper(),
                  tuple(field.get_modifiers() or ())), field.null, field.primary_key, default,
                  extra, _foreign_key(field))


def _foreign_key(field: pw.Field) -> ForeignKey | None:
    if not isinstance(field, pw.ForeignKeyField):
        return None
    return ForeignKey(field.rel_model._meta.table_name, field.rel_field.column_name,
                      (field.on_delete or "NO ACTION").upper(),
                      (field.on_update or "NO ACTION").upper(), field.constraint_name)


def columns(model) -> dict[str, Column]:
    """The model's columns by name."""
    return {f.column_name: column(f) for f in model._meta.sorted_fields}


def checks(model) -> dict[str, str]:
    """The model's named CHECK constraints: name -> expression (as written)."""
    found = {}
    for constraint in model._meta.constraints or ():
        match = _CHECK.match(str(getattr(constraint, "sql", constraint)))
        if not isinstance(constraint, pw.SQL) or match is None:
            raise Unsupported(f"{model._meta.table_name}: a table constraint other than a named "
                              f"CHECK ({constraint!r}): declare it with "
                              "deepref.models.base.check(name, expression)")
        found[match.group(1)] = match.group(2).strip()
    return found


def volatile(default: str) -> bool:
    """Whether a server default may be volatile (evaluated per row: ADD COLUMN rewrites)."""
    from pglast import parse_sql
    from pglast.parser import ParseError

    from deepref.migrate.lint import functions_by_volatility

    try:
        node = parse_sql(f"SELECT {default}")[0].stmt
    except ParseError:
        return True
    return any(functions_by_volatility(node))


def same_check(one: str, other: str) -> bool:
    return meaning.same("expression", one, other)


def indexes(model) -> dict[str, Index]:
    """The model's indexes by name (declared, and made by index=True / unique=True fields)."""
    table = model._meta.table_name
    found = {}
    for index in model._meta.fields_to_index():
        found[index._name] = _index(table, index)
    return found


def _index(table: str, index: pw.Index) -> Index:
    """Read back from the SQL peewee prints for it, so every way of declaring it agrees."""
    ctx = _RENDER.get_sql_context()
    sql = ctx.sql(index).query()[0]
    plain = _PLAIN_INDEX.fullmatch(sql)
    test = plain and plain.group(3) and _NULL_TEST.fullmatch(plain.group(3))
    if plain and (test or not plain.group(3)):
        names = tuple(name.strip('"') for name in plain.group(2).split(", "))
        condition = (test.group(2), bool(test.group(3))) if test else ()
        return Index(table, index._name, names, bool(plain.group(1)), sql, condition)
    names, unique, _ = _parsed(table, index._name, sql)
    return Index(table, index._name, names, unique, sql)


@functools.lru_cache(maxsize=1024)
def _parsed(table: str, name: str, sql: str) -> tuple[tuple[str, ...], bool, str | None]:
    """(columns, unique, condition) of the index `sql` creates, by PostgreSQL's grammar."""
    from pglast import parse_sql
    from pglast.parser import ParseError
    from pglast.stream import RawStream

    try:
        node = parse_sql(sql)[0].stmt
    except ParseError as error:
        raise Unsupported(f"{table}: index {name} does not parse ({error})") from None
    names = [element.name for element in node.indexParams]
    if None in names or node.accessMethod not in (None, "btree") or node.nulls_not_distinct:
        raise Unsupported(f"{table}: index {name} is not on plain columns with btree "
                          "(an expression, GIN, ...): declare it as SQL in POSTGRES_ONLY_INDEXES "
                          "(deepref/models/indexes.py), which --auto drafts with create_index_sql")
    where = None
    if node.whereClause is not None:
        where = RawStream()(_unqualified(node.whereClause))
    return tuple(names), bool(node.unique), where


def _unqualified(node):
    """Column references without their table: an index condition has only one table."""
    from pglast import ast

    from deepref.migrate.lint import walk

    for item in walk(node):
        if isinstance(item, ast.ColumnRef):
            item.fields = item.fields[-1:]
    return node


def same_index(one: Index, other: Index) -> bool:
    if (one.columns, one.unique) != (other.columns, other.unique):
        return False
    if one.condition is not None and one.condition == other.condition:
        return True  # one reading of the condition: one spelling
    if one.where is None or other.where is None:
        return one.where == other.where
    return meaning.same("expression", one.where, other.where)


def sql_indexes(statements) -> dict[str, str]:
    """Indexes the models declare as SQL, PostgreSQL only (GIN, expressions), as
    ops.create_index_sql takes them: name -> target ("table" USING ...)."""
    found = {}
    for statement in statements:
        match = _SQL_INDEX.match(statement)
        if match is None:
            raise Unsupported(f"an index declared as SQL that a draft cannot write (only CREATE "
                              f"INDEX name ON ...): {' '.join(statement.split())[:80]}")
        found[match.group(1)] = squeezed(match.group(2))
    return found


def state_sql_indexes(model) -> dict[str, str]:
    """The model state's indexes made by ops.create_index_sql: name -> target."""
    return {name: squeezed(target)
            for name, target in getattr(model._meta, "sql_indexes", {}).items()}


def squeezed(sql: str) -> str:
    """`sql` on one line: each run of blanks outside string literals made one space."""
    pieces = re.split(r"('(?:[^']|'')*')", sql.strip())
    return "".join(p if i % 2 else re.sub(r"\s+", " ", p) for i, p in enumerate(pieces))


def primary_key(model) -> tuple[str, ...]:
    """The primary key's columns."""
    key = model._meta.primary_key
    if isinstance(key, pw.CompositeKey):
        return tuple(model._meta.fields[name].column_name for name in key.field_names)
    return (key.column_name,) if key else ()
