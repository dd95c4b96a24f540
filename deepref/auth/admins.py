"""Admin accounts: creating or restoring the people who sign in to the console."""

from __future__ import annotations

from deepref.auth import passwords
from deepref.exceptions import DeeprefError
from deepref.auth.session import end_sessions
from deepref.models import User

DEFAULT_ADMIN_EMAIL = "admin@deepref.example.com"


def set_admin(email: str, password: str) -> tuple[User, str]:
    """Create `email` as an active admin, or reset, re-activate and promote it.

    Returns the user and a sentence saying what was done (never the password).
    """
    with User._meta.database.write_transaction():
        user = User.get_or_none(User.email == email)
        if user is None:
            user = User.create(email=email, role="admin", is_active=True,
                               password_hash=passwords.hash_password(password))
            return user, f"Created admin {email}."
        changes = ["reset the password"]
        if user.role != "admin":
            changes.append(f"changed the role from {user.role} to admin")
        if not user.is_active:
            changes.append("re-activated the account")
        user.role, user.is_active = "admin", True
        user.password_hash = passwords.hash_password(password)
        user.save()
        ended = end_sessions(user.id)
        if ended:
            changes.append(f"signed out {ended} session(s)")
        return user, f"Updated {email}: {', '.join(changes)}."


def active_admin_exists() -> bool:
    """True if some active admin has a password (so someone can sign in)."""
    return User.select().where(User.who_can_sign_in()).exists()


class LastAdmin(DeeprefError):
    """A change would leave no active admin able to sign in."""


ADMINS_LOCK = "deepref-admins"


def others_can_sign_in(user_id) -> None:
    """Raise LastAdmin unless an admin other than `user_id` can sign in.

    Call inside the transaction that demotes, deactivates or deletes `user_id`: the
    lock is held until it ends, so two admins removing each other at once cannot both
    see the other one still there.
    """
    with User._meta.database.serialized(ADMINS_LOCK):
        if User.select().where(User.who_can_sign_in() & (User.id != user_id)).exists():
            return
        if not User.select().where(User.who_can_sign_in() & (User.id == user_id)).exists():
            return  # this user could not sign in before either: nothing is lost
    raise LastAdmin("this is the last active admin who can sign in")
