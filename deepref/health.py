"""Liveness (/healthz, no database) and readiness (/readyz: database and migrations).

Neither needs a login and neither says anything about the configuration: no host,
no database name, no versions, no error text from the driver (that goes to the log).
/readyz also reports each read replica by number (ready, lagging, unreachable...); a
replica never makes the app unready, as reads fall back to the primary.

A database server at its connection limit is not a reason to leave the load balancer:
every app host shares it, and a worker holding a pooled connection still serves. So a
full server answers 200 with "database": "full", the same whether or not this worker
had a connection to spare (never flapping between ready and not).
"""

from __future__ import annotations

import logging

from flask import current_app

from deepref import migrate as runner
from deepref.db import database, failures

log = logging.getLogger(__name__)


def readiness() -> tuple[dict, int]:
    """The /readyz answer: ready, or why not (and each replica's state)."""
    body, code = _primary()
    replicas = current_app.extensions.get("deepref_replicas")
    if replicas is not None:
        body["replicas"] = replicas.report()
    return body, code


def _primary() -> tuple[dict, int]:
    try:
        database.execute_sql("SELECT 1")
        if database.read_only_reason() is not None:
            log.warning("readiness: the database is a read-only server")
            return {"status": "unavailable", "reason": "database is read-only"}, 503
        states = runner.status(database.primary, current_app.config["DEEPREF"].migrations_dir)
    except failures.DATABASE_ERRORS as exc:
        return _not_ready(failures.classify(exc))
    pending = [s for s in states if not s.applied_at]
    if pending:
        return {"status": "unavailable",
                "reason": f"{len(pending)} migration(s) pending"}, 503
    return {"status": "ready"}, 200


def _not_ready(failure: failures.Failure) -> tuple[dict, int]:
    if failure.kind == failures.SERVER_FULL:
        log.warning("readiness: database server full: %s", failure.detail)
        return {"status": "ready", "database": "full"}, 200
    if failure.kind == failures.POOL_EXHAUSTED:
        reason = "no free database connection"
    elif failure.is_connection or failure.kind == failures.READ_ONLY:
        log.warning("readiness: database unreachable: %s", failure.detail)
        database.discard()
        reason = "database unreachable"
    else:
        log.warning("readiness: database error: %s", failure.detail)
        reason = "database error"
    return {"status": "unavailable", "reason": reason}, 503


def init_app(app) -> None:
    """Register /healthz and /readyz."""

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz():
        body, code = readiness()
        return body, code, {"Cache-Control": "no-store"}
