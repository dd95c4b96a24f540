"""References: list, full-text search, filter, sort, create, edit, delete."""

from __future__ import annotations

from deepref.admin import aggregates, filters
from deepref.admin.base import AdminModelView
from deepref.admin.lookups import UserLookup
from deepref.admin.rules import HttpUrl
from deepref.models import Reference, User
from deepref.models.core import REFERENCE_FORMATS, REFERENCE_STATUSES
from deepref.models.indexes import REFERENCE_FTS_DOCUMENT


class ReferenceAdmin(AdminModelView):
    column_list = ("referrer_name", "company", "role", "seeker", "referrer", "status",
                   "format", "rcs_score", "created_at")
    # Only indexed columns: sorting a million rows by anything else is a full sort.
    column_sortable_list = ("referrer_name", "company", "status", "format", "rcs_score",
                            "expiry_date", "created_at")
    label_columns = ("seeker", "referrer")
    search_document = REFERENCE_FTS_DOCUMENT
    search_hint = "Referrer, company or role"
    search_fields = ("referrer_name", "company", "role")
    column_filters = [
        *filters.choice(Reference.status, REFERENCE_STATUSES),
        *filters.choice(Reference.format, REFERENCE_FORMATS),
        *filters.related(Reference.seeker, User.email, "Seeker email"),
        *filters.related(Reference.referrer, User.email, "Referrer account email"),
        *filters.moment(Reference.created_at),
        *filters.moment(Reference.expiry_date),
    ]
    form_columns = ("seeker", "referrer", "referrer_name", "referrer_email", "company", "role",
                    "relationship", "format", "status", "content", "media_url", "responses",
                    "rcs_score", "expiry_date", "submitted_at")
    choices = {"status": REFERENCE_STATUSES, "format": REFERENCE_FORMATS}
    ranges = {"rcs_score": (0, 100)}
    email_fields = ("referrer_email",)
    form_args = {"media_url": {"validators": [HttpUrl()],
                               "description": "The video or audio file: an https:// address."}}

    def __init__(self, *args, **kwargs):
        self.form_ajax_refs = {"seeker": UserLookup("seeker"), "referrer": UserLookup("referrer")}
        super().__init__(Reference, *args, **kwargs)

    # A score that changes (or goes) moves the aggregated RCS of bundles holding it.
    def save_related(self, form, model) -> dict:
        if form.rcs_score.object_data != model.rcs_score:  # as loaded vs as saved
            aggregates.refresh_bundles_of(model.id)
        return {}

    def on_model_delete(self, model):
        aggregates.refresh_bundles_of(model.id, without=True)

    def after_revert(self, row) -> dict:
        aggregates.refresh_bundles_of(row.id)
        return {}
