"""SQL compared by meaning, not spelling, with PostgreSQL's own parser (pglast).

PostgreSQL prints one definition in more than one way. An IN-list CHECK reads back as
`ANY ((ARRAY['a'::character varying])::text[])` on the database that ran the DDL, and
as `ANY (ARRAY[('a'::character varying)::text])` after pg_dump and pg_restore; the
parentheses, the `USING btree` and the string casts differ, the meaning does not.
`canonical()` parses a statement or expression, drops what carries no meaning (casts
of string literals to string types, redundant parentheses, default clauses) and prints
it back in one spelling. Values, columns, operators and actions are kept, so a real
difference still differs.

pglast (0.03-0.1 s to import) is imported on the first definition that differs from its
counterpart as text: identical text needs no parser.
"""

from __future__ import annotations

import functools

# Casting a string literal to one of these changes its spelling, not its value.
STRING_TYPES = frozenset({"text", "varchar", "bpchar", "name", "unknown"})
# Each kind of definition as SQL that parses, and where the definition is in its tree.
_WRAPPERS = {
    "constraint": ("ALTER TABLE t ADD CONSTRAINT c {}", lambda stmt: _unnamed(stmt.cmds[0].def_)),
    "index": ("{}", lambda stmt: stmt),
    "expression": ("SELECT {}", lambda stmt: stmt.targetList[0].val),
}


def same(kind: str, one: str, other: str) -> bool:
    """Whether two definitions of `kind` ("column", "constraint", "index",
    "expression") mean the same; text that does not parse must match exactly."""
    if one == other:
        return True
    a, b = canonical(kind, one), canonical(kind, other)
    return a is not None and a == b


@functools.lru_cache(maxsize=4096)
def canonical(kind: str, text: str) -> str | None:
    """`text` in one spelling, or None when PostgreSQL's grammar does not parse it."""
    if kind == "column":  # "<type> NULL|NOT NULL[ DEFAULT <expression>]" (check.py)
        head, _, default = text.partition(" DEFAULT ")
        if not default:
            return head
        expression = canonical("expression", default)
        return None if expression is None else f"{head} DEFAULT {expression}"
    from pglast import parse_sql
    from pglast.parser import ParseError
    from pglast.stream import RawStream

    wrapper, part = _WRAPPERS[kind]
    try:
        statements = parse_sql(wrapper.format(text))
        if len(statements) != 1:
            return None
        node = part(statements[0].stmt)
    except (ParseError, AttributeError, IndexError, TypeError):
        return None
    return RawStream()(_plain(node))


def _unnamed(constraint):
    constraint.conname = None  # the wrapper's: names are compared apart
    return constraint


def _plain(node):
    """`node` with string-literal casts to string types removed, bottom up."""
    from pglast import ast

    if isinstance(node, tuple):
        return tuple(_plain(item) for item in node)
    if not isinstance(node, ast.Node):
        return node
    for attribute in node.__slots__:
        value = getattr(node, attribute)
        if isinstance(value, (ast.Node, tuple)):
            setattr(node, attribute, _plain(value))
    if isinstance(node, ast.TypeCast) and _string_type(node.typeName):
        array = bool(node.typeName.arrayBounds)
        if _literal(node.arg) and array == isinstance(node.arg, ast.A_ArrayExpr):
            return node.arg
    return node


def _string_type(type_name) -> bool:
    """text, varchar, ... (or an array of one), without a length that could cut a value."""
    return not type_name.typmods and type_name.names[-1].sval in STRING_TYPES


def _literal(node) -> bool:
    """A string constant or NULL, or an ARRAY[...] of them."""
    from pglast import ast

    if isinstance(node, ast.A_Const):
        return node.isnull or isinstance(node.val, ast.String)
    if isinstance(node, ast.A_ArrayExpr):
        return all(_literal(element) for element in node.elements or ())
    return False
