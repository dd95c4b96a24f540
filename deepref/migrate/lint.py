"""A static linter for the SQL a revision sends: what locks a busy table, and for how long.

It parses with PostgreSQL's own grammar (pglast) and needs no database: what it knows of
the schema comes from the caller (the tables that existed before the revision, and each
column's current type when asked). Each finding names the lock, how long it is held, and
the revision helper to use instead. Rule ids follow squawk's rules where squawk has one.
Only pglast and the standard library here: the runner and the CLI wrap it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

from pglast import ast, parse_sql, split
from pglast.enums import AlterTableType as AT
from pglast.enums import (ConstrType, DropBehavior, NullTestType, ObjectType, ReindexObjectType,
                          TransactionStmtKind)
from pglast.parser import ParseError

ColumnTypes = Callable[[str, str], "str | None"]


@dataclass(frozen=True)
class Statement:
    sql: str  # one SQL statement (or several) as the runner will send it
    # False: it runs outside the revision's transaction (CONCURRENTLY builds, batched backfills)
    in_transaction: bool = True


@dataclass(frozen=True)
class Finding:
    revision: str
    rule: str  # stable kebab-case id
    statement: str  # whitespace-collapsed, shortened
    lock: str  # the lock taken, and on what
    duration: str  # for how long it is held
    safe_form: str  # what to write instead
    accepted: str | None = None  # the revision's reason, when it accepts this rule


def lint_statements(revision: str, statements: list[Statement], existing_tables: set[str],
                    accepted: dict[str, str] | None = None,
                    column_types: ColumnTypes | None = None) -> list[Finding]:
    """Findings for one revision's statements, in order; accepted ones are marked, not dropped.

    A table counts as existing (busy, full of rows) when it is in `existing_tables` and the
    revision has not created it itself. Never raises: unparsable SQL is a finding.
    """
    state = _Revision(revision, {t.lower() for t in existing_tables},
                      column_types or (lambda table, column: None))
    for statement in statements:
        for sql, node in _parse(statement.sql):
            state.lint(sql, node, statement.in_transaction)
    reasons = accepted or {}
    return [replace(f, accepted=reasons.get(f.rule)) for f in state.findings]


def _parse(sql: str) -> list[tuple[str, ast.Node | ParseError]]:
    """Each statement in `sql` with its tree, or with the parser's error."""
    try:
        return [(_text(sql, raw), raw.stmt) for raw in parse_sql(sql)]
    except ParseError as error:
        whole = [(sql.strip(), error)]
    try:  # lint the statements that do parse: cut with PostgreSQL's scanner, parse each
        pieces = _pieces(sql)
    except ParseError:
        return whole
    if len(pieces) < 2:
        return whole
    parsed = []
    for piece in pieces:
        try:
            parsed += [(_text(piece, raw), raw.stmt) for raw in parse_sql(piece)]
        except ParseError as error:
            parsed.append((piece.strip(" \t\r\n;"), error))
    return parsed


def _pieces(sql: str) -> list[str]:
    """`sql` cut into statements, keeping the text the scanner skips (it drops some errors)."""
    pieces, start = [], 0
    for piece in split(sql, with_parser=False, only_slices=True):
        pieces += [sql[start:piece.start], sql[piece]]
        start = piece.stop
    pieces.append(sql[start:])
    return [p for p in pieces if p.strip(" \t\r\n;")]


def _text(sql: str, raw: ast.RawStmt) -> str:
    end = raw.stmt_location + raw.stmt_len if raw.stmt_len else None
    return sql[raw.stmt_location:end].strip()


# Each rule's texts: lock, duration, safe form; {table} and {why} are filled in per finding.
_ACCESS_EXCLUSIVE = "ACCESS EXCLUSIVE lock on {table} (blocks reads and writes)"
_BRIEF_ACCESS_EXCLUSIVE = "ACCESS EXCLUSIVE lock on {table}, for a moment"
_SCAN = "for a full scan of the table: grows with the table's size"
_REWRITE = "for a rewrite of the whole table and every index ({why}): grows with the table's size"
_NOT_VALID_THEN_VALIDATE = ("ADD CONSTRAINT ... NOT VALID (a moment's lock), then VALIDATE "
                            "CONSTRAINT in a separate step (SHARE UPDATE EXCLUSIVE: reads and "
                            "writes go on)")
_LATER_RELEASE = ("first deploy code that no longer uses it, then drop it in a later release's "
                  "revision, accepting this finding there with a reason")
