"""Fixtures for the deployment tests, as a plugin: test modules name it in
`pytest_plugins`, so the session-scoped PostgreSQL server starts once for all of them
(and is always stopped).
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from pathlib import Path

import pytest

from deploy_support import Gunicorn, PostgresServer, free_port


@pytest.fixture(scope="session")
def pg_server():
    """One PostgreSQL server for every deployment test; stopped and removed at the end."""
    root = Path(tempfile.mkdtemp(prefix="deepref-pg-"))
    shutil.chown(root, "postgres")
    server = PostgresServer(root, free_port(), secrets.token_urlsafe(18))
    try:
        server.init()
        yield server
    finally:
        server.discard()


@pytest.fixture
def pg_running(pg_server):
    """The server, started if an earlier test left it stopped, and left started."""
    if not pg_server.is_running():
        pg_server.start()
    yield pg_server
    if not pg_server.is_running():
        pg_server.start()


@pytest.fixture
def deploy_db(pg_running):
    """A new database owned by the app's role; dropped afterwards."""
    name = pg_running.create_database()
    yield name
    pg_running.drop_database(name)


@pytest.fixture
def gunicorn(tmp_path):
    """Start gunicorns with `gunicorn(env, **options)`; all are stopped afterwards."""
    servers = []

    def start(env: dict[str, str], wait: bool = True, **options) -> Gunicorn:
        server = Gunicorn(env, tmp_path / f"gunicorn-{len(servers)}.log", **options)
        servers.append(server)
        return server.start(wait=wait)

    yield start
    for server in servers:
        server.stop()
