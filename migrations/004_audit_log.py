"""004_audit_log: the admin console's audit trail.

Creates audit_log (who, when, which table and row, changed fields before/after) with
indexes on created_at, (table_name, row_id) and user_id. Rollback drops the table.
"""

import peewee as pw

from deepref.models.base import check, foreign_key, one_of
from deepref.models.fields import CreatedAtField, JSONObjectField, UUIDKeyField
from deepref.migrate.ops import declare_indexes

INDEXES = [
    ("audit_log", "ix_audit_log_created_at", ("created_at",), False, None),
    ("audit_log", "ix_audit_log_table_name_row_id", ("table_name", "row_id"), False, None),
    ("audit_log", "ix_audit_log_user_id", ("user",), False, None),
]


def migrate(migrator, database, *, fake=False):
    users = migrator.orm["users"]

    @migrator.create_model
    class AuditLog(pw.Model):
        id = UUIDKeyField()
        created_at = CreatedAtField()
        user = foreign_key(users, "fk_audit_log_user_id", "SET NULL", null=True)
        actor_email = pw.CharField(max_length=255, null=True)
        action = pw.CharField(max_length=10)
        table_name = pw.CharField(max_length=63)
        row_id = pw.CharField(max_length=255, null=True)
        changes = JSONObjectField()

        class Meta:
            table_name = "audit_log"
            constraints = [
                check("ck_audit_log_action", one_of("action", ("create", "update", "delete", "bulk")))
            ]

    declare_indexes(migrator, INDEXES)


def rollback(migrator, database, *, fake=False):
    migrator.remove_model("audit_log")
