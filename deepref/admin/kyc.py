"""KYC documents: review queue, filters, create, edit, delete."""

from __future__ import annotations

from deepref.admin import filters
from deepref.admin.base import AdminModelView
from deepref.admin.lookups import UserLookup
from deepref.admin.rules import StorageKey
from deepref.models import KYCDocument, User
from deepref.models.core import DOCUMENT_STATUSES, DOCUMENT_TYPES


class KYCDocumentAdmin(AdminModelView):
    column_list = ("user", "document_type", "status", "reviewed_by", "verified_at", "created_at")
    column_sortable_list = ("status", "document_type", "created_at")
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
    form_columns = ("user", "document_type", "status", "file_path", "metadata",
                    "rejection_reason", "reviewed_by", "verified_at")
    choices = {"document_type": DOCUMENT_TYPES, "status": DOCUMENT_STATUSES}
    form_args = {"file_path": {"validators": [StorageKey()],
                               "description": "The file's key in storage, e.g. kyc/1234/passport.png."}}

    def __init__(self, *args, **kwargs):
        self.form_ajax_refs = {"user": UserLookup("user"), "reviewed_by": UserLookup("reviewed_by")}
        super().__init__(KYCDocument, *args, name="KYC documents", endpoint="kycdocument", **kwargs)
