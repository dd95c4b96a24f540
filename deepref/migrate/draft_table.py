"""One table's differences between the models and the model state, as drafted Changes.

migrate() makes them in this order: indexes, CHECKs and foreign keys that go; renames;
columns that go; columns that come; columns that change; then foreign keys, CHECKs and
indexes that come. So an index goes before its column and comes after it, and rollback,
undoing each change in reverse order, finds every name as it left it.
"""

from __future__ import annotations

from dataclasses import replace

from deepref.migrate import draft_code, shape
from deepref.migrate.draft_code import OPS_MODULE, Change, call, specs, text

ORDER = ("drop_indexes", "drop_checks", "drop_keys", "renames", "drop_columns", "add_columns",
         "alter_columns", "add_keys", "add_checks", "add_indexes")
# Types that grow without a rewrite on PostgreSQL: (from, to), modifiers compared apart.
_WIDER = {("VARCHAR", "VARCHAR"), ("VARCHAR", "TEXT"), ("DECIMAL", "DECIMAL")}


class TableDiff:
    """The Changes for one table that is both in the models and in the model state."""

    def __init__(self, planner, model, source):
        self.planner, self.model, self.source = planner, model, source
        self.table = model._meta.table_name
        self.want, self.have = shape.columns(model), shape.columns(source)
        self.renames: dict[str, str] = {}  # old column -> new column
        self.buckets: dict[str, list[Change]] = {name: [] for name in ORDER}

    def changes(self) -> list[Change]:
        if shape.primary_key(self.model) != shape.primary_key(self.source):
            raise shape.Unsupported(f"{self.table}: its primary key changes: write it by hand")
        gone, new = self._renames()
        for old, column in self.renames.items():
            self.buckets["renames"].append(self._rename(old, column))
        self.buckets["drop_columns"] += [self._drop_column(c) for c in gone]
        self.buckets["add_columns"] += [self._add_column(c) for c in new]
        for column, want in self.want.items():
            old = next((o for o, n in self.renames.items() if n == column), column)
            if old in self.have:
                self._alter(column, old)
                self._foreign_key(column, old)
        for part in (self._checks, self._indexes, self._sql_indexes):
            try:
                part()
            except shape.Unsupported as problem:
                self.planner.problems.append(str(problem))
        return [change for name in ORDER for change in self.buckets[name] if change]

    def problem(self, line: str) -> None:
        self.planner.problems.append(f"{self.table}.{line}")

    def use(self, name: str) -> str:
        return self.planner.code.use(OPS_MODULE, name)

    def field(self, field, refs: set[str], null: bool | None = None) -> str:
        return draft_code.field_call(self.planner.code, field, self.planner.namer(refs, {}), null)

    # Columns -----------------------------------------------------------------------

    def _renames(self) -> tuple[list[str], list[str]]:
        """Columns gone and new that are not renames; refuses what may be a rename."""
        hints = self.planner.hints
        gone = [c for c in self.have if c not in self.want]
        new = [c for c in self.want if c not in self.have]
        for (table, old), column in hints.renames.items():
            if table == self.table and old in gone and column in new:
                self.renames[old] = column
                hints.used.add(((table, old), column))
        gone = [c for c in gone if c not in self.renames]
        new = [c for c in new if c not in self.renames.values()]
        for old in gone:
            if (self.table, old) in hints.drops:
                hints.used.add((self.table, old))
                continue
            alike = [c for c in new if self.want[c].type[0] == self.have[old].type[0]]
            if alike:
                self.problem(
                    f"{old} is gone and {' and '.join(alike)} new, of the same type: if {old} was "
                    f"renamed, say --rename {self.table}.{old}:{alike[0]} (its values are kept); "
                    f"if it goes, say --drop {self.table}.{old} (its values are lost)")
        return gone, new

    def _rename(self, old: str, column: str) -> Change | None:
        before, after = self.source._meta.columns[old], self.model._meta.columns[column]
        for field in (before, after):
            if field.column_name != (f"{field.name}_id" if self.want[column].foreign_key
                                     else field.name):
                self.problem(f"{field.column_name}: a renamed column is drafted only when its "
                             "name is its field's (plus _id for a foreign key): write it by hand")
                return None
        t = text(self.table)
        return Change(
            f"renames {self.table}.{old} to {column}",
            [f"migrator.rename_field({t}, {text(before.name)}, {text(after.name)})"],
            [f"migrator.rename_field({t}, {text(after.name)}, {text(before.name)})"],
            notes=[f"Renames {self.table}.{old} to {column}, values kept. App servers still "
                   f"running code that uses {old} fail until they are redeployed."],
            accept={"rename": f"every app server reads {self.table}.{column} since release N"})

    def _add_column(self, column: str) -> Change | None:
        field, want = self.model._meta.columns[column], self.want[column]
        if want.primary_key:
            return self.problem(f"{column}: a new primary key column: write it by hand")
        if not field.null and want.default is None:
            return self.problem(
                f"{column}: a NOT NULL column needs a server default for the rows already there "
                "(constraints=server_default(...)), or null=True then backfill(...) and "
                "set_not_null(...) by hand")
        if want.default is not None and shape.volatile(want.default):
            return self.problem(
                f"{column}: its server default ({want.default}) may be volatile, which rewrites "
                "the table: add it NULL, fill it with backfill(...), then set_not_null(...), "
                "by hand")
        if want.foreign_key and want.foreign_key.name is None:
            return self.problem(f"{column}: name its foreign key (deepref.models.base.foreign_key)")
        refs, t = set(), text(self.table)
        forward = [f"{self.use('add_column')}(migrator, {t}, {text(field.name)}, "
                   f"{self.field(field, refs)})"]
        backward = [f"migrator.remove_fields({t}, {text(field.name)})"]
        if want.foreign_key:
            backward.insert(0, self._drop_key(want.foreign_key.name))
        return Change(f"adds {self.table}.{column}", forward, backward, refs=refs)

    def _drop_column(self, column: str) -> Change | None:
        field, have = self.source._meta.columns[column], self.have[column]
        if have.foreign_key and have.foreign_key.name is None:
            return self.problem(f"{column}: its foreign key has no name to drop it by: "
                                "write it by hand")
        refs, t = set(), text(self.table)
        lost = not field.null and have.default is None
        forward = [f"migrator.remove_fields({t}, {text(field.name)})"]
        if have.foreign_key:
            forward.insert(0, self._drop_key(have.foreign_key.name))
        backward = [f"{self.use('add_column')}(migrator, {t}, {text(field.name)}, "
                    f"{self.field(field, refs, null=True if lost else None)})"]
        back = ("empty, and NULL-able: it was NOT NULL without a server default" if lost
                else "holding its server default" if have.default else "empty")
        return Change(
            f"drops {self.table}.{column}", forward, backward,
            notes=[f"Drops {self.table}.{column} and every value in it; a rollback brings the "
                   f"column back {back}."],
            accept={"drop-column": f"nothing reads {self.table}.{column} since release N"},
            back_refs=refs)

    def _alter(self, column: str, old: str) -> None:
        have, want = self.have[old], self.want[column]
        if (have.primary_key, have.extra) != (want.primary_key, want.extra):
            return self.problem(f"{column}: its definition changes beyond type, NULL and server "
                                f"default ({have.extra} to {want.extra}): write it by hand")
        if have.type != want.type and not _widens(have.type, want.type):
            return self.problem(
                f"{column}: {_type(have.type)} to {_type(want.type)} is not a widening: it "
                "rewrites the table under an exclusive lock and may fail or cut values; add a "
                "new column, backfill(...) it, switch the code, drop the old one later")
        if (have.type, have.null) == (want.type, want.null) and have.same_default(want):
            return None
        refs, back_refs, t = set(), set(), text(self.table)
        new, before = self.model._meta.columns[column], self.source._meta.columns[old]
        change = Change(
            f"changes {self.table}.{column}" + _what(have, want),
            [f"{self.use('alter_column')}(migrator, {t}, {text(column)}, {self.field(new, refs)})"],
            [f"{self.use('alter_column')}(migrator, {t}, {text(column)}, "
             f"{self.field(before, back_refs)})"], refs=refs, back_refs=back_refs)
        if have.null and not want.null:
            change.notes.append(f"SET NOT NULL fails if a row holds NULL in {self.table}.{column}: "
                                "fill those first (backfill).")
        if want.null and not have.null:
            change.back_notes.append("SET NOT NULL fails if a row got NULL there meanwhile.")
        if have.type != want.type:
            change.back_notes.append(f"Narrowing {self.table}.{column} back fails if a longer "
                                     "value was stored meanwhile, and rewrites the table.")
        self.buckets["alter_columns"].append(change)

    # Constraints and indexes --------------------------------------------------------

    def _drop_key(self, name: str) -> str:
        return f"{self.use('drop_foreign_key')}(migrator, {text(self.table)}, {text(name)})"

    def _add_key(self, column: str, key: shape.ForeignKey) -> str:
        return (f"{self.use('add_foreign_key')}(migrator, {text(self.table)}, {text(column)}, "
                f"{text(key.to_table)}, {text(key.name)}, on_delete={text(key.on_delete)}"
                + (f", to_column={text(key.to_column)})" if key.to_column != "id" else ")"))

    def _foreign_key(self, column: str, old: str) -> None:
        before, after = self.have[old].foreign_key, self.want[column].foreign_key
        if before == after:
            return None
        if before is None or after is None or (before.to_table, before.to_column,
                                               before.on_update) != (
                after.to_table, after.to_column, after.on_update):
            return self.problem(f"{column}: its foreign key comes, goes, points elsewhere or "
                                "changes ON UPDATE: write it by hand")
        if before.name is None or after.name is None:
            return self.problem(f"{column}: name its foreign key (deepref.models.base.foreign_key)"
                                " so a revision can drop and add it")
        self.buckets["drop_keys"].append(Change(
            f"drops foreign key {before.name}", [self._drop_key(before.name)],
            [self._add_key(old, before)]))
        self.buckets["add_keys"].append(Change(
            f"adds foreign key {after.name} ({self.table}.{column} ON DELETE {after.on_delete})",
            [self._add_key(column, after)], [self._drop_key(after.name)]))

    def _checks(self) -> None:
        want, have, t = shape.checks(self.model), shape.checks(self.source), text(self.table)
        for name, body in have.items():
            if name not in want or not shape.same_check(body, want[name]):
                self.buckets["drop_checks"].append(Change(
                    f"drops CHECK {name}", [f"{self.use('drop_check')}(migrator, {t}, {text(name)})"],
                    [f"{self.use('add_check')}(migrator, {t}, {text(name)}, {text(body)})"]))
        for name, body in want.items():
            if name not in have or not shape.same_check(body, have[name]):
                self.buckets["add_checks"].append(Change(
                    f"adds CHECK {name} ({body})",
                    [f"{self.use('add_check')}(migrator, {t}, {text(name)}, {text(body)})"],
                    [f"{self.use('drop_check')}(migrator, {t}, {text(name)})"]))

    def _indexes(self) -> None:
        want, have = shape.indexes(self.model), shape.indexes(self.source)
        renamed = {name: replace(index, columns=tuple(self.renames.get(c, c) for c in index.columns))
                   for name, index in have.items()}
        gone = [have[n] for n in have if n not in want or not shape.same_index(renamed[n], want[n])]
        new = [want[n] for n in want if n not in have or not shape.same_index(renamed[n], want[n])]
        if gone:
            self.buckets["drop_indexes"].append(Change(
                "drops index " + ", ".join(i.name for i in gone),
                call(self.use("drop_indexes"), "migrator", lines=specs(gone), tail="concurrently=True"),
                call(self.use("create_indexes"), "migrator", "database", lines=specs(gone),
                     tail="concurrently=True")))
        for index in new:
            unique = " unique" if index.unique else ""
            if index.unique and index.where is None:
                forward = [f"{self.use('add_unique')}(migrator, database, {text(self.table)}, "
                           f"{text(index.name)}, {text(index.columns)})"]
            else:
                forward = call(self.use("create_indexes"), "migrator", "database",
                               lines=specs([index]), tail="concurrently=True")
            self.buckets["add_indexes"].append(Change(
                f"adds{unique} index {index.name} on {self.table} ({', '.join(index.columns)})",
                forward, call(self.use("drop_indexes"), "migrator", lines=specs([index]),
                              tail="concurrently=True")))


    def _sql_indexes(self) -> None:
        """Indexes declared as SQL (PostgreSQL only): compared by name, PostgreSQL's own
        spelling of a definition being out of reach without a server."""
        wanted = self.planner.sql_wanted
        if wanted is None:
            return
        want, have = wanted.get(self.table, {}), shape.state_sql_indexes(self.source)
        code = self.planner.code
        for name in sorted(have.keys() - want.keys()):
            self.buckets["drop_indexes"].append(Change(
                f"drops index {name} (PostgreSQL only)", draft_code.sql_index(code, name, None),
                draft_code.sql_index(code, name, have[name])))
        for name in sorted(want.keys() - have.keys()):
            self.buckets["add_indexes"].append(Change(
                f"adds index {name} (PostgreSQL only)", draft_code.sql_index(code, name, want[name]),
                draft_code.sql_index(code, name, None)))


def _widens(old: tuple, new: tuple) -> bool:
    """Whether PostgreSQL changes `old` to `new` in the catalogue only (no rewrite)."""
    (old_name, old_mods), (new_name, new_mods) = old, new
    if (old_name, new_name) not in _WIDER:
        return False
    if new_name == "TEXT" or not new_mods:
        return True
    if not old_mods:
        return False
    return new_mods[0] >= old_mods[0] and new_mods[1:] == old_mods[1:]


def _type(kind: tuple) -> str:
    name, mods = kind
    return f"{name}({', '.join(map(str, mods))})" if mods else name


def _what(have: shape.Column, want: shape.Column) -> str:
    parts = []
    if have.type != want.type:
        parts.append(f"{_type(have.type)} to {_type(want.type)}")
    if have.null != want.null:
        parts.append("NULL" if want.null else "NOT NULL")
    if not have.same_default(want):
        parts.append(f"default {want.default}" if want.default else "no default")
    return f" ({', '.join(parts)})"
