"""The History and Revert pages every record has (/admin/<view>/history/, /revert/).

Each is a view method, so a permission check can wrap it (issue 10). The logic is in
history.py; this module reads the request and renders.
"""

from __future__ import annotations

from flask import abort, flash, redirect, request
from flask_admin import expose
from flask_admin.helpers import get_redirect_target

from deepref.admin import errors, history
from deepref.models import AuditLog, User


class HistoryMixin:
    """history_view and revert_view for AdminModelView, and the hooks a revert calls."""

    related_fields: tuple[str, ...] = ()  # changes stored beside the row (bundles' links)
    related_model = None  # the model those related changes point at

    def on_revert(self, row) -> None:
        """The view's rules for the row a revert is about to save (raise to refuse)."""

    def after_revert(self, row) -> dict:
        """Rows derived from the reverted one, brought up to date; their changes."""
        return {}

    def restore_related(self, row, wanted):
        """Put related rows back as `wanted`; return what they are now."""
        raise errors.FriendlyError("This change cannot be reverted here.")

    def _entry(self, entry_id):
        entry = AuditLog.get_or_none(AuditLog.id == entry_id) if history._is_uuid(entry_id or "") else None
        if entry is None or entry.table_name != self.model._meta.table_name:
            abort(404)
        return entry

    @expose("/history/")
    def history_view(self):
        """Every change of one record, newest first, with who, when, before and after."""
        row_id = request.args.get("id", "")
        if not history._is_uuid(row_id):
            abort(404)
        found = history.entries(self.model._meta.table_name, row_id)
        record = self.get_one(row_id)
        if record is None and not found:
            abort(404)
        return self.render("admin/deepref/history.html", record=record, row_id=row_id,
                           entries=found, **self._describe(found),
                           return_url=get_redirect_target() or self.get_url(".index_view"))

    @expose("/revert/", methods=("GET", "POST"))
    def revert_view(self):
        """GET: the change and whether it can be reverted; POST: revert it."""
        entry = self._entry(request.args.get("entry"))
        back = self.get_url(".history_view", id=entry.row_id, url=request.args.get("url"))
        differences, refusal = [], history.why_not_revertible(entry, self)
        if request.method == "POST" and refusal is None:
            try:
                history.revert(self, entry)
            except history.Differs as exc:
                differences = exc.differences
            except Exception as exc:  # noqa: BLE001 - every failure is a sentence
                refusal = self._failure(exc)
            else:
                flash("The change was reverted; the revert is in the history too.", "success")
                return redirect(back)
        return self.render("admin/deepref/revert.html", entry=entry, refusal=refusal,
                           differences=differences, back=back, record=self.get_one(entry.row_id),
                           **self._describe([entry]))

    def _failure(self, exc) -> str:
        if isinstance(exc, errors.FriendlyError):
            return exc.message
        return errors.explain(exc, self.model._meta.table_name, set()).message

    def _describe(self, found) -> dict:
        """Labels for the users and referenced rows the entries mention, a query each."""
        users = history.record_labels(User, [e.user_id for e in found])
        fks = {f.name: f.rel_model for f in self.model._meta.refs}
        wanted: dict = {}
        for entry in found:
            for name, _label, before, after in history.field_changes(entry):
                if name in fks:
                    wanted.setdefault(fks[name], set()).update({before, after})
                for value in (before, after) if name in self.related_fields else ():
                    for link in value or ():
                        wanted.setdefault(self.related_model, set()).add(link.get("reference"))
        names = {model: history.record_labels(model, ids) for model, ids in wanted.items()}
        return {"users": users, "fk_models": fks, "names": names,
                "changes_of": history.shown_changes, "reverted_entry": history.reverted_entry,
                "why_not": lambda e: history.why_not_revertible(e, self)}
