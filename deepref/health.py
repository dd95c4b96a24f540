"""Liveness (/healthz, no database) and readiness (/readyz: database and migrations).

Neither needs a login and neither says anything about the configuration: no host,
no database name, no versions, no error text from the driver (that goes to the log).
"""

from __future__ import annotations

import logging

from flask import current_app

from deepref import migrate as runner
from deepref.db import database, failures

log = logging.getLogger(__name__)


def readiness() -> tuple[dict, int]:
    """The /readyz answer: ready, or why not."""
    try:
        database.execute_sql("SELECT 1")
        states = runner.status(database.obj, current_app.config["DEEPREF"].migrations_dir)
    except failures.DATABASE_ERRORS as exc:
        return _not_ready(failures.classify(exc))
    pending = [s for s in states if not s.applied_at]
    if pending:
        return {"status": "unavailable",
                "reason": f"{len(pending)} migration(s) pending"}, 503
    return {"status": "ready"}, 200


def _not_ready(failure: failures.Failure) -> tuple[dict, int]:
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