_RULES = {
    "index-not-concurrent": (
        "SHARE lock on {table} (blocks INSERT/UPDATE/DELETE; reads go on)",
        "for the whole index build: grows with the table's size",
        "create_indexes(..., concurrently=True): CREATE INDEX CONCURRENTLY, outside the "
        "revision's transaction"),
    "drop-index-not-concurrent": (
        _ACCESS_EXCLUSIVE,
        "briefly, but it queues behind every open transaction on the table, and every later "
        "query on the table queues behind it",
        "drop_indexes(..., concurrently=True): DROP INDEX CONCURRENTLY, outside the "
        "revision's transaction"),
    "concurrently-in-transaction": (
        "none: PostgreSQL refuses it inside a transaction block",
        "the revision fails at this statement",
        "create_indexes(..., concurrently=True) / drop_indexes(..., concurrently=True), which "
        "run it outside the revision's transaction (Statement(in_transaction=False))"),
    "reindex-not-concurrent": (
        "SHARE lock on the table (blocks writes) and ACCESS EXCLUSIVE on its indexes "
        "(blocks the queries that use them): {table}",
        "for the whole rebuild: grows with the table's size",
        "REINDEX ... CONCURRENTLY, outside the revision's transaction "
        "(Statement(in_transaction=False))"),
    "volatile-default": (
        _ACCESS_EXCLUSIVE, _REWRITE,
        "add the column NULL without a default (or with a constant one), then fill it with "
        "backfill(...) in batches; set the default for new rows afterwards (SET DEFAULT does "
        "not rewrite)"),
    "generated-column": (
        _ACCESS_EXCLUSIVE, _REWRITE,
        "add a plain NULL column, fill it with backfill(...) in batches, then add the "
        "default or expression for new rows"),
    "required-column": (
        _BRIEF_ACCESS_EXCLUSIVE,
        "fails at once on a non-empty table (the existing rows would hold NULL)",
        "add the column NULL (or NOT NULL with a constant DEFAULT), backfill(...) it, "
        "then set_not_null(...)"),
    "set-not-null": (
        _ACCESS_EXCLUSIVE, _SCAN + " (proving no row holds NULL)",
        "set_not_null(...): a CHECK (col IS NOT NULL) NOT VALID, validated without blocking, "
        "lets SET NOT NULL skip the scan"),
    "constraint-not-valid": (
        _ACCESS_EXCLUSIVE, _SCAN + " (validating every row)",
        "add_check(...): " + _NOT_VALID_THEN_VALIDATE),
    "unique-constraint": (
        _ACCESS_EXCLUSIVE, "for the whole index build: grows with the table's size",
        "add_unique(...): CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT ... USING "
        "INDEX (a moment's lock)"),
    "column-type-rewrite": (
        _ACCESS_EXCLUSIVE, _REWRITE,
        "add a new column of the new type, backfill(...) it, switch reads to it, drop the old "
        "one in a later release"),
    "rename": (
        _BRIEF_ACCESS_EXCLUSIVE,
        "instant, but every running app server still uses the old name: its queries fail "
        "until all of them are redeployed",
        "add the new column, backfill(...) it, deploy code reading both, drop the old one in "
        "a later release; for a table, leave a view under the old name"),
    "drop-column": (
        _BRIEF_ACCESS_EXCLUSIVE,
        "the lock is brief, the loss permanent: app servers still reading the column fail, "
        "and a rollback cannot bring its data back",
        _LATER_RELEASE),
    "drop-table": (
        _BRIEF_ACCESS_EXCLUSIVE,
        "the lock is brief, the loss permanent: app servers still using the table fail, "
        "and a rollback cannot bring its rows back",
        _LATER_RELEASE),
    "truncate": (
        _ACCESS_EXCLUSIVE,
        "until the revision commits; then every row is gone for good{why}",
        "delete what must go with backfill(...) in batches, or accept this finding with a "
        "reason"),
    "whole-table-write": (
        "ROW EXCLUSIVE lock on {table} and a row lock on every row (blocks every concurrent "
        "writer of those rows)",
        "until the revision commits: one transaction as long as the whole table takes",
        "backfill(...): batches that commit one by one and can resume "
        "(Statement(in_transaction=False))"),
    "full-table-rewrite": (
        _ACCESS_EXCLUSIVE, _REWRITE,
        "leave it out of revisions: plain VACUUM runs by itself; pg_repack rewrites online; "
        "a new table filled by backfill(...) replaces one whose storage must change"),
    "drop-database": (
        "the whole database {table}: no other session may be connected",
        "permanent: every table in it is gone",
        "never from a revision: do it by hand"),
    "char-column": (
        "none beyond the statement's own",
        "for the column's life: char(n) pads with blanks, and changing it later rewrites "
        "the table",
        "varchar(n), or text with a CHECK on its length"),
    "transaction-control": (
        "none, but it {why} the revision's transaction",
        "from here on the revision is no longer atomic: a failure leaves it half applied",
        "let the runner own the transaction; work that must commit in steps goes in "
        "backfill(...) or a Statement(in_transaction=False)"),
    "unparsable": (
        "unknown: PostgreSQL's parser rejects it ({why})",
        "unknown",
        "fix the SQL: PostgreSQL would refuse it too"),
}

