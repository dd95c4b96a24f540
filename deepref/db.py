"""The database: a proxy bound once per app to PostgreSQL (pooled, SSL) or SQLite."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

import click
import peewee as pw
from playhouse.pool import PooledPostgresqlDatabase

from deepref.config import DatabaseSettings

database = pw.DatabaseProxy()
log = logging.getLogger(__name__)

# Connections idle longer than this are closed on checkout rather than reused.
STALE_SECONDS = 300
CONNECT_TIMEOUT_SECONDS = 5


def make_database(settings: DatabaseSettings) -> pw.Database:
    """A peewee Database for `settings` (no connection is opened, no file created yet)."""
    if not settings.is_postgres:
        return pw.SqliteDatabase(
            settings.name,
            pragmas={"foreign_keys": 1, "journal_mode": "wal", "busy_timeout": 30000},
        )
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
    }
    if settings.ssl_mode:
        options["sslmode"] = settings.ssl_mode
    if settings.ssl_root_cert:
        options["sslrootcert"] = settings.ssl_root_cert
    return PooledPostgresqlDatabase(
        settings.name,
        max_connections=settings.pool_max,
        timeout=settings.pool_timeout,
        stale_timeout=STALE_SECONDS,
        **{k: v for k, v in options.items() if v is not None},
    )


class NoDatabase(click.ClickException):
    """The SQLite file does not exist yet: only `flask db migrate` creates it."""

    exit_code = 1


def sqlite_file(db: pw.Database) -> Path | None:
    """The file behind a SQLite database (None for PostgreSQL or in-memory SQLite)."""
    if not isinstance(db, pw.SqliteDatabase) or db.database in ("", ":memory:"):
        return None
    return Path(db.database)


def require_database_file(db: pw.Database) -> None:
    """Refuse to go on where connecting would create an empty SQLite file (and its folders)."""
    path = sqlite_file(db)
    if path is not None and not path.exists():
        raise NoDatabase(f"no database at {path}: run `flask db migrate` first")


def prepare_database_file(db: pw.Database) -> None:
    """Create the folders a new SQLite file goes in (migrations then create the file)."""
    path = sqlite_file(db)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


def release(db: pw.Database) -> None:
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


def bind(db: pw.Database) -> None:
    """Point the models' proxy at `db`."""
    database.initialize(db)


def warm_pool(db: pw.Database, count: int) -> int:
    """Open `count` pooled connections now, so the first requests don't pay for them."""
    if not isinstance(db, PooledPostgresqlDatabase) or count <= 0:
        return 0
    opened = []
    try:
        for _ in range(count):
            # _connect() raises the driver's errors; connect() would wrap them like this.
            with pw.__exception_wrapper__:
                opened.append(db._connect())
    except pw.OperationalError as exc:
        log.warning("could not warm the connection pool: %s", first_line(exc))
    finally:
        for conn in opened:
            db._close(conn)
    return len(opened)


def first_line(exc: BaseException) -> str:
    """The first line of a database error, for one-line messages."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class _SQLWithoutParameters(logging.Filter):
    """Log statements only: parameter values may be secrets (hashes, prompts)."""

    def filter(self, record):
        if isinstance(record.msg, tuple) and len(record.msg) == 2:
            record.msg, record.args = "%s", (record.msg[0],)
        return True


class _SQLToStderr(logging.StreamHandler):
    """deepref's SQL log handler (told apart from the NullHandler peewee installs)."""


def enable_sql_logging() -> None:
    """Log every SQL statement (without its parameter values) to stderr."""
    logger = logging.getLogger("peewee")
    if not any(isinstance(f, _SQLWithoutParameters) for f in logger.filters):
        logger.addFilter(_SQLWithoutParameters())
    logger.setLevel(logging.DEBUG)
    # peewee's logger always has a NullHandler: look for ours, not for "any handler".
    if not any(isinstance(h, _SQLToStderr) for h in logger.handlers):
        handler = _SQLToStderr()
        handler.setFormatter(logging.Formatter("%(asctime)s SQL %(message)s"))
        logger.addHandler(handler)


def init_app(app) -> None:
    """Bind the database and open/close a connection around each request."""
    settings = app.config["DEEPREF"]
    db = make_database(settings.database)
    bind(db)
    app.extensions["deepref_db"] = db
    if settings.sql_logging:
        enable_sql_logging()

    @app.teardown_appcontext
    def close_connection(exc):
        release(db)
