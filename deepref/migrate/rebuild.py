"""SQLite's way to change what ALTER TABLE cannot: rebuild the table (deepref.migrate.ops).

A new table is created from the edited CREATE TABLE statement, the rows copied, the old
table dropped and the new one renamed, its indexes made again. The edits work on the
statement's clauses (columns, then table constraints), as SQLite stored them.
"""

from __future__ import annotations

import re


def rebuild_sqlite_table(db, table: str, edit) -> None:
    """Rebuild `table` from its definition as `edit(clauses)` returns it (the list of
    column and constraint clauses). The runner runs it inside the revision's transaction
    with foreign keys off, then checks them."""
    create = db.execute_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                            (table,)).fetchone()[0]
    indexes = [sql for (sql,) in db.execute_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
        (table,)).fetchall()]
    head, body = create.split("(", 1)
    edited = edit(clauses(body.rstrip()[:-1]))
    temporary = f"{table}__rebuild"
    columns = ", ".join(f'"{c.name}"' for c in db.get_columns(table))
    db.execute_sql(f'CREATE TABLE "{temporary}" ({", ".join(edited)})')
    db.execute_sql(f'INSERT INTO "{temporary}" ({columns}) SELECT {columns} FROM "{table}"')
    db.execute_sql(f'DROP TABLE "{table}"')
    db.execute_sql(f'ALTER TABLE "{temporary}" RENAME TO "{table}"')
    for sql in indexes:
        db.execute_sql(sql)


def clauses(body: str) -> list[str]:
    """A CREATE TABLE body cut at its top-level commas (not inside brackets or quotes)."""
    found, depth, quote, start = [], 0, None, 0
    for i, char in enumerate(body):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            found.append(body[start:i].strip())
            start = i + 1
    found.append(body[start:].strip())
    return [c for c in found if c]


def _is_column(clause: str, column: str) -> bool:
    return re.match(rf'"?{re.escape(column)}"?\s', clause) is not None


def _is_table_constraint(clause: str) -> bool:
    return re.match(r"(CONSTRAINT|PRIMARY\s+KEY|FOREIGN\s+KEY|UNIQUE|CHECK)\b", clause,
                    re.IGNORECASE) is not None


def replace_column(clauses: list[str], column: str, clause: str) -> list[str]:
    """The column's clause replaced by `clause` (its new definition)."""
    return [clause if _is_column(c, column) else c for c in clauses]


def with_column(clauses: list[str], clause: str) -> list[str]:
    """`clause` after the last column (table constraints come after the columns)."""
    at = next((i for i, c in enumerate(clauses) if _is_table_constraint(c)), len(clauses))
    return [*clauses[:at], clause, *clauses[at:]]


def not_null(clauses: list[str], column: str) -> list[str]:
    """The column's clause with NOT NULL."""
    out = []
    for clause in clauses:
        if _is_column(clause, column) and "NOT NULL" not in clause.upper():
            clause = re.sub(rf'^("?{re.escape(column)}"?\s+\S+)', r"\1 NOT NULL", clause)
        out.append(clause)
    return out


def clause_named(clause: str, name: str) -> bool:
    """Whether `clause` is the table constraint `name`."""
    return re.match(rf'\s*CONSTRAINT\s+"?{re.escape(name)}"?\s', clause, re.IGNORECASE) is not None
