"""Brute-force lockout: after LIMIT refused sign-ins for one email or one address within
WINDOW, every further attempt is refused until the window has passed. A browser the
admin signed in from before (devices.py) is not held by the lock on the email, only by
the one on its address: a stranger cannot keep an admin out by failing on purpose.

Attempts are stored (login_attempts) so the count holds across workers. Attempts made
while locked are not recorded: the lock ends WINDOW after the failures that caused it,
whatever is tried meanwhile. Attempts for one email are serialised (`one_at_a_time`),
so a burst of parallel requests cannot all see LIMIT - 1 and all get a guess.
"""

from __future__ import annotations

import datetime as dt
import math

from deepref.models.auth import LoginAttempt
from deepref.models.fields import utcnow

LIMIT = 5
WINDOW = dt.timedelta(minutes=15)
IP_MAX_LENGTH = 64


def _key(email: str, ip: str | None) -> tuple[str, str]:
    email_field = LoginAttempt.email.max_length
    return email[:email_field], (ip or "unknown")[:IP_MAX_LENGTH]


def one_at_a_time(email: str):
    """A transaction in which no other sign-in for `email` is checked or counted."""
    return LoginAttempt._meta.database.serialized(f"deepref-login:{_key(email, None)[0]}")


def retry_after(email: str, ip: str | None, now: dt.datetime | None = None,
                known_device: bool = False) -> int:
    """Seconds until `email` and `ip` may try again; 0 when they are not locked out.

    From a `known_device` of that email, only the address's lock applies.
    """
    now = now or utcnow()
    email, ip = _key(email, ip)
    wait = 0.0
    locks = [(LoginAttempt.ip, ip)] if known_device else [
        (LoginAttempt.email, email), (LoginAttempt.ip, ip)]
    for column, value in locks:
        recent = (
            LoginAttempt.select(LoginAttempt.attempted_at)
            .where((column == value) & (LoginAttempt.attempted_at > now - WINDOW))
            .order_by(LoginAttempt.attempted_at.desc())
            .limit(LIMIT)
        )
        times = [row.attempted_at for row in recent]
        if len(times) >= LIMIT:
            # Locked until the oldest of the last LIMIT failures leaves the window.
            wait = max(wait, (times[-1] + WINDOW - now).total_seconds())
    return math.ceil(wait) if wait > 0 else 0


def record_failure(email: str, ip: str | None, now: dt.datetime | None = None) -> None:
    """Count one refused sign-in, and forget those older than the window."""
    now = now or utcnow()
    email, ip = _key(email, ip)
    LoginAttempt.delete().where(LoginAttempt.attempted_at <= now - WINDOW).execute()
    LoginAttempt.create(email=email, ip=ip, attempted_at=now)
