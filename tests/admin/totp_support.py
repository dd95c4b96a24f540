"""Helpers of the second-factor tests: an enrolled user, codes, the two sign-in steps."""

from __future__ import annotations

import pyotp

from deepref.auth import second_factor
from deepref.models import SecondFactor
from deepref.models.fields import utcnow
from support import ADMIN_EMAIL, PASSWORD, token


def enrol(user) -> tuple[str, list[str]]:
    """Give `user` a confirmed second factor; (its secret, its recovery codes)."""
    secret = pyotp.random_base32()
    SecondFactor.create(user=user.id, secret=secret, confirmed_at=utcnow())
    return secret, second_factor.new_recovery_codes(user)


def code(secret: str) -> str:
    return pyotp.TOTP(secret).now()


def wrong_code(secret: str) -> str:
    """A 6-digit code that no step around now accepts."""
    totp = pyotp.TOTP(secret)
    now = totp.timecode(utcnow())
    valid = {totp.at(step * totp.interval) for step in range(now - 2, now + 3)}
    return next(c for c in ("000000", "111111", "222222", "333333", "444444") if c not in valid)


def password_step(client, email=ADMIN_EMAIL, password=PASSWORD, next_url=None):
    data = {"email": email, "password": password, "csrf_token": token(client, "/login")}
    if next_url:
        data["next"] = next_url
    return client.post("/login", data=data)


def code_step(client, value: str):
    return client.post("/login/code", data={"code": value,
                                            "csrf_token": token(client, "/login/code")})


def signed_in(client) -> bool:
    return client.get("/admin/").status_code == 200
