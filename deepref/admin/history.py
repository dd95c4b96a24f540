"""A record's history (its audit rows, newest first) and reverting one change of it.

A revert applies a change's "before" values only if the row still holds its "after"
values: otherwise it refuses and shows what differs. It runs in one transaction with
the row locked, through the view's own rules (e.g. the last admin stays an admin), and
is itself recorded (an "update" whose changes name the entry it undid, under REVERTS). Creates and deletes are
not reverted (delete the record, or re-create it); nor are changes to secrets, whose
earlier values the audit log never keeps.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

import peewee as pw

from deepref.admin import errors, labels, trail
from deepref.models import AuditLog
from deepref.models.fields import TimestampField

REVERTIBLE = ("update", "bulk")
REVERTS = "__reverts"  # the key of a revert's changes naming the entry it undid
HISTORY_LIMIT = 200


def entries(table: str, row_id: str) -> list[AuditLog]:
    """The audit rows of one record, newest first (served by ix_audit_log_table_name_row_id)."""
    return list(AuditLog.select()
                .where((AuditLog.table_name == table) & (AuditLog.row_id == row_id))
                .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
                .limit(HISTORY_LIMIT))


def field_changes(entry: AuditLog) -> list[tuple[str, str, object, object]]:
    """[(column, label, before, after)] of an entry, in a stable order."""
    rows = []
    for name in sorted(entry.changes or {}):
        if name.startswith("__"):
            continue
        pair = entry.changes[name]
        before, after = (list(pair) + [None, None])[:2] if isinstance(pair, list) else (None, pair)
        rows.append((name, labels.label(entry.table_name, name), before, after))
    return rows


def reverted_entry(entry: AuditLog) -> str | None:
    pair = (entry.changes or {}).get(REVERTS)
    return pair[1] if isinstance(pair, list) and len(pair) == 2 else None


def why_not_revertible(entry: AuditLog, view) -> str | None:
    """Why this change cannot be reverted at all (whatever the row holds now), or None."""
    model = view.model
    if entry.action not in REVERTIBLE:
        return {"create": "A creation is undone by deleting the record.",
                "delete": "A deleted record cannot be brought back from here.",
                }.get(entry.action, "This entry is not a change that can be reverted.")
    secret = [n for n, *_ in field_changes(entry) if n in trail.SECRET_FIELDS]
    if secret:
        names = ", ".join(labels.label(entry.table_name, n) for n in secret)
        return f"It changed a secret ({names}) whose earlier value is never kept."
    unknown = [n for n, *_ in field_changes(entry)
               if n not in model._meta.fields and n not in view.related_fields]
    if unknown:
        return f"It names fields this table no longer has ({', '.join(unknown)})."
    return None


def from_json(field, value):
    """An audit value (as JSON holds it) back as the field's Python value."""
    if value is None:
        return None
    if isinstance(field, TimestampField):
        return dt.datetime.fromisoformat(value)
    if isinstance(field, pw.DecimalField):
        return decimal.Decimal(str(value))
    if isinstance(field, (pw.UUIDField, pw.ForeignKeyField)) and isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            return value
    return value


class Differs(errors.FriendlyError):
    """The row no longer holds the values the change left: [(label, expected, now)]."""

    def __init__(self, differences):
        super().__init__("This change cannot be reverted: the record has changed since. "
                         "Nothing was changed.")
        self.differences = differences


def revert(view, entry: AuditLog):
    """Apply `entry`'s before values to its row, in one transaction; the row.

    Raises FriendlyError (Differs when the row has moved on) and changes nothing then.
    """
    model = view.model
    problem = why_not_revertible(entry, view)
    if problem:
        raise errors.FriendlyError(f"This change cannot be reverted. {problem}")
    with view.database.write_transaction():
        pk = model._meta.primary_key
        row = view.database.for_update(model.select().where(pk == entry.row_id)).first()
        if row is None:
            raise errors.FriendlyError("This record has been deleted since; nothing to revert.")
        now = trail.snapshot(row)
        related_now = view.related_snapshot(row) if "links" in entry.changes else None
        differences = []
        for name, label, _before, after in field_changes(entry):
            current = related_now if name == "links" else now.get(name)
            if current != after:
                differences.append((label, after, current))
        if differences:
            raise Differs(differences)
        for name, _label, before, _after in field_changes(entry):
            if name != "links":
                setattr(row, name, from_json(model._meta.fields[name], before))
        view.on_revert(row)
        row.save()
        changes = {name: [after, before] for name, _label, before, after in field_changes(entry)
                   if name != "links"}
        if "links" in entry.changes:
            changes["links"] = [entry.changes["links"][1], view.restore_related(row, entry.changes["links"][0])]
        changes.update(view.after_revert(row))
        changes[REVERTS] = [None, str(entry.id)]
        trail.record("update", model._meta.table_name, trail.row_key(row), changes)
    return row


# -- labels of the records an entry mentions -------------------------------------------

def record_labels(model, ids) -> dict[str, str]:
    """{id: label} of `model`'s rows among `ids`, in one query (missing rows: none)."""
    from deepref.admin.listing import LABEL_COLUMNS

    pk = model._meta.primary_key
    valid = [i for i in {str(i) for i in ids if i} if _is_uuid(i)]
    if not valid or model._meta.composite_key:
        return {}
    columns = [pk] + [model._meta.fields[c] for c in LABEL_COLUMNS.get(model, ())]
    return {str(row.get_id()): str(row) for row in model.select(*columns).where(pk.in_(valid))}


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
