"""006_admin_sessions: server-side sessions of the admin console.

A session row per sign-in (hash of the cookie's random token, user, created, last seen),
deleted on sign-out, password reset or loss of the admin role, so a copied cookie stops
working. Rollback drops the table (everyone is signed out).
"""

import peewee as pw

from deepref.models.base import foreign_key
from deepref.models.fields import CreatedAtField, UUIDKeyField
from deepref.migrate.ops import declare_indexes

INDEXES = [
    ("admin_sessions", "uq_admin_sessions_token_hash", ("token_hash",), True, None),
    ("admin_sessions", "ix_admin_sessions_user_id", ("user",), False, None),
    ("admin_sessions", "ix_admin_sessions_last_seen_at", ("last_seen_at",), False, None),
]


def migrate(migrator, database, *, fake=False):
    users = migrator.orm["users"]

    @migrator.create_model
    class AdminSession(pw.Model):
        id = UUIDKeyField()
        token_hash = pw.CharField(max_length=64)
        user = foreign_key(users, "fk_admin_sessions_user_id", "CASCADE")
        created_at = CreatedAtField()
        last_seen_at = CreatedAtField()

        class Meta:
            table_name = "admin_sessions"

    declare_indexes(migrator, INDEXES)


def rollback(migrator, database, *, fake=False):
    migrator.remove_model("admin_sessions")
