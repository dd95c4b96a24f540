"""The database layer: the one place that knows which backend is in use.

- `database`: the proxy every model uses, bound once per app (and re-bound when
  another app's context is pushed, so tests may hold several apps).
- backends.py: PostgreSQL (pooled, SSL) and SQLite as Database classes with the
  methods callers need instead of branching on the backend (locks, estimates, pool
  warm-up, files).
- failures.py: what a database error means (down, full, busy, read-only...).
- replicas.py: reads from streaming replicas (DATABASE_REPLICA_URL), writes on the
  primary; the proxy below routes them.
- sql_log.py: statement logging without parameter values.

`migration_database()` is what `flask db` and start-up migrations use:
DATABASE_MIGRATION_URL (a direct connection when DATABASE_URL goes through a
transaction pooler), else the app's own database.
"""

from __future__ import annotations

import contextlib
import logging

import peewee as pw
from flask import appcontext_pushed, current_app

from deepref.config import DatabaseSettings
from deepref.db import replicas
from deepref.db.backends import (
    NoDatabase, PostgresDatabase, SqliteDatabase, UnfitForMigrations,
)
from deepref.db.failures import DATABASE_ERRORS, Failure, classify, first_line, is_database_error
from deepref.db.sql_log import enable_sql_logging

__all__ = [
    "Failure", "NoDatabase", "PostgresDatabase", "SqliteDatabase", "UnfitForMigrations", "bind",
    "classify", "database", "first_line", "init_app", "is_database_error", "make_database",
    "migration_database", "read_only_warning", "release",
]

database = replicas.RoutedProxy()
log = logging.getLogger(__name__)

# Connections idle longer than this are closed on checkout rather than reused.
STALE_SECONDS = 300
CONNECT_TIMEOUT_SECONDS = 5


def make_database(settings: DatabaseSettings, role: str = "") -> pw.Database:
    """A Database for `settings` (no connection is opened, no file created yet);
    `role` is added to its application_name (e.g. "migrate", "replica 1")."""
    if settings.engine == "sqlite":
        return SqliteDatabase(settings.name)
    options = {
        "host": settings.host,
        "port": settings.port,
        "user": settings.user,
        "password": settings.password,
        "connect_timeout": CONNECT_TIMEOUT_SECONDS,
        "application_name": f"deepref {role}".strip(),
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


def migration_database(app=None) -> pw.Database:
    """The database migrations run on: DATABASE_MIGRATION_URL's, else the app's own."""
    app = app or current_app
    settings = app.config["DEEPREF"].migration_database
    if settings is None:
        return database.primary
    if "deepref_migration_db" not in app.extensions:
        db = make_database(settings, role="migrate")
        db.setting = "DATABASE_MIGRATION_URL"
        app.extensions["deepref_migration_db"] = db
    return app.extensions["deepref_migration_db"]


def read_only_warning(db: pw.Database) -> str | None:
    """A line saying `db` is a read-only server (a standby), or None; never raises."""
    if not db.is_postgres:
        return None
    try:
        db.connect(reuse_if_open=True)
        what = db.read_only_reason()
    except DATABASE_ERRORS:
        return None  # down or full: said by the first request that needs it
    finally:
        release(db)
    if what is None:
        return None
    return (f"DATABASE_URL points at a read-only server ({what}): sign-in and every "
            "write will answer 503 until it points at the primary")


def init_app(app) -> None:
    """Bind the database and open/close a connection around each request."""
    settings = app.config["DEEPREF"]
    db = make_database(settings.database)
    bind(db)
    if settings.sql_logging:
        enable_sql_logging(settings.log_format)
    if settings.replicas.databases:
        replicas.init_app(app, replicas.Replicas(
            [replicas.Replica(n, make_database(s, role=f"replica {n}"))
             for n, s in enumerate(settings.replicas.databases, start=1)],
            settings.replicas.max_lag, settings.replicas.read_your_writes))

    def use_this_database(sender, **extra):
        if database.primary is not db:
            bind(db)

    appcontext_pushed.connect(use_this_database, app, weak=False)

    @app.teardown_appcontext
    def close_connection(exc):
        release(db)
        migrating = app.extensions.get("deepref_migration_db")
        if migrating is not None:
            release(migrating)


def shut_all(app) -> None:
    """Close every connection the app holds: its pool, replicas', migrations' (fork, exit)."""
    database.primary.shut()
    for name in ("deepref_migration_db", "deepref_replicas"):
        if name in app.extensions:
            app.extensions[name].shut()