# Default functions by volatility (pg_proc.provolatile on PostgreSQL 15). A volatile one is
# evaluated per row, so ADD COLUMN ... DEFAULT f() rewrites the table; the others are stored
# once in the catalogue (PostgreSQL 11+).
VOLATILE_FUNCTIONS = {
    "random", "random_normal", "gen_random_uuid", "uuid_generate_v1", "uuid_generate_v1mc",
    "uuid_generate_v4", "uuidv4", "uuidv7", "clock_timestamp", "timeofday", "nextval", "setval",
}
NON_VOLATILE_FUNCTIONS = {
    "now", "statement_timestamp", "transaction_timestamp", "current_setting", "timezone",
    "date_trunc", "make_interval", "make_date", "to_timestamp", "to_char", "lower", "upper",
    "btrim", "length", "concat", "replace", "md5", "abs", "round", "to_jsonb",
    "jsonb_build_object", "jsonb_build_array", "json_build_object", "json_build_array",
}
SERIAL_TYPES = {"smallserial", "serial", "bigserial", "serial2", "serial4", "serial8"}
# What each statement does to the revision's transaction (savepoints stay inside it).
_ENDS_TRANSACTION = {
    TransactionStmtKind.TRANS_STMT_BEGIN: "nests inside",
    TransactionStmtKind.TRANS_STMT_START: "nests inside",
    TransactionStmtKind.TRANS_STMT_COMMIT: "commits",
    TransactionStmtKind.TRANS_STMT_ROLLBACK: "rolls back",
    TransactionStmtKind.TRANS_STMT_PREPARE: "prepares",
}
# ALTER TABLE forms that copy the whole table.
_REWRITING_COMMANDS = {AT.AT_SetLogged: "SET LOGGED", AT.AT_SetUnLogged: "SET UNLOGGED",
                       AT.AT_SetTableSpace: "SET TABLESPACE"}
_INDEX_BACKED = (ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_PRIMARY, ConstrType.CONSTR_EXCLUSION)
_VALIDATED = (ConstrType.CONSTR_CHECK, ConstrType.CONSTR_FOREIGN)


