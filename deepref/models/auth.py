"""Failed admin sign-ins (revision 005_login_attempts), for the brute-force lockout.

Kept in the database rather than in process memory so that the lockout holds across
gunicorn workers and restarts. Rows older than the lockout window are pruned.
"""

from __future__ import annotations

import peewee as pw

from deepref.models.base import BaseModel
from deepref.models.fields import CreatedAtField, UUIDKeyField


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


LoginAttempt.add_index(
    pw.ModelIndex(LoginAttempt, [LoginAttempt.email, LoginAttempt.attempted_at],
                  name="ix_login_attempts_email_attempted_at")
)
LoginAttempt.add_index(
    pw.ModelIndex(LoginAttempt, [LoginAttempt.ip, LoginAttempt.attempted_at],
                  name="ix_login_attempts_ip_attempted_at")
)
LoginAttempt.add_index(
    pw.ModelIndex(LoginAttempt, [LoginAttempt.attempted_at], name="ix_login_attempts_attempted_at")
)
