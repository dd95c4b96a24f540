"""Who is signed in, and the gate in front of every /admin URL.

Sessions are server-side: the signed cookie holds only a random token, whose hash
names a row of admin_sessions. Every request reads that row with its user, so signing
out (the row is deleted), a password reset, deactivation or loss of the admin role
ends the session at once, even for a copied cookie. Sessions also end after IDLE
without a request and MAX_AGE after sign-in, whatever the cookie says.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from urllib.parse import urlsplit

from flask import g, jsonify, redirect, request, session, url_for
from werkzeug.exceptions import SecurityError

from deepref import console
from deepref.errors import wants_json
from deepref.models import AdminSession, User
from deepref.models.fields import utcnow

# Flask-Admin's own assets (bootstrap, jquery...): public files, no data. Serving them
# without a session saves a database query per asset.
PUBLIC_ENDPOINT_SUFFIX = ".static"
PUBLIC_PATH_PREFIX = "/admin/static/"
DEFAULT_NEXT = console.HOME
_USER = "deepref_user"
IDLE = dt.timedelta(hours=8)
MAX_AGE = dt.timedelta(hours=24)
# last_seen_at is written at most this often: not one write per request.
TOUCH_EVERY = dt.timedelta(minutes=5)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def session_values(user: User) -> dict:
    """Open a server-side session for `user`; what the cookie must hold for it."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    AdminSession.delete().where(
        (AdminSession.last_seen_at < now - IDLE) | (AdminSession.created_at < now - MAX_AGE)
    ).execute()
    AdminSession.create(token_hash=_hash(token), user=user, created_at=now, last_seen_at=now)
    return {"session_token": token}


def end_sessions(user_id) -> int:
    """Sign `user_id` out everywhere (password reset, demotion); how many sessions ended."""
    return AdminSession.delete().where(AdminSession.user == user_id).execute()


def _load_user() -> User | None:
    token = session.get("session_token")
    if not isinstance(token, str) or not token:
        return None
    row = (AdminSession.select(AdminSession, User).join(User)
           .where(AdminSession.token_hash == _hash(token)).first())
    now = utcnow()
    user = row.user if row else None
    if (row is None or not user.can_sign_in
            or row.last_seen_at < now - IDLE or row.created_at < now - MAX_AGE):
        if row is not None:
            row.delete_instance()
        session.clear()
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        AdminSession.update(last_seen_at=now).where(AdminSession.id == row.id).execute()
    return user


def current_user() -> User | None:
    """The signed-in admin, or None (loaded once per request)."""
    if _USER not in g:
        setattr(g, _USER, _load_user())
    return getattr(g, _USER)


def loaded_user() -> User | None:
    """The signed-in admin if this request has looked it up already (no query)."""
    return g.get(_USER)


def _end_current() -> None:
    token = session.get("session_token")
    if isinstance(token, str) and token:
        AdminSession.delete().where(AdminSession.token_hash == _hash(token)).execute()
    session.clear()
    g.pop(_USER, None)


def log_in(user: User) -> None:
    """Start a fresh session for `user` and record when they signed in."""
    _end_current()  # a new session: nothing set before sign-in survives it
    session.update(session_values(user))
    session.permanent = True
    now = utcnow()
    User.update(last_login_at=now).where(User.id == user.id).execute()
    user.last_login_at = now
    g.pop(_USER, None)


def log_out() -> None:
    """End the session: its row goes, so the cookie is worthless even if copied."""
    _end_current()


def _is_public_asset() -> bool:
    endpoint = request.endpoint or ""
    return request.path.startswith(PUBLIC_PATH_PREFIX) and endpoint.endswith(PUBLIC_ENDPOINT_SUFFIX)


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
    if isinstance(request.routing_exception, SecurityError):
        return None  # a host outside TRUSTED_HOSTS: the request fails with a 400 anyway
    rule = request.url_rule.rule if request.url_rule else ""
    if not (console.is_console_path(request.path) or console.is_console_path(rule)) \
            or _is_public_asset():
        return None
    if current_user() is not None:
        return None
    if wants_json():
        return jsonify(error="login required"), 401
    target = request.full_path if request.query_string else request.path
    return redirect(url_for("auth.login", next=target))
