"""`flask db create NAME --auto`: a revision drafted from what the models change.

The revisions on disk are replayed without running them (peewee-migrate's fake run)
into the migrator's model state; the models are compared with it table by table, by
column name and by the name of each index and CHECK (deepref.migrate.shape). Each
difference becomes a Change: what migrate() does and what rollback() does to undo it,
with the safe forms of deepref.migrate.ops, so the draft passes `flask db lint` except
for what must be accepted (a drop, a rename), which the author confirms in LINT_ACCEPT.

A column gone and another of the same type new may be a rename: the draft is refused
until the author says which (`--rename table.old:new` or `--drop table.old`). Whatever
cannot be drafted right is refused, every case at once, each with what to do instead.
"""

from __future__ import annotations

from pathlib import Path

import peewee as pw
from peewee_migrate import Migrator

from deepref.db import PostgresDatabase, first_line
from deepref.exceptions import UsageError
from deepref.migrate import draft_code, draft_file, shape
from deepref.migrate.draft_code import OPS_MODULE, Change, Code, call, specs, text
from deepref.migrate.draft_table import TableDiff
from deepref.migrate.history import BOOKKEEPING
from deepref.migrate.runner import MigrationError, _router, available


class CannotDraft(MigrationError):
    """Changes in the models a draft would get wrong; each line says which and what to do."""


def replay(db: pw.Database, directory: Path) -> Migrator:
    """The migrator's model state after every revision on disk, none of them run, its
    models bound to `db`. Replayed as on PostgreSQL (production), whatever `db` is, so
    what revisions do only there (GIN indexes) is in the state too."""
    production = PostgresDatabase("deepref_draft", autoconnect=False)  # never connected
    router, migrator = _router(production, directory), Migrator(production)
    for name in available(directory):
        try:
            router.run_one(name, migrator, fake=True)
        except Exception as exc:  # a revision that does not load or replay
            raise MigrationError(f"cannot read {name} to draft after it: "
                                 f"{type(exc).__name__}: {first_line(exc)}") from None
    for model in migrator.orm:
        model.bind(db, bind_refs=False, bind_backrefs=False)
    return migrator


def draft(db: pw.Database, directory: Path, models, title: str, renames=(), drops=(),
          sql_indexes=None) -> str | None:
    """The text of a revision taking the revisions on disk to `models`, or None when they
    agree. `renames`: "table.old:new"; `drops`: "table.column" or "table" (see module);
    `sql_indexes`: {model: [CREATE INDEX ...]} built on PostgreSQL only (None: leave
    such indexes out of the comparison)."""
    planner = _Planner(models, list(replay(db, directory).orm), _Hints(renames, drops),
                       sql_indexes)
    changes = planner.plan()
    return draft_file.text_of(title, changes, planner) if changes else None


class _Hints:
    """--rename and --drop, checked against what the models actually change."""

    def __init__(self, renames, drops):
        self.renames: dict[tuple[str, str], str] = {}
        for hint in renames:
            where, _, new = hint.partition(":")
            table, _, old = where.rpartition(".")
            if not (table and old and new):
                raise UsageError(f"--rename {hint}: write it TABLE.OLD:NEW (e.g. users.nick:name)")
            self.renames[(table, old)] = new
        self.drops = {tuple(hint.split(".", 1)) for hint in drops}
        self.used: set = set()

    def check_all_used(self) -> None:
        for (table, old), new in self.renames.items():
            if ((table, old), new) not in self.used:
                raise UsageError(f"--rename {table}.{old}:{new}: the models do not drop column "
                                 f"{old} of {table} and add {new}")
        for hint in self.drops - self.used:
            raise UsageError(f"--drop {'.'.join(hint)}: the models do not drop it")