@dataclass
class _Revision:
    """What the revision's statements so far have done, and what was found in them."""

    name: str
    existing: set[str]
    column_types: ColumnTypes
    created: set[str] = field(default_factory=set)
    index_tables: dict[str, str] = field(default_factory=dict)  # index -> its table
    not_null_checks: dict[tuple[str, str], str] = field(default_factory=dict)  # -> column
    proven_not_null: set[tuple[str, str]] = field(default_factory=set)  # (table, column)
    findings: list[Finding] = field(default_factory=list)
    sql: str = ""
    in_transaction: bool = True

    def is_existing(self, table: str) -> bool:
        return table in self.existing and table not in self.created

    def flag(self, rule: str, table: str = "", why: str = "", **texts: str) -> None:
        """A finding on the current statement; `texts` replace the rule's own wording."""
        wording = dict(zip(("lock", "duration", "safe_form"), _RULES[rule]))
        wording = {k: texts.get(k) or t.format(table=table, why=why) for k, t in wording.items()}
        statement = " ".join(self.sql.split())
        if len(statement) > 200:
            statement = statement[:197] + "..."
        self.findings.append(Finding(self.name, rule, statement, **wording))

    def lint(self, sql: str, node: ast.Node | ParseError, in_transaction: bool) -> None:
        """Check one statement; a method named after its node type (`_IndexStmt`) does it."""
        self.sql, self.in_transaction = sql, in_transaction
        if isinstance(node, ParseError):
            self.flag("unparsable", why=str(node))
            return
        handler = getattr(self, f"_{type(node).__name__}", None)
        if handler is not None:
            handler(node)

    def _concurrently(self) -> None:
        if self.in_transaction:
            self.flag("concurrently-in-transaction")

    def _CreateStmt(self, node: ast.CreateStmt) -> None:
        key = _key(node.relation)
        if not (node.if_not_exists and self.is_existing(key)):
            self.created.add(key)
        for element in node.tableElts or ():
            if isinstance(element, ast.ColumnDef):
                self._char(element.typeName)

    def _CreateTableAsStmt(self, node: ast.CreateTableAsStmt) -> None:
        self.created.add(_key(node.into.rel))

    def _IndexStmt(self, node: ast.IndexStmt) -> None:
        key = _key(node.relation)
        if node.idxname:
            self.index_tables[node.idxname.lower()] = key
        if node.concurrent:
            self._concurrently()
        elif self.is_existing(key):
            self.flag("index-not-concurrent", _shown(node.relation))

    def _DropStmt(self, node: ast.DropStmt) -> None:
        names = [[s.sval for s in name] for name in node.objects or ()]
        if node.removeType == ObjectType.OBJECT_INDEX:
            if node.concurrent:
                self._concurrently()
                return
            for name in names:
                table = self.index_tables.get(name[-1].lower())
                if table is None or self.is_existing(table):
                    shown = f'"{table}"' if table else f'the table of index "{name[-1]}"'
                    self.flag("drop-index-not-concurrent", shown)
        elif node.removeType == ObjectType.OBJECT_TABLE:
            for name in names:
                if self.is_existing(name[-1].lower()):
                    self.flag("drop-table", ".".join(f'"{n}"' for n in name))

    def _RenameStmt(self, node: ast.RenameStmt) -> None:
        if node.renameType not in (ObjectType.OBJECT_TABLE, ObjectType.OBJECT_COLUMN):
            return
        key = _key(node.relation)
        if not self.is_existing(key):
            if node.renameType == ObjectType.OBJECT_TABLE:
                self.created.add(node.newname.lower())
            return
        if node.renameType == ObjectType.OBJECT_TABLE:
            self.existing.add(node.newname.lower())
        self.flag("rename", _shown(node.relation))

    def _UpdateStmt(self, node: ast.UpdateStmt) -> None:
        if node.whereClause is None and self.in_transaction and self.is_existing(
                _key(node.relation)):
            self.flag("whole-table-write", _shown(node.relation))

    _DeleteStmt = _UpdateStmt

    def _TruncateStmt(self, node: ast.TruncateStmt) -> None:
        cascade = node.behavior == DropBehavior.DROP_CASCADE
        for relation in node.relations:
            if cascade or self.is_existing(_key(relation)):
                why = " (CASCADE: also in every table that references it)" if cascade else ""
                self.flag("truncate", _shown(relation), why)

    def _ReindexStmt(self, node: ast.ReindexStmt) -> None:
        if any(p.defname == "concurrently" for p in node.params or ()):
            self._concurrently()
            return
        if node.kind == ReindexObjectType.REINDEX_OBJECT_INDEX:
            table = self.index_tables.get(_key(node.relation))
            busy = table is None or self.is_existing(table)
        elif node.kind == ReindexObjectType.REINDEX_OBJECT_TABLE:
            busy = self.is_existing(_key(node.relation))
        else:  # a schema, the database, the catalogue
            busy = True
        if busy:
            self.flag("reindex-not-concurrent", _shown(node.relation) if node.relation
                      else f'every table of "{node.name}"')

    def _VacuumStmt(self, node: ast.VacuumStmt) -> None:
        if any(o.defname == "full" for o in node.options or ()):
            for relation in [r.relation for r in node.rels or ()] or [None]:
                self._rewrite(relation, "VACUUM FULL")

    def _ClusterStmt(self, node: ast.ClusterStmt) -> None:
        self._rewrite(node.relation, "CLUSTER")

    def _rewrite(self, relation: ast.RangeVar | None, command: str) -> None:
        if relation is None:
            self.flag("full-table-rewrite", "every table of the database", command)
        elif self.is_existing(_key(relation)):
            self.flag("full-table-rewrite", _shown(relation), command)

    def _DropdbStmt(self, node: ast.DropdbStmt) -> None:
        self.flag("drop-database", f'"{node.dbname}"')

    def _TransactionStmt(self, node: ast.TransactionStmt) -> None:
        if self.in_transaction and node.kind in _ENDS_TRANSACTION:
            self.flag("transaction-control", why=_ENDS_TRANSACTION[node.kind])

    def _AlterTableStmt(self, node: ast.AlterTableStmt) -> None:
        if node.objtype != ObjectType.OBJECT_TABLE:
            return
        key, shown = _key(node.relation), _shown(node.relation)
        busy = self.is_existing(key)
        for cmd in node.cmds:
            if cmd.subtype == AT.AT_AddColumn:
                self._add_column(key, shown, cmd.def_, busy)
            elif cmd.subtype == AT.AT_AddConstraint:
                self._add_constraint(key, shown, cmd.def_, busy)
            elif cmd.subtype == AT.AT_ValidateConstraint:
                column = self.not_null_checks.get((key, cmd.name))
                if column:
                    self.proven_not_null.add((key, column))
            elif cmd.subtype == AT.AT_AlterColumnType:
                self._char(cmd.def_.typeName)
                if busy:
                    self._alter_type(key, shown, cmd.name, cmd.def_)
            elif not busy:
                continue
            elif cmd.subtype == AT.AT_SetNotNull and (key, cmd.name) not in self.proven_not_null:
                self.flag("set-not-null", shown)
            elif cmd.subtype == AT.AT_DropColumn:
                self.flag("drop-column", shown)
            elif cmd.subtype in _REWRITING_COMMANDS:
                self.flag("full-table-rewrite", shown, _REWRITING_COMMANDS[cmd.subtype])

    def _add_column(self, key: str, shown: str, column: ast.ColumnDef, busy: bool) -> None:
        self._char(column.typeName)
        constraints = column.constraints or ()
        for constraint in constraints:
            self._add_constraint(key, shown, constraint, busy)
        if not busy:
            return
        kinds = {c.contype for c in constraints}
        default = next((c.raw_expr for c in constraints
                        if c.contype == ConstrType.CONSTR_DEFAULT), None)
        stored = any(c.contype == ConstrType.CONSTR_GENERATED and c.generated_kind == "s"
                     for c in constraints)
        if _type(column.typeName)[0] in SERIAL_TYPES:
            self.flag("volatile-default", shown, "serial: its default nextval() is volatile")
        elif stored or ConstrType.CONSTR_IDENTITY in kinds:
            self.flag("generated-column", shown, "a value computed for every existing row")
        elif default is not None:
            self._default(shown, default)
        elif ConstrType.CONSTR_NOTNULL in kinds or column.is_not_null:
            self.flag("required-column", shown)

    def _default(self, shown: str, default: ast.Node) -> None:
        volatile, unknown = functions_by_volatility(default)
        if volatile:
            self.flag("volatile-default", shown, f"{volatile[0]}() is volatile")
        elif unknown:
            self.flag("volatile-default", shown, duration=(
                f"if {unknown[0]}() is volatile (the linter does not know it: check "
                f"pg_proc.provolatile), for a rewrite of the whole table and every index: "
                f"grows with the table's size"))

    def _add_constraint(self, key: str, shown: str, constraint: ast.Constraint,
                        busy: bool) -> None:
        kind = constraint.contype
        column = _not_null_column(constraint.raw_expr) if kind == ConstrType.CONSTR_CHECK else None
        if column and constraint.conname:
            self.not_null_checks[(key, constraint.conname)] = column
        if column and not constraint.skip_validation:
            self.proven_not_null.add((key, column))
        if not busy:
            return
        if kind in _VALIDATED and not constraint.skip_validation:
            if kind == ConstrType.CONSTR_FOREIGN:
                ref = _shown(constraint.pktable)
                self.flag("constraint-not-valid", shown,
                          lock=f"SHARE ROW EXCLUSIVE lock on {shown} and on {ref} "
                               f"(blocks INSERT/UPDATE/DELETE on both)",
                          safe_form="add_foreign_key(...): " + _NOT_VALID_THEN_VALIDATE)
            else:
                self.flag("constraint-not-valid", shown)
        elif kind in _INDEX_BACKED and not constraint.indexname:
            self.flag("unique-constraint", shown)

    def _alter_type(self, key: str, shown: str, column: str, definition: ast.ColumnDef) -> None:
        old_name = self.column_types(key, column)
        old = _type_from_text(old_name) if old_name else None
        new = _type(definition.typeName)
        if old and definition.raw_default is None and _no_rewrite(old, new):
            return
        why = (f"{old_name} to {_type_text(new)}" if old
               else f"if it rewrites: the current type of {column} is unknown, so it may")
        self.flag("column-type-rewrite", shown, why)

    def _char(self, type_name: ast.TypeName | None) -> None:
        if type_name is not None and _type(type_name)[0] == "bpchar":
            self.flag("char-column")


