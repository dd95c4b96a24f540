"""Field types that behave the same on PostgreSQL and SQLite.

Revisions in migrations/ import these too, so keep their DDL stable: a change here
changes what an old revision would build.
"""

from __future__ import annotations

import datetime as dt
import uuid

import peewee as pw

from deepref.crypto import Sealed, cipher

UTC = dt.timezone.utc


def utcnow() -> dt.datetime:
    """The current time, timezone-aware, in UTC."""
    return dt.datetime.now(UTC)


def server_default(sql: str) -> list[pw.SQL]:
    """A column's DEFAULT clause, so rows inserted by plain SQL get the value too."""
    return [pw.SQL(f"DEFAULT {sql}")]


def flag_field(default: bool) -> pw.BooleanField:
    """A NOT NULL boolean with the same default in Python and in the database."""
    return pw.BooleanField(
        default=default, constraints=server_default("true" if default else "false")
    )


def choice_field(max_length: int, default: str | None = None) -> pw.CharField:
    """A varchar holding one of an enumeration (its CHECK lives on the table)."""
    if default is None:
        return pw.CharField(max_length=max_length)
    return pw.CharField(
        max_length=max_length, default=default, constraints=server_default(f"'{default}'")
    )


class UUIDKeyField(pw.UUIDField):
    """A uuid4 primary key; PostgreSQL also generates one for plain-SQL inserts."""

    def __init__(self, **kwargs):
        kwargs.setdefault("primary_key", True)
        kwargs.setdefault("default", uuid.uuid4)
        super().__init__(**kwargs)

    def ddl(self, ctx):
        node = super().ddl(ctx)
        default = self.model._meta.database.uuid_default
        if default:
            node.nodes.append(pw.SQL(f"DEFAULT {default}"))
        return node


class TimestampField(pw.Field):
    """`timestamptz` on PostgreSQL, UTC text on SQLite; always aware UTC in Python."""

    field_type = "TIMESTAMPTZ"

    def db_value(self, value):
        if value is None or isinstance(value, pw.Node):
            return value
        if isinstance(value, str):
            value = self._parse(value)
        if not isinstance(value, dt.datetime):
            raise ValueError(f"{self.name}: expected a datetime, got {type(value).__name__}")
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return self.model._meta.database.timestamp_value(value)

    def python_value(self, value):
        if value is None:
            return None
        if isinstance(value, str):
            value = self._parse(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @staticmethod
    def _parse(text: str) -> dt.datetime:
        return dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))


class CreatedAtField(TimestampField):
    """Set to now on insert, by the application or the database."""

    def __init__(self, **kwargs):
        kwargs.setdefault("default", utcnow)
        kwargs.setdefault("constraints", server_default("CURRENT_TIMESTAMP"))
        super().__init__(**kwargs)


class JSONObjectField(pw.JSONField):
    """`jsonb` on PostgreSQL, JSON text on SQLite; defaults to an empty object."""

    def __init__(self, **kwargs):
        kwargs.setdefault("default", dict)
        kwargs.setdefault("constraints", server_default("'{}'"))
        super().__init__(**kwargs)


class _DecryptingAccessor(pw.FieldAccessor):
    def __get__(self, instance, instance_type=None):
        if instance is None:
            return self.field
        value = instance.__data__.get(self.name)
        if isinstance(value, Sealed):
            return value.reveal(self.field.label_of(instance))
        return value


class EncryptedTextField(pw.TextField):
    """A `text` column holding Fernet tokens; plain text through the model attribute.

    `label_field` names the column identifying a row in errors (e.g. "prompt_id").
    """

    accessor_class = _DecryptingAccessor

    def __init__(self, label_field: str | None = None, **kwargs):
        self.label_field = label_field
        super().__init__(**kwargs)

    def db_value(self, value):
        if value is None or isinstance(value, pw.Node):
            return value
        if isinstance(value, Sealed):  # unchanged since it was read: write it back as is
            return value.token
        return cipher().encrypt(str(value))

    def python_value(self, value):
        return None if value is None else Sealed(value)

    def label_of(self, instance) -> str:
        label = instance.__data__.get(self.label_field) if self.label_field else None
        if label:
            return str(label)
        pk = self.model._meta.primary_key
        return f"{self.model.__name__} {instance.__data__.get(pk.name) if pk else '?'}"
