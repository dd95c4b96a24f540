"""The audit trail, read-only: who changed which row, when, from what to what."""

from __future__ import annotations

import json

from markupsafe import Markup, escape

from deepref.admin import filters
from deepref.admin.base import AdminModelView
from deepref.admin.deletes import TABLE_LABELS
from deepref.models import AuditLog
from deepref.models.audit import AUDIT_ACTIONS

SHOWN_CHARS = 120


def _short(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…"


def changes_formatter(view, context, row, name):
    """{field: [before, after]} as a small table."""
    changes = row.changes or {}
    if not changes:
        return ""
    lines = []
    for field in sorted(changes):
        pair = changes[field]
        before, after = (pair + [None, None])[:2] if isinstance(pair, list) else (None, pair)
        lines.append(
            f"<tr><th>{escape(field)}</th><td>{escape(_short(before))}</td>"
            f"<td>&rarr;</td><td>{escape(_short(after))}</td></tr>"
        )
    return Markup('<table class="table table-sm mb-0 audit-changes">' + "".join(lines) + "</table>")


class AuditLogAdmin(AdminModelView):
    can_create = False
    can_edit = False
    can_delete = False
    column_list = ("created_at", "actor_email", "action", "table_name", "row_id", "changes")
    column_sortable_list = ("created_at",)
    column_formatters = {"changes": changes_formatter}
    column_formatters_detail = {"changes": changes_formatter}
    search_fields = ("actor_email", "row_id")
    search_hint = "Who (email) or row id"
    column_filters = [
        *filters.choice(AuditLog.table_name, tuple(TABLE_LABELS), "Table"),
        *filters.choice(AuditLog.action, AUDIT_ACTIONS),
        *filters.text(AuditLog.actor_email),
        *filters.text(AuditLog.row_id),
        *filters.moment(AuditLog.created_at),
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(AuditLog, *args, name="Audit log", endpoint="auditlog", **kwargs)
