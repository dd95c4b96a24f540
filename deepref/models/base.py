"""The base model: bound late to whichever database the app configures."""

from __future__ import annotations

import peewee as pw

from deepref.db import database
from deepref.models.fields import utcnow


def check(name: str, expression: str) -> pw.SQL:
    """A named CHECK constraint (declared in CREATE TABLE, so SQLite has it too)."""
    return pw.SQL(f"CONSTRAINT {name} CHECK ({expression})")


def one_of(column: str, values: tuple[str, ...]) -> str:
    """A CHECK expression limiting `column` to `values`."""
    listed = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({listed})"


def foreign_key(to, constraint_name: str, on_delete: str, **kwargs) -> pw.ForeignKeyField:
    """A foreign key with a stable constraint name; its index is declared in indexes.py."""
    return pw.ForeignKeyField(
        to, on_delete=on_delete, constraint_name=constraint_name, index=False, **kwargs
    )


class BaseModel(pw.Model):
    """Every deepref table; keeps `updated_at` current on saves and updates."""

    class Meta:
        database = database
        legacy_table_names = False

    def save(self, *args, **kwargs):
        if "updated_at" in self._meta.fields:
            self.updated_at = utcnow()
        return super().save(*args, **kwargs)

    @classmethod
    def update(cls, __data=None, **update):
        if "updated_at" in cls._meta.fields:
            fields = {**(__data or {}), **update}
            names = {f.name if isinstance(f, pw.Field) else f for f in fields}
            if "updated_at" not in names:
                update["updated_at"] = utcnow()
        return super().update(__data, **update)
