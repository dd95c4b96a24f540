"""Granting and revoking console roles, from the console and the command line alike.

Each grant or revoke is one transaction with its audit row (a "create" or "delete" of
a user_roles row) and the end of the user's sessions: what they may do changed, so
they sign in again, as after a demotion. Revoking `admin` from the last admin who can
sign in is refused under the admins' lock (admins.others_can_sign_in), so two admins
revoking each other at once cannot both succeed.
"""

from __future__ import annotations

import peewee as pw

from deepref.auth.admins import ADMINS_LOCK, others_can_sign_in
from deepref.auth.session import end_sessions
from deepref.exceptions import UsageError
from deepref.models import AuditLog, User, UserRole
from deepref.models.roles import CONSOLE_ROLES

COMMAND_LINE = "(command line)"  # the audit log's "who" for a change made by a command
TABLE = UserRole._meta.table_name


def check_role(role: str) -> str:
    """`role`, or UsageError naming the roles there are."""
    if role not in CONSOLE_ROLES:
        raise UsageError(f"unknown role {role!r}: use one of {', '.join(CONSOLE_ROLES)}")
    return role


def check_staff(user: User) -> None:
    """Console roles are for staff accounts (platform role admin): UsageError otherwise."""
    if user.role != "admin":
        raise UsageError(f"{user.email} is a {user.role}: console roles are for staff "
                         "accounts (platform role admin). Change their role first.")


def grant(user: User, role: str, actor: User | None = None) -> UserRole | None:
    """Give `user` the console `role`: the new grant, or None if they hold it already."""
    check_role(role)
    check_staff(user)
    if UserRole.get_or_none(user=user.id, role=role) is not None:
        return None
    try:
        with UserRole._meta.database.write_transaction():
            row = UserRole.create(user=user.id, role=role,
                                  granted_by=actor.id if actor is not None else None)
            _audit("create", row, actor)
            end_sessions(user.id)
    except pw.IntegrityError:
        if UserRole.get_or_none(user=user.id, role=role) is not None:
            return None  # granted meanwhile by someone else
        raise
    return row


def revoke(user: User, role: str, actor: User | None = None) -> bool:
    """Take `role` from `user`; False if they did not hold it. The last admin keeps it
    (admins.LastAdmin)."""
    check_role(role)
    database = UserRole._meta.database
    # Revoking admin: the whole transaction under the admins' lock (on SQLite that is
    # the write lock from its start).
    with database.serialized(ADMINS_LOCK) if role == "admin" else database.write_transaction():
        if role == "admin":
            others_can_sign_in(user.id)
        row = UserRole.get_or_none(user=user.id, role=role)
        if row is None:
            return False
        remove(row, actor)
    return True


def remove(row: UserRole, actor: User | None) -> None:
    """Delete one grant with its audit row and the user's sessions (inside a transaction;
    the caller has applied the last-admin rule)."""
    UserRole.delete().where(UserRole.id == row.id).execute()
    _audit("delete", row, actor)
    end_sessions(row.user_id)


def _audit(action: str, row: UserRole, actor: User | None) -> None:
    values = {"user": str(row.user_id), "role": row.role,
              "granted_by": str(row.granted_by_id) if row.granted_by_id else None}
    AuditLog.create(
        user=actor.id if actor is not None else None,
        actor_email=actor.email if actor is not None else COMMAND_LINE,
        action=action, table_name=TABLE, row_id=str(row.id),
        changes={k: [None, v] if action == "create" else [v, None]
                 for k, v in values.items() if v is not None},
    )
