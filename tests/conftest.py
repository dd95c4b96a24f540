"""Fixtures over real databases: SQLite in a temp file, PostgreSQL in a throwaway database.

PostgreSQL is found at TEST_POSTGRES_URL (default: postgres@127.0.0.1:5432, trust auth).
If it cannot be reached, PostgreSQL tests fail: they never skip.
"""

from __future__ import annotations

import os
import secrets
import uuid
from urllib.parse import urlsplit, urlunsplit

import peewee as pw
import psycopg2
import pytest
from cryptography.fernet import Fernet

from deepref import create_app
from deepref import migrate as runner

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# PostgreSQL apps refuse to start without keys (deepref.keys): one set per test session.
TEST_KEYS = {"SECRET_KEY": secrets.token_urlsafe(32),
             "PROMPT_ENCRYPTION_KEYS": Fernet.generate_key().decode()}


def _admin_connection():
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


@pytest.fixture
def pg_database():
    """A new, empty PostgreSQL database's URL; dropped afterwards."""
    name = f"deepref_test_{uuid.uuid4().hex[:12]}"
    admin = _admin_connection()
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_url_for(name)
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def sqlite_database(tmp_path):
    """A path for a new SQLite database file's URL."""
    return f"sqlite:///{tmp_path}/deepref.sqlite3"


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    """Which database a test runs against; tests using it run on both."""
    return request.param


@pytest.fixture
def database_url(backend, request):
    """A fresh database for `backend`."""
    fixture = "pg_database" if backend == "postgres" else "sqlite_database"
    return request.getfixturevalue(fixture)


@pytest.fixture
def env(database_url):
    """The environment a test app sees (nothing from the real environment or .env)."""
    return {"DATABASE_URL": database_url, "DATABASE_POOL_MIN": "1", "DATABASE_POOL_MAX": "5",
            **TEST_KEYS}


@pytest.fixture
def make_app(tmp_path):
    """Build apps from an env dict; closes their databases afterwards."""
    apps = []

    def build(env, **config):
        app = create_app({"ENV": env, "INSTANCE_PATH": str(tmp_path / "instance"),
                          "TESTING": True, **config})
        apps.append(app)
        return app

    yield build
    for app in apps:
        db = app.extensions["deepref_db"]
        if not db.is_closed():
            db.close()
        if hasattr(db, "close_all"):
            db.close_all()


@pytest.fixture
def bare_app(make_app, env):
    """An app on an empty database (no migrations applied)."""
    return make_app(env)


@pytest.fixture
def app(bare_app):
    """An app whose database has every revision applied."""
    runner.migrate(bare_app.extensions["deepref_db"], echo=lambda line: None)
    return bare_app


@pytest.fixture
def db(app) -> pw.Database:
    """The app's database, connected."""
    database = app.extensions["deepref_db"]
    database.connect(reuse_if_open=True)
    yield database
    if not database.is_closed():
        database.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner_cli(app):
    return app.test_cli_runner()
