"""Fixtures of the admin console tests.

Creating and migrating a PostgreSQL database costs seconds, so the admin tests share
one migrated database per backend for the whole run (`console`, parametrized over
sqlite and postgres) and empty every table between tests. The models' database proxy
is global: each test binds it to its console's database first (`database_of`).
"""

from __future__ import annotations

import contextlib

import pytest
from werkzeug.security import generate_password_hash

from databases import (
    BACKENDS, app_env, close_database, database_of, empty_tables, migrated_app,
    throwaway_database,
)
from deepref import auth
from deepref.models import User, UserRole
from browser import hits, page, server  # noqa: F401  (the browser tests' fixtures)
from support import ADMIN_EMAIL, ADMIN_ID, PASSWORD, token


@pytest.fixture(scope="session")
def password_hash():
    """One scrypt hash for the whole run, so one sign-in serves every test."""
    return generate_password_hash(PASSWORD)


@pytest.fixture(scope="session", params=BACKENDS)
def console(request, tmp_path_factory):
    """(backend, app): a migrated app shared by the admin tests of one backend."""
    backend = request.param
    folder = tmp_path_factory.mktemp(f"console-{backend}")
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(throwaway_database(backend, folder, "deepref_admin"))
        app = migrated_app(app_env(url), folder / "instance", WTF_CSRF_ENABLED=True)
        stack.callback(close_database, app)
        yield backend, app


@pytest.fixture
def backend(console):
    return console[0]


@pytest.fixture
def app(console):
    """The console's app, bound, with every table emptied after the test."""
    app = console[1]
    database_of(app)
    yield app
    empty_tables(database_of(app))


@pytest.fixture
def db(app):
    database = database_of(app)
    database.connect(reuse_if_open=True)
    return database


@pytest.fixture
def admin_user(db, password_hash):
    """The signed-in admin; the same id and hash in every test, so one sign-in serves all."""
    user = User.create(id=ADMIN_ID, email=ADMIN_EMAIL, role="admin", password_hash=password_hash)
    UserRole.create(user=user, role="admin")
    return user


_signed_in_once: set[str] = set()  # backends whose admin signed in through the form


@pytest.fixture
def anon(app):
    return app.test_client()


@pytest.fixture
def client(app, admin_user, backend):
    """A test client signed in through the real /login form (once per backend)."""
    client = app.test_client()
    if backend not in _signed_in_once:
        response = client.post("/login", data={
            "email": ADMIN_EMAIL, "password": PASSWORD, "csrf_token": token(client, "/login")})
        assert response.status_code == 302, response.data[:500]
        _signed_in_once.add(backend)
        return client
    # Sessions are server-side rows, emptied with every table after each test: open a
    # new one for this test without paying for another password hash check.
    with client.session_transaction() as session:
        session.update(auth.session_values(admin_user))
    return client
