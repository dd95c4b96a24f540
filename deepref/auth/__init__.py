"""Sign-in for the admin console: sessions, the /admin gate, CSRF, security headers.

`init_app(app)` registers, in this order: the gate in front of every /admin URL (so an
anonymous request is sent to /login before CSRF is even checked), CSRF protection on
every POST/PUT/PATCH/DELETE, cookie settings and security headers, /login (then
/login/code for a user with a second factor, second_factor.py) and /logout.
Admin accounts (admins.py) are made by the `flask create-admin` command (deepref.cli).
"""

from __future__ import annotations

from deepref.auth.security import csp_nonce
from deepref.auth.session import current_user, session_values

__all__ = ["current_user", "csp_nonce", "init_app", "session_values"]


def init_app(app) -> None:
    """Wire sign-in and the security plumbing into `app`."""
    from deepref.auth import security, session, views

    app.before_request(session.require_admin)
    security.init_app(app)
    app.register_blueprint(views.bp)
