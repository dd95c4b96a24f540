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

from flask import current_app, g, jsonify, redirect, request, session, url_for
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
_PENDING = "second_step"
# How long after the password the code may be given.
SECOND_STEP = dt.timedelta(minutes=5)
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


def current_session_id():
    """The id of this request's session row, or None."""
    token = session.get("session_token")
    if not isinstance(token, str) or not token:
        return None
    return (AdminSession.select(AdminSession.id)
            .where(AdminSession.token_hash == _hash(token)).scalar())


def end_other_sessions(user_id) -> int:
    """Sign `user_id` out everywhere but here (own password change); how many ended."""
    query = AdminSession.delete().where(AdminSession.user == user_id)
    here = current_session_id()
    if here is not None:
        query = query.where(AdminSession.id != here)
    return query.execute()


def start_second_step(user: User, next_url: str) -> None:
    """The password was right: remember, in the signed cookie only, who must now give a
    code. Nothing is signed in yet; a fresh sign-in replaces any earlier session."""
    _end_current()
    session[_PENDING] = {"user": str(user.id), "at": utcnow().timestamp(), "next": next_url}


def second_step_user() -> tuple[User | None, str]:
    """(the user waiting to give a code, where to go next); None once SECOND_STEP passed."""
    pending = session.get(_PENDING)
    if not isinstance(pending, dict):
        return None, DEFAULT_NEXT
    try:
        started = float(pending.get("at"))
        user = User.get_or_none(User.id == str(pending.get("user")))
    except (TypeError, ValueError):
        user = None
    else:
        if utcnow().timestamp() - started > SECOND_STEP.total_seconds():
            user = None
    if user is None or not user.can_sign_in:
        session.pop(_PENDING, None)
        return None, DEFAULT_NEXT
    return user, safe_next(pending.get("next"))


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
    user = current_user()
    if user is not None:
        return _enrolment_gate(user)
    if wants_json():
        return jsonify(error="login required"), 401
    target = request.full_path if request.query_string else request.path
    return redirect(url_for("auth.login", next=target))


# What an admin who must enrol a second factor may still open.
ENROLMENT_ENDPOINTS = frozenset({"account.enrol"})


def _enrolment_gate(user: User):
    """TOTP_REQUIRED_FOR_ADMINS: an admin without a second factor is sent to enrol."""
    from deepref.auth import second_factor

    required = current_app.config["DEEPREF"].totp_required_for_admins
    if request.endpoint in ENROLMENT_ENDPOINTS or not second_factor.must_enrol(user, required):
        return None
    if wants_json():
        return jsonify(error="second factor required: enrol at /admin/account/second-factor"), 403
    return redirect(url_for("account.enrol"))
