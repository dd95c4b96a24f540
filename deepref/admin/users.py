"""Users: list, search, edit role / KYC status / active. The password hash never shows."""

from __future__ import annotations

import re

from flask_admin.contrib.peewee.form import get_form

from deepref.admin import filters, listing
from deepref.admin.base import AdminModelView
from deepref.auth.session import end_sessions
from deepref.models import User
from deepref.models.core import KYC_STATUSES, USER_ROLES


# People who sign in get their password from `flask create-admin`, never from here.
CREATE_COLUMNS = ("email", "first_name", "last_name", "role", "kyc_status", "is_active")


class UserAdmin(AdminModelView):
    column_list = ("email", "first_name", "last_name", "role", "kyc_status", "is_active",
                   "email_verified", "last_login_at", "created_at")
    column_details_exclude_list = ("password_hash",)
    column_export_exclude_list = ("password_hash",)
    column_sortable_list = ("email", "role", "kyc_status", "created_at")
    column_labels = {"kyc_status": "KYC status"}
    search_fields = ("email", "first_name", "last_name")
    search_hint = "Email or name"
    column_filters = [
        *filters.choice(User.role, USER_ROLES),
        *filters.choice(User.kyc_status, KYC_STATUSES, "KYC status"),
        *filters.flag(User.is_active, "Active"),
        *filters.flag(User.email_verified, "Email verified"),
        *filters.moment(User.created_at, "Joined"),
    ]
    form_columns = ("role", "kyc_status", "is_active")
    choices = {"role": USER_ROLES, "kyc_status": KYC_STATUSES}
    email_fields = ("email",)
    unique_fields = {"email": "Another user already has this email address."}
    refusals = {
        "reviewed_by": (
            "This user reviewed {count} KYC document(s), so they cannot be deleted: a "
            "review must keep its reviewer. Deactivate the user instead (untick Active "
            "and save). Nothing was deleted."
        ),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(User, *args, **kwargs)

    def search_condition(self, text: str):
        """Each word in the email, or in a name; a word with @, . or digits: email only.

        Names never hold those characters, and skipping them halves the scan.
        """
        condition = None
        for word in listing.words(text):
            fields = [User.email] if re.search(r"[@.\d]", word) else [User.email, User.first_name, User.last_name]
            match = listing.contains(fields, word)
            condition = match if condition is None else (condition & match)
        return condition

    def on_model_change(self, form, model, is_created):
        """A user who may no longer sign in is signed out everywhere, in the same
        transaction: giving the role back later must not revive an old cookie."""
        if not is_created and not model.can_sign_in:
            end_sessions(model.id)

    def get_create_form(self):
        """Creating a user also takes the email and names; editing does not."""
        return get_form(self.model, self.model_form_converter(self), base_class=self.form_base_class,
                        only=CREATE_COLUMNS, field_args=self.form_args)
