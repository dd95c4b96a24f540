"""Where the admin console lives: one prefix, one test for "is this a console URL?"."""

from __future__ import annotations

from flask import redirect

PREFIX = "/admin"
HOME = "/admin/"


def is_console_path(path: str) -> bool:
    """True for /admin and every URL under it."""
    return path == PREFIX or path.startswith(PREFIX + "/")


def init_app(app) -> None:
    """Send the site's root to the console (where `make run`'s address leads)."""
    app.add_url_rule("/", "home", lambda: redirect(HOME))
