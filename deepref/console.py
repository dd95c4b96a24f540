"""Where the admin console lives: one prefix, one test for "is this a console URL?"."""

from __future__ import annotations

PREFIX = "/admin"
HOME = "/admin/"


def is_console_path(path: str) -> bool:
    """True for /admin and every URL under it."""
    return path == PREFIX or path.startswith(PREFIX + "/")

