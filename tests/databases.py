"""Throwaway databases for the tests: SQLite in a temp file, PostgreSQL in a new database.

PostgreSQL is found at TEST_POSTGRES_URL (default: postgres@127.0.0.1:5432, trust auth).
If it cannot be reached, PostgreSQL tests fail: they never skip.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import peewee as pw
import psycopg2
import pytest
from cryptography.fernet import Fernet

from deepref import create_app, models
from deepref import migrate as runner
from deepref.db import database

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# PostgreSQL apps refuse to start without keys (deepref.keys): one set per test session.
TEST_KEYS = {"SECRET_KEY": secrets.token_urlsafe(32),
             "PROMPT_ENCRYPTION_KEYS": Fernet.generate_key().decode()}
BACKENDS = ["sqlite", "postgres"]


def admin_connection():
    """An autocommit connection to the server's maintenance database."""
    try:
        conn = psycopg2.connect(POSTGRES_URL, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        pytest.fail(f"PostgreSQL is needed for these tests and is not reachable at "
                    f"{POSTGRES_URL}: {exc}", pytrace=False)
    conn.autocommit = True
    return conn


def postgres_url_for(name: str) -> str:
    """POSTGRES_URL with its database name replaced."""
    parts = urlsplit(POSTGRES_URL)
    return urlunsplit(parts._replace(path=f"/{name}"))


@contextlib.contextmanager
def throwaway_postgres(prefix: str = "deepref_test", template: str | None = None):
    """A new PostgreSQL database's URL, empty or a copy of `template` (a database name);
    dropped afterwards, whoever is connected."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    with contextlib.closing(admin_connection()) as admin:
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"{copy}')
        try:
            yield postgres_url_for(name)
        finally:
            with admin.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def throwaway_database(backend: str, folder: Path, prefix: str = "deepref_test"):
    """A new database's URL for `backend`: a file in `folder`, or a PostgreSQL database."""
    if backend == "sqlite":
        yield f"sqlite:///{folder}/deepref.sqlite3"
        return
    with throwaway_postgres(prefix) as url:
        yield url


@contextlib.contextmanager
def module_env(backend: str, folder: Path, prefix: str):
    """The environment of one database for a whole test module (a database per test is
    slow), with keys of its own; the module empties it between tests (empty_tables)."""
    keys = {"SECRET_KEY": secrets.token_urlsafe(32),
            "PROMPT_ENCRYPTION_KEYS": Fernet.generate_key().decode()}
    with throwaway_database(backend, folder, prefix) as url:
        yield app_env(url, **keys)


def empty_tables(db) -> None:
    """Delete every row but the runner's bookkeeping (children first; DELETE is much
    cheaper than TRUNCATE here), then close the connection."""
    ordered = [m._meta.table_name for m in reversed(pw.sort_models(models.ALL_MODELS))]
    tables = set(db.get_tables()) - runner.BOOKKEEPING
    with db.atomic():
        for table in ordered + sorted(tables - set(ordered)):
            if table in tables:
                db.execute_sql(f'DELETE FROM "{table}"')
    if not db.is_closed():
        db.close()


def app_env(url: str, **extra: str) -> dict[str, str]:
    """The environment a test app sees (nothing from the real environment or .env)."""
    return {"DATABASE_URL": url, "DATABASE_POOL_MIN": "1", "DATABASE_POOL_MAX": "5",
            **TEST_KEYS, **extra}


def migrated_app(env: dict[str, str], instance: Path, **config):
    """An app on `env`'s database with every revision applied."""
    app = create_app({"ENV": env, "INSTANCE_PATH": str(instance), "TESTING": True, **config})
    runner.migrate(database_of(app), echo=lambda line: None)
    return app


class MigratedTemplates:
    """One database per backend with every revision applied, made once per test session:
    a test that needs a migrated database gets a copy (CREATE DATABASE ... TEMPLATE, or a
    file copy), not a migration run of its own."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.made: dict[str, str] = {}
        self._stack = contextlib.ExitStack()

    def get(self, backend: str) -> str:
        """The template's database name (PostgreSQL) or file path (SQLite)."""
        if backend not in self.made:
            self.made[backend] = self._make(backend)
        return self.made[backend]

    def _make(self, backend: str) -> str:
        if backend == "sqlite":
            path = self.folder / "template.sqlite3"
            url = f"sqlite:///{path}"
        else:
            url = self._stack.enter_context(throwaway_postgres("deepref_template"))
        app = migrated_app(app_env(url), self.folder / f"instance-{backend}")
        db = database_of(app)
        if backend == "sqlite":
            db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")  # all of it in the one file
        db.shut()
        return str(path) if backend == "sqlite" else urlsplit(url).path.lstrip("/")

    def close(self) -> None:
        self._stack.close()


def database_of(app):
    """The app's database, the models' proxy bound to it (as a request or command would)."""
    with app.app_context():
        return database.obj


def close_database(app) -> None:
    """Close every connection the app's database holds."""
    database_of(app).shut()
