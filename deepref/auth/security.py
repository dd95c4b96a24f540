"""Security plumbing for every response: cookies, CSRF (Flask-WTF), headers, CSP.

Content-Security-Policy, and why it is shaped so:
- Scripts (script-src) come from this site or carry the per-request nonce: an injected
  `<script>` does not run. Flask-Admin adds the nonce to its own tags when built with
  `Admin(csp_nonce_generator=deepref.auth.csp_nonce)`. No 'unsafe-inline', so browsers
  with only CSP level 2 are as strict as the others.
- No inline event handlers (script-src-attr 'none') and no `javascript:` URLs: an
  injected `<img onerror=...>` does not run. The Flask-Admin templates that used
  `onclick=` are overridden in templates/admin/ with data-* attributes, and
  static/admin.js (loaded with the nonce) does the clicking; it also keeps Flask-Admin's
  remaining `href="javascript:void(0)"` links from being followed.
- Styles: 'unsafe-inline' because select2, x-editable and the date picker build
  elements with style attributes.
- No other origin is allowed for anything; no plugins, no <base>, no framing, forms
  post only here. data: images and fonts are used by bootstrap's CSS.
"""

from __future__ import annotations

import datetime as dt
import secrets

from flask import g, has_request_context, jsonify, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect

from deepref import console
from deepref.auth.session import PUBLIC_PATH_PREFIX
from deepref.errors import wants_json

SESSION_LIFETIME = dt.timedelta(hours=8)  # idle timeout: refreshed on each request
csrf = CSRFProtect()

CSP = (
    "default-src 'self'; "
    "script-src 'self'{nonce}; "
    "script-src-attr 'none'; "
    "style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; "
    "font-src 'self' data:; "
    "connect-src 'self'; "
    "object-src 'none'; "
    "base-uri 'none'; "
    "form-action 'self'; "
    "frame-ancestors 'none'"
)
HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
CSRF_MESSAGE = (
    "This form could not be accepted: it has expired or did not come from this site. "
    "Go back, reload the page and submit it again."
)


def csp_nonce() -> str:
    """This request's CSP nonce, for `<script nonce=...>` (Flask-Admin's generator)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, whose cookie is also Secure on any HTTPS request
    (behind a TLS proxy, ProxyFix makes request.is_secure true)."""

    def get_cookie_secure(self, app) -> bool:
        secure = super().get_cookie_secure(app)
        return secure or (has_request_context() and request.is_secure)


def configure_cookies(app) -> None:
    """Session cookie: HttpOnly, SameSite=Lax, Secure when configured or over HTTPS;
    expires after 8 hours without a request."""
    app.session_interface = SessionInterface()
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = app.config["DEEPREF"].session_cookie_secure
    app.config["PERMANENT_SESSION_LIFETIME"] = SESSION_LIFETIME


def add_headers(response):
    """after_request: the security headers, on every response."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    nonce = f" 'nonce-{g.csp_nonce}'" if "csp_nonce" in g else ""
    response.headers.setdefault("Content-Security-Policy", CSP.format(nonce=nonce))
    if console.is_console_path(request.path) and not request.path.startswith(PUBLIC_PATH_PREFIX):
        # Signed-in pages hold data: not kept by browsers or proxies after sign-out.
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def csrf_refused(error: CSRFError):
    """A plain 400 for a missing, expired or foreign CSRF token (never a traceback)."""
    if wants_json():
        return jsonify(error="CSRF token missing or invalid"), 400
    return render_template("message.html", title="Form refused",
                           message=CSRF_MESSAGE), 400


def init_app(app) -> None:
    """Cookies, CSRF on every state-changing request, headers on every response."""
    configure_cookies(app)
    # A token is valid for the whole session (not 1 hour), so a long edit is not lost.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    csrf.init_app(app)
    app.register_error_handler(CSRFError, csrf_refused)
    app.after_request(add_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
