"""Deletes that follow the database's own rules, and what they would take with them.

Flask-Admin's peewee backend deletes dependents itself (`recursive=True`); here a delete
is one plain `DELETE ... WHERE id = ...`, so ON DELETE CASCADE, SET NULL and NO ACTION
apply exactly as SCHEMA.md declares. These helpers describe the consequences first.
"""

from __future__ import annotations

from dataclasses import dataclass

import peewee as pw

@dataclass
class Effect:
    """`count` rows of `table` that a delete would remove, unlink or be blocked by."""

    kind: str  # "delete", "unlink" or "block"
    table: str
    field: str
    count: int

    def sentence(self) -> str:
        rows = f"{self.count} {label(self.table, self.count)}"
        if self.kind == "delete":
            return rows
        if self.kind == "unlink":
            return f"{rows} (their {self.field.replace('_', ' ')} is cleared)"
        return f"{rows} (as {self.field.replace('_', ' ')})"


TABLE_LABELS = {
    "users": ("user", "users"),
    "references": ("reference", "references"),
    "bundles": ("bundle", "bundles"),
    "bundle_references": ("reference in a bundle", "references in bundles"),
    "kyc_documents": ("KYC document", "KYC documents"),
    "ai_prompts": ("AI prompt", "AI prompts"),
    "ai_sessions": ("AI session", "AI sessions"),
    "ai_interactions": ("AI interaction", "AI interactions"),
    "ai_finetune_datasets": ("fine-tune example", "fine-tune examples"),
    "audit_log": ("audit log entry", "audit log entries"),
    "user_roles": ("console role", "console roles"),
}


def label(table: str, count: int) -> str:
    singular, plural = TABLE_LABELS.get(table, (table, table))
    return singular if count == 1 else plural


def _pk_select(model, where) -> pw.ModelSelect:
    return model.select(model._meta.primary_key).where(where)


def _reachable(model) -> list:
    """`model` and every table that refers to it, directly or through others."""
    seen, stack = [], [model]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.append(current)
        stack.extend(current._meta.backrefs.values())
    return seen


def effects(model, pk_value) -> list[Effect]:
    """What deleting `model` row `pk_value` would delete, unlink, or be refused by.

    Tables are visited parents first, so a table reached by two paths (a link row of a
    deleted reference in a deleted bundle) is counted once, over both conditions.
    """
    deleted = {model: model._meta.primary_key == pk_value}
    unlink, block = [], []
    for current in pw.sort_models(_reachable(model)):
        if current not in deleted or current._meta.composite_key:
            continue
        parents = _pk_select(current, deleted[current])
        for fk, child in current._meta.backrefs.items():
            rule = (fk.on_delete or "NO ACTION").upper()
            condition = fk.in_(parents)
            if rule == "CASCADE":
                deleted[child] = (deleted[child] | condition) if child in deleted else condition
            elif rule == "SET NULL":
                unlink.append((child, fk, condition))
            else:  # NO ACTION / RESTRICT
                block.append((child, fk, condition))
    found = [Effect("delete", m._meta.table_name, "", m.select().where(w).count())
             for m, w in deleted.items() if m is not model]
    for kind, entries in (("unlink", unlink), ("block", block)):
        for child, fk, condition in entries:
            if child in deleted:  # rows deleted anyway neither keep a link nor block
                condition = condition & ~deleted[child]
            found.append(Effect(kind, child._meta.table_name, fk.name,
                                child.select().where(condition).count()))
    return [e for e in found if e.count]


def blockers(model, pk_value) -> list[Effect]:
    """Rows whose NO ACTION foreign keys would refuse the delete."""
    return [e for e in effects(model, pk_value) if e.kind == "block"]


def delete_row(model, pk_value) -> int:
    """One plain DELETE; the database applies its CASCADE / SET NULL / NO ACTION rules."""
    return model.delete().where(model._meta.primary_key == pk_value).execute()


def summary(found: list[Effect]) -> dict[str, list[str]]:
    """Sentences grouped by kind, for the confirmation page."""
    groups: dict[str, list[str]] = {"delete": [], "unlink": [], "block": []}
    for effect in found:
        groups[effect.kind].append(effect.sentence())
    return groups
