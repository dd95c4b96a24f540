"""The database down, full, read-only or the pool exhausted: a clear 503, never a traceback.

Dead connections never go back to the pool: peewee's pool already pings an idle
connection on checkout (SELECT 1) and drops one whose state is unknown on check-in;
on top of that, a request that failed with a connection error closes its connection
outright, so the next request after PostgreSQL comes back gets a fresh one.
"""

from __future__ import annotations

import logging

import peewee as pw
from flask import jsonify, make_response, render_template, request
from playhouse.pool import MaxConnectionsExceeded

from deepref.db import database, failures

log = logging.getLogger(__name__)

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
FULL = (
    "database_full",
    "The database has no free connection right now (it is serving as many as it can). "
    "If you were saving a change, it was not saved: please try again in a moment.",
)
READ_ONLY = (
    "database_read_only",
    "The database accepts no changes right now (it is a read-only copy). Your change was "
    "not saved: please try again later.",
)


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
        response = make_response(render_template(
            "message.html", title="Temporarily unavailable", message=message,
            link_url="", link_text="Try again"))
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


def database_failed(exc: Exception):
    """A connection that failed or could not be had: 503 (a failed one is discarded)."""
    failure = failures.classify(exc)
    if failure.kind == failures.POOL_EXHAUSTED:
        log.warning("no free database connection for %s %s", request.method, request.path)
        return unavailable(*BUSY)
    if failure.kind == failures.SERVER_FULL:
        # Refused at connect: nothing was written, and there is no connection to drop.
        log.warning("database server full (no connection slot) for %s %s: %s",
                    request.method, request.path, failure.detail)
        return unavailable(*FULL)
    if failure.kind == failures.READ_ONLY:
        return read_only(exc)
    log.warning("database unavailable for %s %s: %s", request.method, request.path,
                failure.detail)
    database.discard()
    return unavailable(*UNREACHABLE)


def read_only(exc: Exception):
    """A write refused by a read-only server (a standby as DATABASE_URL): 503, not 500."""
    failure = failures.classify(exc)
    if failure is None or failure.kind != failures.READ_ONLY:
        raise exc  # any other internal error stays a 500, logged with its traceback
    log.warning("database read-only for %s %s: %s", request.method, request.path,
                failure.detail)
    return unavailable(*READ_ONLY)


def init_app(app) -> None:
    """Register the handler for connection failures (statement errors stay 500s)."""
    for error in (pw.OperationalError, pw.InterfaceError, MaxConnectionsExceeded):
        app.register_error_handler(error, database_failed)
    app.register_error_handler(pw.InternalError, read_only)