def tables_in(sql: str) -> list[str]:
    """The tables `sql` names (lower case, no schema); [] when it does not parse."""
    found = []
    for _, node in _parse(sql):
        if isinstance(node, ParseError):
            continue
        for item in walk(node):
            if isinstance(item, ast.RangeVar) and _key(item) not in found:
                found.append(_key(item))
    return found


def _key(relation: ast.RangeVar) -> str:
    """How `existing_tables` names a table: lower case, unquoted, no schema."""
    return relation.relname.lower()


def _shown(relation: ast.RangeVar) -> str:
    name = f'"{relation.relname}"'
    return f'"{relation.schemaname}".{name}' if relation.schemaname else name


def walk(node):
    """`node` and every node below it."""
    if isinstance(node, tuple):
        for item in node:
            yield from walk(item)
    elif isinstance(node, ast.Node):
        yield node
        for attribute in node.__slots__:
            yield from walk(getattr(node, attribute))


def functions_by_volatility(expression: ast.Node) -> tuple[list[str], list[str]]:
    """The functions `expression` calls that are volatile, and those this linter does not
    know (either may make a default be evaluated per row)."""
    names = [_function(n) for n in walk(expression) if isinstance(n, ast.FuncCall)]
    return ([n for n in names if n in VOLATILE_FUNCTIONS],
            [n for n in names if n not in VOLATILE_FUNCTIONS | NON_VOLATILE_FUNCTIONS])


