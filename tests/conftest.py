"""Fixtures over real databases: SQLite in a temp file, PostgreSQL in a throwaway database
(tests/databases.py). Tests using `backend` run on both."""

from __future__ import annotations

import shutil
from pathlib import Path

import peewee as pw
import pytest

from databases import (
    BACKENDS, MigratedTemplates, app_env, close_database, database_of, throwaway_postgres,
)
from deepref import create_app
from deepref import migrate as runner

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def pg_database():
    """A new, empty PostgreSQL database's URL; dropped afterwards."""
    with throwaway_postgres() as url:
        yield url


@pytest.fixture
def sqlite_database(tmp_path):
    """A path for a new SQLite database file's URL."""
    return f"sqlite:///{tmp_path}/deepref.sqlite3"


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Which database a test runs against; tests using it run on both."""
    return request.param


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory):
    """Migrated databases to copy (tests/databases.py MigratedTemplates)."""
    templates = MigratedTemplates(tmp_path_factory.mktemp("templates"))
    yield templates
    templates.close()


@pytest.fixture
def database_url(backend, request, tmp_path, migrated_templates):
    """A fresh database for `backend`: empty, or already migrated for tests that ask for
    `app` (a copy of a template migrated once: the migrations themselves are tested by
    the tests that start from `bare_app`)."""
    migrated = "app" in request.fixturenames
    if backend == "sqlite":
        path = tmp_path / "deepref.sqlite3"
        if migrated:
            shutil.copyfile(migrated_templates.get("sqlite"), path)
        yield f"sqlite:///{path}"
        return
    template = migrated_templates.get("postgres") if migrated else None
    with throwaway_postgres(template=template) as url:
        yield url


@pytest.fixture
def env(database_url):
    """The environment a test app sees (nothing from the real environment or .env)."""
    return app_env(database_url)


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
        close_database(app)


@pytest.fixture
def bare_app(make_app, env):
    """An app on an empty database (no migrations applied)."""
    return make_app(env)


@pytest.fixture
def folder(tmp_path):
    """A copy of migrations/ that a test may add revisions to, edit or break."""
    copy = tmp_path / "migrations"
    shutil.copytree(ROOT / "migrations", copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


@pytest.fixture
def app(bare_app):
    """An app whose database has every revision applied."""
    runner.migrate(database_of(bare_app), echo=lambda line: None)
    return bare_app


@pytest.fixture
def db(app) -> pw.Database:
    """The app's database, connected."""
    database = database_of(app)
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

