"""The admin console's audit trail (revision 004_audit_log)."""

from __future__ import annotations

import peewee as pw

from deepref.models.base import BaseModel, check, foreign_key, one_of
from deepref.models.core import User
from deepref.models.fields import CreatedAtField, JSONObjectField, UUIDKeyField

# A revert is an "update" naming the entry it undid ("__reverts"), a CSV export a "bulk"
# read of a list ("__export"): see deepref.admin.history and deepref.admin.export.
AUDIT_ACTIONS = ("create", "update", "delete", "bulk")


class AuditLog(BaseModel):
    """One change made through the console: who, when, which row, before and after."""

    id = UUIDKeyField()
    created_at = CreatedAtField()
    # SET NULL: deleting a user keeps their history; actor_email still says who it was.
    user = foreign_key(User, "fk_audit_log_user_id", "SET NULL", backref="audit_entries", null=True)
    actor_email = pw.CharField(max_length=255, null=True)
    action = pw.CharField(max_length=10)
    table_name = pw.CharField(max_length=63)
    row_id = pw.CharField(max_length=255, null=True)
    # {field: [before, after]}; secrets are masked as "***".
    changes = JSONObjectField()

    class Meta:
        table_name = "audit_log"
        constraints = [check("ck_audit_log_action", one_of("action", AUDIT_ACTIONS))]

    def __str__(self):
        return f"{self.action} {self.table_name} {self.row_id or ''}".strip()
