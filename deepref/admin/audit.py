"""The audit trail, read-only: who changed which record, when, from what to what.

Each row names its record by label and links to it (the labels of a page's records are
loaded with one query per table), and to the record's history.
"""

from __future__ import annotations

import json

from flask import current_app, url_for
from markupsafe import Markup, escape

from deepref.admin import access, filters, history
from deepref.admin.base import AdminModelView
from deepref.admin.deletes import TABLE_LABELS
from deepref.admin.export import cell
from deepref.models import ALL_MODELS, AuditLog
from deepref.models.audit import AUDIT_ACTIONS

SHOWN_CHARS = 120
MODELS = {m._meta.table_name: m for m in ALL_MODELS}


def _short(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…"


def changes_formatter(view, context, row, name):
    """{field: [before, after]} as a small table, fields by their labels."""
    lines = [f"<tr><th>{escape(label)}</th><td>{escape(_short(before))}</td>"
             f"<td>&rarr;</td><td>{escape(_short(after))}</td></tr>"
             for _name, label, before, after in history.shown_changes(row)]
    if history.reverted_entry(row):
        lines.insert(0, '<tr><td colspan="4"><em>Revert of an earlier change</em></td></tr>')
    exported = (row.changes or {}).get("__export")
    if isinstance(exported, list) and len(exported) == 2 and isinstance(exported[1], dict):
        lines.insert(0, f'<tr><td colspan="4"><em>CSV export of {exported[1].get("rows", 0):,} '
                        f'row(s)</em> {escape(_short(exported[1].get("query") or ""))}</td></tr>')
    if not lines:
        return ""
    return Markup('<table class="table table-sm mb-0 audit-changes">' + "".join(lines) + "</table>")


def view_of(table: str):
    """The console view of all of `table` (not a part of it, like the KYC queue), or None."""
    admin = current_app.extensions["deepref_admin"]
    return next((v for v in admin._views if getattr(v, "model", None) is MODELS.get(table)
                 and not v.query_narrowed), None)


def record_formatter(view, context, row, name):
    """The record's label, linked to it (or to its history once it is deleted)."""
    label = getattr(row, "_record_label", None)
    target = view_of(row.table_name)
    if target is None or not row.row_id:
        return row.row_id or ""
    if label is None:
        link = url_for(f"{target.endpoint}.history_view", id=row.row_id)
        return Markup(f'<a href="{link}">{escape(row.row_id[:8])}… (deleted)</a>')
    link = url_for(f"{target.endpoint}.details_view", id=row.row_id)
    return Markup(f'<a href="{link}" title="{escape(row.row_id)}">{escape(label)}</a>')


def table_formatter(view, context, row, name):
    return labels_of_table(row.table_name)


def labels_of_table(table: str) -> str:
    return TABLE_LABELS.get(table, (table, table))[0]


class AuditLogAdmin(AdminModelView):
    column_list = ("created_at", "actor_email", "action", "table_name", "row_id", "changes")
    column_sortable_list = ("created_at", "table_name")
    column_formatters = {"changes": changes_formatter, "row_id": record_formatter,
                         "table_name": table_formatter}
    column_formatters_detail = {"changes": changes_formatter, "row_id": record_formatter}
    search_fields = ("actor_email", "row_id")
    search_hint = "Who (email) or record id"
    column_filters = [
        *filters.choice(AuditLog.table_name, tuple(TABLE_LABELS)),
        *filters.choice(AuditLog.action, AUDIT_ACTIONS),
        *filters.text(AuditLog.actor_email),
        *filters.text(AuditLog.row_id),
        *filters.moment(AuditLog.created_at),
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(AuditLog, *args, name="Audit log", endpoint="auditlog", **kwargs)

    def _value(self, row, name: str, is_fk: bool) -> str:
        """CSV: the changes as the signed-in user may see them (access.hidden_columns)."""
        if name == "changes" and access.hidden_columns(row.table_name):
            shown = {n: [b, a] for n, _label, b, a in history.shown_changes(row)}
            return cell({**(row.changes or {}), **shown})
        return super()._value(row, name, is_fk)

    def get_list(self, *args, **kwargs):
        count, rows = super().get_list(*args, **kwargs)
        if kwargs.get("execute", True):
            by_table: dict = {}
            for row in rows:
                by_table.setdefault(row.table_name, []).append(row)
            for table, entries in by_table.items():
                model = MODELS.get(table)
                found = history.record_labels(model, [e.row_id for e in entries]) if model else {}
                for entry in entries:
                    entry._record_label = found.get(entry.row_id)
        return count, rows
