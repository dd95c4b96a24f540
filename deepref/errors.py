"""The database down or the pool exhausted: a clear 503, never a traceback.

Dead connections never go back to the pool: peewee's pool already pings an idle
connection on checkout (SELECT 1) and drops one whose state is unknown on check-in;
on top of that, a request that failed with a connection error closes its connection
outright, so the next request after PostgreSQL comes back gets a fresh one.
"""

from __future__ import annotations

import contextlib
import html
import logging

import peewee as pw
from flask import current_app, jsonify, request
from playhouse.pool import MaxConnectionsExceeded, PooledDatabase

from deepref.db import first_line

log = logging.getLogger(__name__)

# Errors that mean "the database cannot serve this now", not "this request is wrong".
CONNECTION_ERRORS = (pw.OperationalError, pw.InterfaceError)
RETRY_AFTER_SECONDS = 5

UNREACHABLE = (
    "database_unavailable",
    "The database cannot be reached right now. If you were saving a change, it may not "
    "have been saved: please check it and try again in a moment.",
)
BUSY = (
    "server_busy",
    "The server is too busy right now: every database connection is in use. If you were "
    "saving a change, it was not saved: please try again in a moment.",
)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Temporarily unavailable</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 4em auto">
<h1>Temporarily unavailable</h1>
<p>{message}</p>
<p><a href="">Try again</a></p>
</body></html>
"""


def discard_connection(db: pw.Database) -> None:
    """Close this thread's connection for good (a pooled one is not put back)."""
    if db.is_closed():
        return
    with contextlib.suppress(Exception):  # it may be half-dead already
        if isinstance(db, PooledDatabase):
            db.manual_close()
        else:
            db.close()


def wants_json() -> bool:
    """True for scripted clients: XHR, or an Accept header preferring JSON over HTML."""
    if request.headers.get("X-Requested-With", "").lower() == "xmlhttprequest":
        return True
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == (
        "application/json"
    )


def unavailable(code: str, message: str):
    """A 503 response: JSON for scripted clients, a short page for browsers."""
    if wants_json():
        response = jsonify(error=code, message=message)
    else:
        response = current_app.response_class(
            PAGE.format(message=html.escape(message)), mimetype="text/html"
        )
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


def database_unreachable(exc: Exception):
    """The database refused, dropped or lost the connection: discard it, answer 503."""
    log.warning("database unavailable for %s %s: %s", request.method, request.path,
                first_line(exc))
    discard_connection(current_app.extensions["deepref_db"])
    return unavailable(*UNREACHABLE)


def pool_exhausted(exc: Exception):
    """No connection came free within DATABASE_POOL_TIMEOUT: answer 503."""
    log.warning("no free database connection for %s %s", request.method, request.path)
    return unavailable(*BUSY)


def init_app(app) -> None:
    """Register the handlers for database errors."""
    for error in CONNECTION_ERRORS:
        app.register_error_handler(error, database_unreachable)
    app.register_error_handler(MaxConnectionsExceeded, pool_exhausted)
