"""Who is signed in, and the gate in front of every /admin URL.

The session (Flask's signed cookie) holds the user's id and a fingerprint of their
password hash. Every request re-reads the user by primary key, so an admin who is
deactivated, loses the admin role or has their password reset is signed out at once.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from flask import current_app, g, jsonify, redirect, request, session, url_for

from deepref.models import User
from deepref.models.fields import utcnow

PROTECTED_PREFIX = "/admin"
# Flask-Admin's own assets (bootstrap, jquery...): public files, no data. Serving them
# without a session saves a database query per asset.
PUBLIC_ENDPOINT_SUFFIX = ".static"
PUBLIC_PATH_PREFIX = "/admin/static/"
DEFAULT_NEXT = "/admin/"
_USER = "deepref_user"


def _fingerprint(user: User) -> str:
    key = str(current_app.secret_key or "").encode()
    return hmac.new(key, (user.password_hash or "").encode(), hashlib.sha256).hexdigest()[:32]


def session_values(user: User) -> dict:
    """What a signed-in session holds for `user` (tests may set it directly)."""
    return {"user_id": str(user.id), "auth_fp": _fingerprint(user)}


def _load_user() -> User | None:
    user_id = session.get("user_id")
    if not user_id:
        return None
    try:
        user = User.get_or_none(
            (User.id == user_id) & (User.is_active == True) & (User.role == "admin")  # noqa: E712
        )
    except ValueError:  # not a UUID
        user = None
    if user is None or not user.password_hash or not hmac.compare_digest(
        session.get("auth_fp", ""), _fingerprint(user)
    ):
        session.clear()
        return None
    return user


def current_user() -> User | None:
    """The signed-in admin, or None (loaded once per request)."""
    if _USER not in g:
        setattr(g, _USER, _load_user())
    return getattr(g, _USER)


def log_in(user: User) -> None:
    """Start a fresh session for `user` and record when they signed in."""
    session.clear()  # a new session: nothing set before sign-in survives it
    session.update(session_values(user))
    session.permanent = True
    now = utcnow()
    User.update(last_login_at=now).where(User.id == user.id).execute()
    user.last_login_at = now
    g.pop(_USER, None)


def log_out() -> None:
    """End the session."""
    session.clear()
    g.pop(_USER, None)


def is_protected(path: str) -> bool:
    """True for /admin and every URL under it."""
    return path == PROTECTED_PREFIX or path.startswith(PROTECTED_PREFIX + "/")


def _is_public_asset() -> bool:
    endpoint = request.endpoint or ""
    return request.path.startswith(PUBLIC_PATH_PREFIX) and endpoint.endswith(PUBLIC_ENDPOINT_SUFFIX)


def wants_json() -> bool:
    """True for scripted requests: XHR, or an Accept header preferring JSON over HTML."""
    if request.headers.get("X-Requested-With", "").lower() == "xmlhttprequest":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def safe_next(target: str | None) -> str:
    """`target` if it is a path on this site, else the admin home (no open redirect)."""
    if not target or any(ord(c) < 0x20 or c in "\\\x7f" for c in target):
        return DEFAULT_NEXT
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return DEFAULT_NEXT
    return target


def require_admin():
    """before_request: anonymous requests to /admin... get a redirect or a 401."""
    rule = request.url_rule.rule if request.url_rule else ""
    if not (is_protected(request.path) or is_protected(rule)) or _is_public_asset():
        return None
    if current_user() is not None:
        return None
    if wants_json():
        return jsonify(error="login required"), 401
    target = request.full_path if request.query_string else request.path
    return redirect(url_for("auth.login", next=target))
