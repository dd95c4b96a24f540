"""Console roles (revision 008_console_roles): what a staff member may do in the console.

A user may sign in to the console when they are an active staff account (platform role
`admin`, users.role) with a password AND hold at least one console role here. The
platform role says who someone is on DeepRef; these rows say what they may do in the
console (deepref/admin/access.py maps each role to the pages and actions it allows).
"""

from __future__ import annotations

import peewee as pw

from deepref.models.base import BaseModel, check, foreign_key, one_of
from deepref.models.core import User
from deepref.models.fields import CreatedAtField, UUIDKeyField

CONSOLE_ROLES = ("admin", "reviewer", "prompt-editor", "viewer")


class UserRole(BaseModel):
    """One console role held by one user: granted by whom, when."""

    id = UUIDKeyField()
    user = foreign_key(User, "fk_user_roles_user_id", "CASCADE", backref="role_grants")
    role = pw.CharField(max_length=20)
    # SET NULL: the grant outlives the admin who made it (the audit log says who it was).
    granted_by = foreign_key(User, "fk_user_roles_granted_by_id", "SET NULL",
                             backref="roles_granted", null=True)
    granted_at = CreatedAtField()

    class Meta:
        table_name = "user_roles"
        constraints = [check("ck_user_roles_role", one_of("role", CONSOLE_ROLES))]

    def __str__(self):
        return f"{self.role} ({self.user})" if self.__rel__.get("user") else self.role


def roles_of(user_id) -> frozenset[str]:
    """The console roles `user_id` holds (one query)."""
    return frozenset(r for (r,) in UserRole.select(UserRole.role)
                     .where(UserRole.user == user_id).tuples())


def holds(role: str | None = None) -> pw.Expression:
    """users.id holds `role` (any console role when None), as a condition on users."""
    query = UserRole.select(UserRole.id).where(UserRole.user == User.id)
    if role is not None:
        query = query.where(UserRole.role == role)
    return pw.fn.EXISTS(query)