class _Planner:
    """Compares the models with the model state and collects Changes and refusals."""

    def __init__(self, models, source, hints: _Hints, sql_indexes=None):
        self.target = {m._meta.table_name: m for m in models
                       if m._meta.table_name not in BOOKKEEPING}
        self.sql_indexes = sql_indexes
        self.sql_wanted: dict[str, dict[str, str]] | None = None
        self.current = {m._meta.table_name: m for m in source}
        self.hints, self.problems, self.code = hints, [], Code()
        self.created = {t: m.__name__ for t, m in self.target.items() if t not in self.current}
        self.recreated = {t: m.__name__ for t, m in self.current.items() if t not in self.target}

    def plan(self) -> list[Change]:
        changes = []
        if self.sql_indexes is not None:
            self.sql_wanted = {}
            for model, statements in self.sql_indexes.items():
                try:
                    found = shape.sql_indexes(statements)
                except shape.Unsupported as problem:
                    self.problems.append(str(problem))
                    continue
                self.sql_wanted.setdefault(model._meta.table_name, {}).update(found)
        self._renamed_tables()
        for model in pw.sort_models([self.target[t] for t in self.created]):
            changes += self._guard(self._create_table, model)
        for table in sorted(self.target.keys() & self.current.keys()):
            changes += self._guard(self._table, self.target[table], self.current[table])
        for model in reversed(pw.sort_models([self.current[t] for t in self.recreated])):
            changes += self._guard(self._drop_table, model)
        if self.problems:
            raise CannotDraft("\n".join(
                ["Cannot draft this revision; nothing was written:"]
                + [f"  {line}" for line in self.problems]))
        self.hints.check_all_used()
        return changes

    def _guard(self, plan, *args) -> list[Change]:
        try:
            return plan(*args)
        except shape.Unsupported as problem:
            self.problems.append(str(problem))
            return []

    def namer(self, refs: set[str], local: dict[str, str]):
        """How code names a table's model: a class made earlier in the same function, or
        a variable holding migrator.orm[table] (recorded in `refs`)."""
        def name(table: str) -> str:
            if table in local:
                return local[table]
            refs.add(table)
            return self.variable(table)
        return name

    def variable(self, table: str) -> str:
        taken = {*self.created.values(), *self.recreated.values(), "migrator", "database", "pw",
                 "fake", *(name for _, name in self.code.imports)}
        return draft_code.variable(table, taken)

    # Tables ------------------------------------------------------------------------

    def _renamed_tables(self) -> None:
        for gone in list(self.recreated):
            if (gone,) in self.hints.drops:
                self.hints.used.add((gone,))
                continue
            same = [new for new in self.created
                    if set(shape.columns(self.target[new])) == set(shape.columns(self.current[gone]))]
            if same:
                self.problems.append(
                    f"table {gone} is gone and {same[0]} is new, with the same columns: a renamed "
                    f"table is not drafted (write migrator.rename_table by hand); if {gone} "
                    f"goes, say --drop {gone} (its rows are lost)")

    def _create_table(self, model) -> list[Change]:
        table, refs = model._meta.table_name, set()
        lines = draft_code.model(self.code, model, shape.checks(model),
                                 self.namer(refs, self.created), self.created[table])
        lines += self._declared(shape.indexes(model).values())
        for name, target in (self.sql_wanted or {}).get(table, {}).items():
            lines += ["", *draft_code.sql_index(self.code, name, target)]
        return [Change(f"creates table {table}", lines, [f"migrator.remove_model({text(table)})"],
                       refs=refs)]

    def _declared(self, indexes) -> list[str]:
        indexes = list(indexes)
        if not indexes:
            return []
        return ["", *call(self.code.use(OPS_MODULE, "declare_indexes"), "migrator",
                          lines=specs(indexes))]

    def _drop_table(self, model) -> list[Change]:
        table, refs = model._meta.table_name, set()
        users = [t for t, m in self.target.items() for f in m._meta.refs
                 if f.rel_model._meta.table_name == table]
        if users:
            raise shape.Unsupported(f"table {table} is gone but {users[0]} still refers to it")
        lines = draft_code.model(self.code, model, shape.checks(model),
                                 self.namer(refs, self.recreated), self.recreated[table])
        lines += self._declared(shape.indexes(model).values())
        if self.sql_wanted is not None:
            for name, target in shape.state_sql_indexes(model).items():
                lines += ["", *draft_code.sql_index(self.code, name, target)]
        return [Change(
            f"drops table {table}", [f"migrator.remove_model({text(table)})"], lines,
            notes=[f"Drops table {table} and every row in it; a rollback makes it again, empty."],
            accept={"drop-table": f"nothing uses {table} since release N"}, back_refs=refs)]

    def _table(self, model, source) -> list[Change]:
        return TableDiff(self, model, source).changes()
