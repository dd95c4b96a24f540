"""005_login_attempts: failed admin sign-ins, for the brute-force lockout.

Creates login_attempts (email, ip, attempted_at) with an index per lookup: by email
and by address within the window, and by time for pruning. It stands alone (no foreign
key: unknown emails are counted too), so it applies with or without 004 on disk.
Rollback drops the table.
"""

import peewee as pw

from deepref.models.fields import CreatedAtField, UUIDKeyField
from deepref.migrate.ops import declare_indexes

INDEXES = [
    ("login_attempts", "ix_login_attempts_email_attempted_at", ("email", "attempted_at"), False, None),
    ("login_attempts", "ix_login_attempts_ip_attempted_at", ("ip", "attempted_at"), False, None),
    ("login_attempts", "ix_login_attempts_attempted_at", ("attempted_at",), False, None),
]


def migrate(migrator, database, *, fake=False):
    @migrator.create_model
    class LoginAttempt(pw.Model):
        id = UUIDKeyField()
        email = pw.CharField(max_length=255)
        ip = pw.CharField(max_length=64)
        attempted_at = CreatedAtField()

        class Meta:
            table_name = "login_attempts"

    declare_indexes(migrator, INDEXES)


def rollback(migrator, database, *, fake=False):
    migrator.remove_model("login_attempts")
