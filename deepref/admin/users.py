"""Users: list, search, edit role / KYC status / active. The password hash never shows."""

from __future__ import annotations

import re

from flask_admin.contrib.peewee.form import get_form

from deepref.admin import filters, listing
from deepref.admin.base import AdminModelView
from deepref.admin.errors import FriendlyError
from deepref.auth import current_user, roles
from deepref.auth.admins import LastAdmin, others_can_sign_in
from deepref.auth.session import end_sessions
from deepref.models import User, UserRole
from deepref.models.core import KYC_STATUSES, USER_ROLES


# People who sign in get their password from `flask create-admin`, never from here.
CREATE_COLUMNS = ("email", "first_name", "last_name", "role", "kyc_status", "is_active")


LAST_ADMIN_CHANGE = (
    "This is the last active admin who can sign in: it must stay an active admin, or "
    "no one could use the console. Make another user an admin first (flask "
    "create-admin EMAIL). Nothing was saved."
)
LAST_ADMIN_DELETE = (
    "This is the last active admin who can sign in, so it cannot be deleted: no one "
    "could use the console. Make another user an admin first (flask create-admin "
    "EMAIL). Nothing was deleted."
)


def keep_one_admin(user_id, sentence: str) -> None:
    """Refuse (FriendlyError) a change that would leave no admin able to sign in."""
    try:
        others_can_sign_in(user_id)
    except LastAdmin:
        raise FriendlyError(sentence) from None


class UserAdmin(AdminModelView):
    column_list = ("email", "first_name", "last_name", "role", "kyc_status", "is_active",
                   "email_verified", "last_login_at", "created_at")
    column_details_exclude_list = ("password_hash",)
    column_export_exclude_list = ("password_hash",)
    column_sortable_list = ("email", "role", "kyc_status", "email_verified", "created_at")
    search_fields = ("email", "first_name", "last_name")
    search_hint = "Email or name"
    column_filters = [
        *filters.choice(User.role, USER_ROLES),
        *filters.choice(User.kyc_status, KYC_STATUSES),
        *filters.flag(User.is_active),
        *filters.flag(User.email_verified),
        *filters.moment(User.created_at),
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
        transaction: giving the role back later must not revive an old cookie. The last
        admin who can sign in keeps that right (admins.keep_one_admin). A user who is no
        longer staff (platform role admin) loses their console roles too."""
        if not is_created:
            self._signed_out_if_needed(model)

    def _signed_out_if_needed(self, model):
        if not model.can_sign_in:
            keep_one_admin(model.id, LAST_ADMIN_CHANGE)
            end_sessions(model.id)
        if model.role != "admin":
            for grant in UserRole.select().where(UserRole.user == model.id):
                roles.remove(grant, current_user())

    def on_model_delete(self, model):
        keep_one_admin(model.id, LAST_ADMIN_DELETE)

    def on_revert(self, row):
        self._signed_out_if_needed(row)

    def get_create_form(self):
        """Creating a user also takes the email and names; editing does not."""
        return get_form(self.model, self.model_form_converter(self), base_class=self.form_base_class,
                        only=CREATE_COLUMNS, field_args=self.form_args)
