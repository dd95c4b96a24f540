"""The app the deployment tests serve with gunicorn: deepref plus a few test-only routes.

`gunicorn ... 'deploy_app:build()'` (tests/ on the Python path) or
`flask --app 'tests/deploy_app.py:build()' ...`; in-process tests register `bp` on
their own apps. DEPLOY_TEST_MIGRATIONS_DIR points the app at a temporary migrations
folder.
"""

from __future__ import annotations

import os

from flask import Blueprint, request

from deepref import create_app
from deepref.db import database
from deepref.models import User

TAG_DOMAIN = "deploy.test"

bp = Blueprint("deploy_test", __name__, url_prefix="/test")


@bp.post("/write")
def write():
    """Insert `rows` users tagged `tag` in one transaction, pausing between rows."""
    rows, pause, tag = int(request.args["rows"]), float(request.args["pause"]), request.args["tag"]
    with database.atomic():
        for i in range(rows):
            User.create(email=f"{tag}-{i}@{TAG_DOMAIN}")
            database.execute_sql("SELECT pg_sleep(%s)", (pause,))
    return {"written": rows}


@bp.get("/read")
def read():
    """A small read: how many users there are."""
    return {"users": User.select().count()}


@bp.get("/whoami")
def whoami():
    """What the app believes about the client, after any ProxyFix."""
    return {"scheme": request.scheme, "remote_addr": request.remote_addr, "host": request.host}


@bp.get("/slow")
def slow():
    """Hold a database connection for `seconds`."""
    seconds = float(request.args["seconds"])
    database.execute_sql("SELECT pg_sleep(%s)", (seconds,))
    return {"slept": seconds}


def build():
    """deepref from the environment, plus the test routes."""
    config = {}
    if os.environ.get("DEPLOY_TEST_MIGRATIONS_DIR"):
        config["MIGRATIONS_DIR"] = os.environ["DEPLOY_TEST_MIGRATIONS_DIR"]
    return add_test_routes(create_app(config))


def add_test_routes(application):
    """Register the test routes (exempt from CSRF: scripted clients carry no token)."""
    application.register_blueprint(bp)
    csrf = application.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(bp)
    return application
