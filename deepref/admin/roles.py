"""Console roles: who holds which (list), grant (create) and revoke (delete), admins only.

A grant is never edited: revoke it and grant another. Both go through deepref.auth.roles,
the same code as `flask grant-role` / `flask revoke-role`: one transaction with the audit
row, the user's sessions ended, the last admin keeping `admin`.
"""

from __future__ import annotations

from flask import flash

from deepref.admin import errors, filters
from deepref.admin.base import AdminModelView
from deepref.admin.lookups import UserLookup
from deepref.auth import current_user, roles
from deepref.auth.admins import LastAdmin
from deepref.exceptions import DeeprefError
from deepref.models import User, UserRole
from deepref.models.roles import CONSOLE_ROLES

ALREADY = "{email} already holds the role {role}: nothing was changed."
LAST_ADMIN_REVOKE = (
    "This is the last active admin who can sign in, so they keep the role admin: no one "
    "could manage the console. Grant admin to another staff account first. Nothing was "
    "changed."
)


class StaffLookup(UserLookup):
    """Only staff accounts (platform role admin) can hold console roles."""

    def condition(self, term: str):
        found = super().condition(term)
        staff = User.role == "admin"
        return staff if found is None else staff & found


class UserRoleAdmin(AdminModelView):
    column_list = ("user", "role", "granted_by", "granted_at")
    column_sortable_list = ("role", "granted_at")
    column_default_sort = ("granted_at", True)
    label_columns = ("user", "granted_by")
    search_related = {"user": ("email",)}
    search_hint = "User email"
    column_filters = [
        *filters.choice(UserRole.role, CONSOLE_ROLES),
        *filters.related(UserRole.user, User.email, "User email"),
    ]
    form_columns = ("user", "role")
    choices = {"role": CONSOLE_ROLES}
    form_args = {"role": {"description": (
        "admin: everything. reviewer: the KYC queue; references, bundles and users read-only. "
        "prompt-editor: AI prompts; AI sessions and interactions read-only. viewer: "
        "everything read-only, without KYC documents' files. The user is signed out.")}}

    def __init__(self, *args, **kwargs):
        self.form_ajax_refs = {"user": StaffLookup("user")}
        super().__init__(UserRole, *args, **kwargs)

    def create_model(self, form):
        user, role = form.user.data, form.role.data
        try:
            if user is None:
                raise errors.FriendlyError("Choose a staff account.", "user")
            row = roles.grant(user, role, current_user())
            if row is None:
                raise errors.FriendlyError(ALREADY.format(email=user.email, role=role))
        except DeeprefError as exc:
            self._report(form, errors.FriendlyError(exc.message, "user"))
            return False
        except Exception as exc:  # noqa: BLE001 - every failure becomes a form message
            self._report(form, exc)
            return False
        return row

    def delete_model(self, model):
        try:
            roles.revoke(model.user, model.role, current_user())
        except LastAdmin:
            flash(LAST_ADMIN_REVOKE, "error")
            return False
        except Exception as exc:  # noqa: BLE001
            flash(self._refusal(model, exc), "error")
            return False
        return True
