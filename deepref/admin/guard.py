"""Every /admin query string checked once, before any view runs: refused with a 400 that
says what is wrong, instead of reaching the database and failing there.

- No NUL character anywhere (PostgreSQL cannot hold one in text: psycopg2 refuses it).
- No value longer than MAX_CHARS; searches of at most MAX_SEARCH_CHARS characters and
  MAX_WORDS words, and at most MAX_FILTERS filters: each word or filter is one more
  nested condition, and a few hundred of them exhaust SQLite's expression depth or
  Python's recursion limit.
- A return address (`url`, in the query or a form) is a path on this site: no scheme,
  no host, no control character (a CR/LF would otherwise reach the Location header).
  Flask-Admin's own check trusts whatever host the request names.
- Paging and sorting numbers (`page`, `page_size`, `sort`, `desc`, and the lookups'
  `offset` and `limit`) are whole numbers from 0 to MAX_NUMBER: OFFSET and LIMIT can be
  neither negative nor beyond a 64-bit integer.

Form values are checked by the forms themselves (deepref.admin.fields.AdminForm), so
that a bad value is a form error and what was typed stays in the form.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import request

from deepref import console
from deepref.admin import pages

MAX_ARGS = 100
MAX_CHARS = 2000
MAX_SEARCH_CHARS = 200
MAX_WORDS = 20
MAX_FILTERS = 20
MAX_NUMBER = 1_000_000_000
NUMBERS = ("page", "page_size", "sort", "desc", "offset", "limit")
SEARCHES = ("search", "query")


def problem(args) -> str | None:
    """Why these query arguments are refused, or None if they are fine."""
    pairs = list(args.items(multi=True))
    if len(pairs) > MAX_ARGS:
        return f"The address has too many parameters (at most {MAX_ARGS})."
    if sum(1 for name, _ in pairs if name.startswith("flt")) > MAX_FILTERS:
        return f"Use at most {MAX_FILTERS} filters at a time."
    for name, value in pairs:
        if "\x00" in name or "\x00" in value:
            return "The address contains a NUL character (%00), which the console cannot use."
        if len(value) > MAX_CHARS:
            return f"The value of '{name[:40]}' is too long (at most {MAX_CHARS} characters)."
    for name in NUMBERS:
        for value in args.getlist(name):
            if value and not (value.isascii() and value.isdigit() and int(value) <= MAX_NUMBER):
                return f"'{name}' must be a whole number from 0 to {MAX_NUMBER:,}."
    for name in SEARCHES:
        for value in args.getlist(name):
            if len(value) > MAX_SEARCH_CHARS or len(value.split()) > MAX_WORDS:
                return (f"Search for at most {MAX_WORDS} words ({MAX_SEARCH_CHARS} characters) "
                        "at a time.")
    return None


RETURN_ADDRESS = "url"


def return_address_problem(target: str | None) -> str | None:
    """Why `target` cannot be a return address, or None for a path on this site."""
    if not target:
        return None
    if any(ord(c) < 0x20 or c in "\\\x7f" for c in target):
        return "The return address contains a line break or control character."
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "The return address must be a page of this console."
    return None


def check_query():
    """before_request: a 400 for a refused /admin query string or return address."""
    if not console.is_console_path(request.path):
        return None
    message = problem(request.args)
    if message is None:
        for target in (request.args.getlist(RETURN_ADDRESS) + request.form.getlist(RETURN_ADDRESS)
                       if request.method == "POST" else request.args.getlist(RETURN_ADDRESS)):
            message = return_address_problem(target)
            if message:
                break
    if message is not None:
        return pages.error_page(400, message)
    return None


def init_app(app) -> None:
    """Runs after deepref.auth's gate: anonymous requests are sent to sign in first."""
    app.before_request(check_query)