def _function(call: ast.FuncCall) -> str:
    return call.funcname[-1].sval.lower()


def _not_null_column(expression: ast.Node | None) -> str | None:
    """The column a CHECK (col IS NOT NULL) is about, else None."""
    if (isinstance(expression, ast.NullTest) and expression.nulltesttype == NullTestType.IS_NOT_NULL
            and isinstance(expression.arg, ast.ColumnRef)):
        return expression.arg.fields[-1].sval
    return None


Type = tuple[str, tuple[int, ...] | None]  # name without pg_catalog, integer modifiers


def _type(type_name: ast.TypeName) -> Type:
    name = type_name.names[-1].sval + "[]" * len(type_name.arrayBounds or ())
    mods = tuple(m.val.ival for m in type_name.typmods or ()
                 if isinstance(m, ast.A_Const) and isinstance(m.val, ast.Integer))
    if len(mods) != len(type_name.typmods or ()):
        return name, None  # modifiers that are not plain integers: compare nothing
    if name == "numeric" and len(mods) == 1:
        mods += (0,)  # numeric(p) is numeric(p, 0)
    return name, mods


def _type_from_text(text: str) -> Type | None:
    """A type as format_type prints it (`character varying(200)`), read by PostgreSQL's grammar."""
    try:
        cast = parse_sql(f"SELECT NULL::{text}")[0].stmt.targetList[0].val
    except (ParseError, IndexError, AttributeError):
        return None
    return _type(cast.typeName) if isinstance(cast, ast.TypeCast) else None


def _type_text(kind: Type) -> str:
    name, mods = kind
    return f"{name}({', '.join(map(str, mods))})" if mods else name


def _no_rewrite(old: Type, new: Type) -> bool:
    """Whether PostgreSQL changes `old` to `new` in the catalogue only (no rewrite)."""
    (old_name, old_mods), (new_name, new_mods) = old, new
    if old_mods is None or new_mods is None:
        return False
    if old == new or (old_name, new) in (("varchar", ("text", ())), ("text", ("varchar", ()))):
        return True
    if old_name != new_name or old_name not in ("varchar", "numeric"):
        return False
    if not new_mods:
        return True  # varchar(n) -> varchar, numeric(p, s) -> numeric
    if not old_mods:
        return False
    if old_name == "varchar":
        return new_mods[0] >= old_mods[0]
    return new_mods[0] >= old_mods[0] and new_mods[1] == old_mods[1]
