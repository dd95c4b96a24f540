"""Short error pages for /admin: 400, 403, 404, 405, 413 and 500, never a traceback or internals.

Registered app-wide (Flask-Admin's views are separate blueprints, registered before any
handler could be attached to them), but they answer only for /admin URLs; everywhere
else the default response is returned unchanged. Scripted requests (the type-ahead
lookups) get JSON. The exception behind a 500 is logged by Flask, never shown.
"""

from __future__ import annotations

from flask import jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException

from deepref import console
from deepref.errors import wants_json

# code -> (JSON error code, title, message)
MESSAGES = {
    400: ("bad_request", "Request refused",
          "This address or form contains a value the console cannot use. Nothing was "
          "changed. Check it, or start again from the console."),
    403: ("forbidden", "Not allowed",
          "Your console role does not allow this. Nothing was changed. Ask an admin if "
          "you need it."),
    404: ("not_found", "Not found",
          "There is no such page in the admin console. The record may have been deleted, "
          "or the address may be mistyped."),
    405: ("method_not_allowed", "Not allowed",
          "This page cannot be used that way. Nothing was changed."),
    413: ("too_large", "Too large",
          "What was sent is too large for the console to accept. Nothing was saved: "
          "shorten the long fields and try again."),
    500: ("server_error", "Something went wrong",
          "The console could not show this page because of an error on our side. It has "
          "been logged. Nothing was changed by viewing it; if you were saving, check the "
          "record before trying again."),
}


def is_scripted() -> bool:
    """The type-ahead lookups, and any client that asks for JSON."""
    return "/ajax/" in request.path or wants_json()


def error_page(code: int, message: str | None = None):
    """A short page (JSON for scripted clients) with `code` and a plain sentence."""
    error, title, default = MESSAGES[code]
    message = message or default
    if is_scripted():
        response = jsonify(error=error, message=message)
    else:
        response = make_response(render_template(
            "message.html", title=title, message=message, link_url=console.HOME,
            link_text="Back to the admin console"))
    response.status_code = code
    response.headers["Cache-Control"] = "no-store"
    return response


def http_error(exc: HTTPException):
    """Our page for an /admin URL; elsewhere the default response, as if not registered."""
    if not console.is_console_path(request.path):
        return exc
    return error_page(exc.code)


def init_app(app) -> None:
    """Register the pages (more specific handlers, e.g. CSRF's 400, still win)."""
    for code in MESSAGES:
        app.register_error_handler(code, http_error)
