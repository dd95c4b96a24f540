"""Recording the audit trail: snapshots of rows, their differences, one AuditLog row each.

Callers run `record` inside the same transaction as the change it describes, so a
change and its audit row are committed, or rolled back, together.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

from deepref.models import AuditLog

MASK = "***"
# Never copied into the audit log, whatever the value (a share token opens a bundle).
SECRET_FIELDS = frozenset({"password_hash", "system_prompt", "share_token", "second_factor"})


def jsonable(value):
    """A value as JSON can hold it (ids and timestamps as text, decimals as numbers)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return str(value)


def snapshot(instance) -> dict:
    """The row's column values as stored (foreign keys as ids), secrets masked."""
    data = {}
    for field in instance._meta.sorted_fields:
        value = instance.__data__.get(field.name)
        if field.name in SECRET_FIELDS:
            data[field.name] = MASK if value is not None else None
            # A private fingerprint (never stored), so a changed secret shows as changed.
            data[f"__{field.name}"] = _fingerprint(instance, field.name, value)
        else:
            data[field.name] = jsonable(value)
    return data


def _fingerprint(instance, name: str, value) -> int:
    try:
        plain = getattr(instance, name)  # an encrypted column reads as its plain text
    except Exception:  # noqa: BLE001 - undecryptable: compare the stored value
        plain = value
    return hash(plain)


def diff(before: dict, after: dict) -> dict:
    """{field: [before, after]} for every field whose value changed."""
    changes = {}
    for name in after.keys() | before.keys():
        if name.startswith("__"):
            continue
        old, new = before.get(name), after.get(name)
        if name in SECRET_FIELDS:
            if before.get(f"__{name}") != after.get(f"__{name}"):
                changes[name] = [old, new]
        elif old != new:
            changes[name] = [old, new]
    return changes


def created(after: dict) -> dict:
    return {k: [None, v] for k, v in after.items() if not k.startswith("__") and v is not None}


def deleted(before: dict) -> dict:
    return {k: [v, None] for k, v in before.items() if not k.startswith("__") and v is not None}


def row_key(instance) -> str:
    """The row's primary key as text (composite keys joined with '/')."""
    meta = instance._meta
    if meta.composite_key:
        return "/".join(str(instance.__data__.get(n)) for n in meta.primary_key.field_names)
    return str(instance.__data__.get(meta.primary_key.name))


def _actor():
    try:
        from deepref.auth import current_user
    except ImportError:  # sign-in not wired (e.g. a bare script)
        return None
    return current_user()


def record(action: str, table: str, row_id: str | None, changes: dict) -> AuditLog:
    """Write one audit row for the signed-in user (call inside the change's transaction)."""
    user = _actor()
    return AuditLog.create(
        user=user.id if user is not None else None,
        actor_email=user.email if user is not None else None,
        action=action,
        table_name=table,
        row_id=row_id,
        changes=changes,
    )
