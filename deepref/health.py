"""Liveness (/healthz, no database) and readiness (/readyz: database and migrations).

Neither needs a login and neither says anything about the configuration: no host,
no database name, no versions, no error text from the driver (that goes to the log).
"""

from __future__ import annotations

import logging

import peewee as pw
from flask import current_app
from playhouse.pool import MaxConnectionsExceeded

from deepref import migrate as runner
from deepref.db import first_line
from deepref.deploy import migrations_dir
from deepref.errors import discard_connection

log = logging.getLogger(__name__)


def readiness() -> tuple[dict, int]:
    """The /readyz answer: ready, or why not."""
    db = current_app.extensions["deepref_db"]
    try:
        db.execute_sql("SELECT 1")
        pending = [s for s in runner.status(db, migrations_dir(current_app)) if not s.applied_at]
    except MaxConnectionsExceeded:
        return {"status": "unavailable", "reason": "no free database connection"}, 503
    except (pw.OperationalError, pw.InterfaceError) as exc:
        log.warning("readiness: database unreachable: %s", first_line(exc))
        discard_connection(db)
        return {"status": "unavailable", "reason": "database unreachable"}, 503
    except pw.DatabaseError as exc:
        log.warning("readiness: database error: %s", first_line(exc))
        return {"status": "unavailable", "reason": "database error"}, 503
    if pending:
        return {"status": "unavailable",
                "reason": f"{len(pending)} migration(s) pending"}, 503
    return {"status": "ready"}, 200


def init_app(app) -> None:
    """Register /healthz and /readyz."""

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz():
        body, code = readiness()
        return body, code, {"Cache-Control": "no-store"}
