"""KYC documents: the review queue (oldest pending first, with how long each waited),
approve and reject (single and bulk; a rejection needs a reason), and the documents list.

The decision fields (status, reviewer, review time, reason) are set by the review
alone (kyc_review.py), never typed in the edit form. Each endpoint is a view method,
so a permission check can wrap it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from urllib.parse import quote

from flask import current_app, flash, redirect, request
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.helpers import get_redirect_target
from markupsafe import Markup, escape

from deepref.admin import access, errors, filters, kyc_review
from deepref.admin.base import AdminModelView
from deepref.admin.lookups import UserLookup
from deepref.admin.rules import StorageKey
from deepref.auth import current_user
from deepref.models import KYCDocument, User
from deepref.models.core import DOCUMENT_STATUSES, DOCUMENT_TYPES
from deepref.models.fields import utcnow


def document_link(view, context, row, name):
    """The storage key, as a link that opens the file where KYC_DOCUMENT_URL is set
    (hidden from console roles that may not see it: access.py)."""
    key = row.file_path or ""
    if key and "file_path" in access.hidden_columns(KYCDocument._meta.table_name):
        return access.HIDDEN
    template = current_app.config["DEEPREF"].kyc_document_url
    if not template or not key:
        return key
    url = template.replace("{key}", quote(key, safe="/"))
    return Markup(f'<a href="{escape(url)}" target="_blank" rel="noopener noreferrer">'
                  f'{escape(key)}</a>')


def waited(view, context, row, name):
    """How long a pending document has waited, e.g. "3 days 4 h"."""
    if row.status != "pending" or row.created_at is None:
        return ""
    return for_how_long(utcnow() - row.created_at)


def for_how_long(delta: dt.timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} day{'s' if days != 1 else ''} {hours} h"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


class ReviewMixin:
    """Approve / reject, single and bulk, shared by the queue and the documents list."""

    review_template = "admin/deepref/kyc_reject.html"

    @action("approve", "Approve", "Approve the selected documents?")
    def action_approve(self, ids):
        self._decide(ids, "approve", None)

    @action("reject", "Reject…")
    def action_reject(self, ids):
        return self._reason_form(ids)

    def _reason_form(self, ids, error=None, reason="", status=200):
        docs = list(KYCDocument.select(KYCDocument, User).join(User, on=KYCDocument.user)
                    .where(KYCDocument.id.in_(_uuids(ids))).order_by(KYCDocument.created_at))
        return_url = get_redirect_target() or self.get_url(".index_view")
        return self.render(self.review_template, docs=docs, error=error, reason=reason,
                           return_url=return_url, link=document_link), status

    @expose("/reject/")
    def reject_view(self):
        """The rejection form for one document (its reason is required)."""
        return self._reason_form(request.args.getlist("id"))

    @expose("/review/", methods=("POST",))
    def review_view(self):
        """Approve or reject the posted documents, then go back."""
        ids = _uuids(request.form.getlist("id"))
        decision = request.form.get("decision", "")
        if decision == "reject" and not (request.form.get("reason") or "").strip():
            return self._reason_form(ids, "Give the reason for the rejection: the user will "
                                          "need it.", status=400)
        self._decide(ids, decision, request.form.get("reason"))
        return redirect(get_redirect_target() or self.get_url(".index_view"))

    def _decide(self, ids, decision, reason) -> None:
        ids = _uuids(ids)
        if not ids:
            flash("Select at least one document.", "error")
            return
        try:
            done, skipped = kyc_review.decide(ids, decision, reason, current_user())
        except Exception as exc:  # noqa: BLE001 - every failure is a sentence
            problem = exc if isinstance(exc, errors.FriendlyError) else errors.explain(
                exc, "kyc_documents", set())
            flash(problem.message, "error")
            return
        verb = "approved" if decision == "approve" else "rejected"
        message = f"{done} document{'s' if done != 1 else ''} {verb}."
        if skipped:
            message += (f" {skipped} had already been decided (by someone else, or earlier) "
                        "and were left as they were.")
        flash(message, "success" if done else "warning")


def _uuids(values) -> list[str]:
    found = []
    for value in values:
        try:
            found.append(str(uuid.UUID(str(value))))
        except ValueError:
            continue
    return found


class KYCDocumentAdmin(ReviewMixin, AdminModelView):
    column_list = ("user", "document_type", "status", "reviewed_by", "verified_at", "created_at")
    column_sortable_list = ("status", "document_type", "verified_at", "created_at")
    column_details_list = ("user", "document_type", "status", "file_path", "metadata",
                           "rejection_reason", "reviewed_by", "verified_at", "created_at",
                           "updated_at")
    column_formatters_detail = {"file_path": document_link}
    details_template = "admin/deepref/kyc_details.html"
    label_columns = ("user", "reviewed_by")
    search_fields = ("file_path",)
    search_hint = "User email or file path"
    search_related = {"user": ("email",)}
    column_filters = [
        *filters.choice(KYCDocument.status, DOCUMENT_STATUSES),
        *filters.choice(KYCDocument.document_type, DOCUMENT_TYPES),
        *filters.related(KYCDocument.user, User.email, "User email"),
        *filters.related(KYCDocument.reviewed_by, User.email, "Reviewer email"),
        *filters.moment(KYCDocument.created_at),
    ]
    # The review sets status, reviewer, review time and reason: not the edit form.
    form_columns = ("user", "document_type", "file_path", "metadata")
    choices = {"document_type": DOCUMENT_TYPES}
    form_args = {"file_path": {"validators": [StorageKey()],
                               "description": "The file's key in storage, e.g. kyc/1234/passport.png."}}

    def __init__(self, *args, **kwargs):
        self.form_ajax_refs = {"user": UserLookup("user")}
        kwargs.setdefault("name", "KYC documents")
        kwargs.setdefault("endpoint", "kycdocument")
        super().__init__(KYCDocument, *args, **kwargs)

    def after_revert(self, row) -> dict:
        kyc_review.refresh_user(row.user_id)  # a decision undone: the user's status follows
        return {}


class KYCQueueAdmin(KYCDocumentAdmin):
    """Pending documents, oldest first: the review queue (served by
    ix_kyc_documents_status_created_at)."""

    column_list = ("waited", "user", "document_type", "file_path", "created_at")
    column_sortable_list = ("created_at",)
    column_default_sort = ("created_at", False)
    column_formatters = {"waited": waited, "file_path": document_link}
    column_labels = {"waited": "Waiting"}
    column_filters = [
        *filters.choice(KYCDocument.document_type, DOCUMENT_TYPES),
        *filters.related(KYCDocument.user, User.email, "User email"),
    ]
    query_narrowed = True  # a part of the table: its own estimate, not the table's

    def __init__(self, *args, **kwargs):
        super().__init__(*args, name="KYC review queue", endpoint="kycqueue", **kwargs)

    def get_query(self):
        return KYCDocument.select().where(KYCDocument.status == "pending")
