"""The database layer: the one place that knows which backend is in use.

- `database`: the proxy every model uses, bound once per app (and re-bound when
  another app's context is pushed, so tests may hold several apps).
- backends.py: PostgreSQL (pooled, SSL) and SQLite as Database classes with the
  methods callers need instead of branching on the backend (locks, estimates, pool
  warm-up, files).
- failures.py: what a database error means (down, full, busy, read-only...).
- sql_log.py: statement logging without parameter values.
"""

from __future__ import annotations

import contextlib
import logging

import peewee as pw
from flask import appcontext_pushed

from deepref.config import DatabaseSettings
from deepref.db.backends import NoDatabase, PostgresDatabase, SqliteDatabase
from deepref.db.failures import Failure, classify, first_line, is_database_error
from deepref.db.sql_log import enable_sql_logging

__all__ = [
    "Failure", "NoDatabase", "PostgresDatabase", "SqliteDatabase", "bind", "classify",
    "database", "first_line", "init_app", "is_database_error", "make_database", "release",
]

database = pw.DatabaseProxy()
log = logging.getLogger(__name__)

# Connections idle longer than this are closed on checkout rather than reused.
STALE_SECONDS = 300
CONNECT_TIMEOUT_SECONDS = 5


def make_database(settings: DatabaseSettings) -> pw.Database:
    """A Database for `settings` (no connection is opened, no file created yet)."""
    if settings.engine == "sqlite":
        return SqliteDatabase(settings.name)
    options = {
        "host": settings.host,
        "port": settings.port,
        "user": settings.user,
        "password": settings.password,
        "connect_timeout": CONNECT_TIMEOUT_SECONDS,
        "application_name": "deepref",
        # A database host that vanishes without closing connections is noticed in
        # about a minute instead of hanging a worker until gunicorn kills it.
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
        "sslmode": settings.ssl_mode,
        "sslrootcert": settings.ssl_root_cert,
    }
    return PostgresDatabase(
        settings.name,
        max_connections=settings.pool_max,
        timeout=settings.pool_timeout,
        stale_timeout=STALE_SECONDS,
        **{k: v for k, v in options.items() if v is not None},
    )


def bind(db: pw.Database) -> None:
    """Point the models' proxy at `db`."""
    database.initialize(db)


def release(db: pw.Database = database) -> None:
    """Close this thread's connection, first rolling back a transaction left open.

    Never raises: it runs while another error is being reported, which must stay the
    one line the user sees (peewee refuses to close inside a transaction).
    """
    if db.is_closed():
        return
    if db.in_transaction():
        with contextlib.suppress(Exception):  # the connection may be dead already
            db.rollback()
        while db.in_transaction():
            db.pop_transaction()
    try:
        db.close()
    except Exception as exc:  # see the docstring
        log.warning("could not close the database connection: %s", first_line(exc))


def init_app(app) -> None:
    """Bind the database and open/close a connection around each request."""
    settings = app.config["DEEPREF"]
    db = make_database(settings.database)
    bind(db)
    if settings.sql_logging:
        enable_sql_logging(settings.log_format)

    def use_this_database(sender, **extra):
        if database.obj is not db:
            bind(db)

    appcontext_pushed.connect(use_this_database, app, weak=False)

    @app.teardown_appcontext
    def close_connection(exc):
        release(db)
