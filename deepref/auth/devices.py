"""Known devices: a browser an admin has signed in from before is not held by the lock
on their email.

The per-email lock (throttle.py) stops password guessing spread over many addresses,
but anyone who knows an admin's email could keep it locked forever. So a successful
sign-in leaves a signed, HttpOnly cookie naming the email and a fingerprint of the
current password hash; a sign-in from that browser skips the email lock (the lock on
its own address still applies, so a stolen cookie still gets only LIMIT guesses per
address and window). Changing the password (flask create-admin) invalidates every such
cookie at once. This is OWASP's "device cookie" defence, without a table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from flask import current_app, request, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "deepref_device"
LIFETIME = dt.timedelta(days=365)
_SALT = "deepref-known-device"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=_SALT)


def _fingerprint(password_hash: str) -> str:
    key = str(current_app.secret_key).encode()
    return hmac.new(key, password_hash.encode(), hashlib.sha256).hexdigest()[:32]


def is_known(user) -> bool:
    """Has this browser signed in as `user`, with the password `user` has now?"""
    raw = request.cookies.get(COOKIE)
    if user is None or not user.password_hash or not raw:
        return False
    try:
        data = _serializer().loads(raw, max_age=int(LIFETIME.total_seconds()))
    except BadSignature:
        return False
    if not isinstance(data, dict):
        return False
    return (data.get("email") == user.email
            and hmac.compare_digest(str(data.get("key", "")), _fingerprint(user.password_hash)))


def remember(response, user) -> None:
    """Mark this browser as known for `user` (after a successful sign-in)."""
    value = _serializer().dumps({"email": user.email, "key": _fingerprint(user.password_hash)})
    response.set_cookie(COOKIE, value, max_age=int(LIFETIME.total_seconds()),
                        path=url_for("auth.login"),
                        secure=request.is_secure or current_app.config["SESSION_COOKIE_SECURE"],
                        httponly=True, samesite="Strict")
