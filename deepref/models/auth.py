"""Sign-in state: failed sign-ins (revision 005), for the brute-force lockout, the
console's server-side sessions (revision 006), and second factors with their recovery
codes (revision 009).

Both live in the database rather than in process memory, so they hold across gunicorn
workers and restarts. Expired rows are pruned as new ones are added.
"""

from __future__ import annotations

import peewee as pw

from deepref.models.base import BaseModel, foreign_key
from deepref.models.core import User
from deepref.models.fields import (
    CreatedAtField, EncryptedTextField, TimestampField, UUIDKeyField,
)


class LoginAttempt(BaseModel):
    """One refused sign-in: the email typed (lower-cased), the client address, when."""

    id = UUIDKeyField()
    email = pw.CharField(max_length=255)
    ip = pw.CharField(max_length=64)
    attempted_at = CreatedAtField()

    class Meta:
        table_name = "login_attempts"

    def __str__(self):
        return f"{self.email} from {self.ip}"


class AdminSession(BaseModel):
    """A signed-in console session (revision 006_admin_sessions).

    The cookie carries a random token; only its SHA-256 is stored. Signing out deletes
    the row, so a copied cookie dies with it, whatever its signature says.
    """

    id = UUIDKeyField()
    token_hash = pw.CharField(max_length=64)
    user = foreign_key(User, "fk_admin_sessions_user_id", "CASCADE", backref="admin_sessions")
    created_at = CreatedAtField()
    last_seen_at = CreatedAtField()

    class Meta:
        table_name = "admin_sessions"


class SecondFactor(BaseModel):
    """A user's authenticator app (revision 009_second_factor): its TOTP secret, encrypted.

    `confirmed_at` is NULL until a first code proves the app has the secret; until then
    it does not count. `last_used_step` is the TOTP time-step of the last accepted code:
    a code for that step or an earlier one is refused (no replay).
    """

    id = UUIDKeyField()
    user = foreign_key(User, "fk_second_factors_user_id", "CASCADE", backref="second_factors")
    secret = EncryptedTextField()
    confirmed_at = TimestampField(null=True)
    last_used_step = pw.BigIntegerField(null=True)
    created_at = CreatedAtField()

    class Meta:
        table_name = "second_factors"


class RecoveryCode(BaseModel):
    """One single-use recovery code of a user, hashed (revision 009_second_factor)."""

    id = UUIDKeyField()
    user = foreign_key(User, "fk_recovery_codes_user_id", "CASCADE", backref="recovery_codes")
    code_hash = pw.CharField(max_length=255)
    used_at = TimestampField(null=True)
    created_at = CreatedAtField()

    class Meta:
        table_name = "recovery_codes"
