"""Fixtures and helpers shared by the admin console tests (tests/test_admin_*.py).

Creating and migrating a PostgreSQL database costs seconds, so the admin tests share
one migrated database per backend for the whole run (`console`, parametrized over
sqlite and postgres) and empty every table between tests. The models' database proxy
is global, so each test re-binds it to its console's database first.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import uuid

import pytest
from werkzeug.security import generate_password_hash

import conftest
from deepref import auth, crypto, create_app
from deepref import db as dbmod
from deepref import migrate as runner
from deepref.models import (
    AIFinetuneDataset,
    AIInteraction,
    AIPrompt,
    AISession,
    Bundle,
    KYCDocument,
    Reference,
    User,
)
from deepref.models.fields import utcnow

ADMIN_EMAIL = "admin@example.com"
PASSWORD = "correct horse battery staple"
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
KEEP = {runner.HISTORY_TABLE}


_hash: list[str] = []


@pytest.fixture(scope="session")
def password_hash():
    """One scrypt hash for the whole run (shared across modules, like the sign-in)."""
    if not _hash:
        _hash.append(generate_password_hash(PASSWORD))
    return _hash[0]


_consoles: dict[str, object] = {}  # backend -> app, shared by every admin test module


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def console(request, tmp_path_factory):
    """(backend, app): a migrated app shared by the admin tests of one backend.

    Each test module that imports this fixture registers it anew, so the app is cached
    here and torn down once, when the test session ends.
    """
    backend = request.param
    if backend not in _consoles:
        _consoles[backend] = _build_console(backend, tmp_path_factory, request.config)
    return backend, _consoles[backend]


def _build_console(backend, tmp_path_factory, config):
    tmp = tmp_path_factory.mktemp(f"console-{backend}")
    name = None
    if backend == "postgres":
        name = f"deepref_admin_{uuid.uuid4().hex[:12]}"
        with contextlib.closing(conftest._admin_connection()) as admin, admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        url = conftest.postgres_url_for(name)
    else:
        url = f"sqlite:///{tmp}/deepref.sqlite3"
    env = {"DATABASE_URL": url, "DATABASE_POOL_MIN": "1", "DATABASE_POOL_MAX": "5",
           **conftest.TEST_KEYS}
    app = create_app({"ENV": env, "INSTANCE_PATH": str(tmp / "instance"), "TESTING": True,
                      "WTF_CSRF_ENABLED": True})
    database = app.extensions["deepref_db"]
    runner.migrate(database, echo=lambda line: None)

    def tear_down():
        if not database.is_closed():
            database.close()
        if hasattr(database, "close_all"):
            database.close_all()
        if name:
            with contextlib.closing(conftest._admin_connection()) as admin, admin.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    config.add_cleanup(tear_down)
    return app


@pytest.fixture
def backend(console):
    return console[0]


@pytest.fixture
def app(console):
    """The console's app, bound, with every table emptied after the test."""
    app = console[1]
    database = app.extensions["deepref_db"]
    dbmod.bind(database)
    crypto.bind(app.extensions["deepref_prompt_cipher"])
    yield app
    dbmod.bind(database)
    empty_tables(database)


def empty_tables(database) -> None:
    """Delete every row (children first; DELETE is much cheaper than TRUNCATE here)."""
    import peewee as pw

    from deepref import models

    ordered = [m._meta.table_name for m in reversed(pw.sort_models(models.ALL_MODELS))]
    tables = set(database.get_tables()) - KEEP
    with database.atomic():
        for table in ordered + sorted(tables - set(ordered)):
            if table in tables:
                database.execute_sql(f'DELETE FROM "{table}"')
    if not database.is_closed():
        database.close()


@pytest.fixture
def db(app):
    database = app.extensions["deepref_db"]
    database.connect(reuse_if_open=True)
    return database


ADMIN_ID = uuid.UUID("00000000-0000-4000-8000-00000000ad01")


@pytest.fixture
def admin_user(db, password_hash):
    """The signed-in admin; the same id and hash in every test, so one sign-in serves all."""
    return User.create(id=ADMIN_ID, email=ADMIN_EMAIL, role="admin", password_hash=password_hash)


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


def token(client, page="/admin/") -> str:
    """The CSRF token of the session, read from a page as a browser would."""
    response = client.get(page)
    assert response.status_code == 200, (page, response.status_code)
    return TOKEN.search(response.get_data(as_text=True)).group(1)


def post(client, url, data, follow=False, **kwargs):
    """POST a form the way the console's pages do: with the session's CSRF token."""
    return client.post(url, data={"csrf_token": token(client), **data},
                       follow_redirects=follow, **kwargs)


def text(response) -> str:
    return response.get_data(as_text=True)


def version(row) -> str:
    """What the edit form carries as row_version."""
    return type(row).get_by_id(row.id).updated_at.isoformat()


@contextlib.contextmanager
def counting_queries(database):
    """Record the (sql, params) that `database` runs inside the block."""
    calls = []
    original = database.execute_sql

    def counted(sql, params=None, *args, **kwargs):
        calls.append((sql, params))
        return original(sql, params, *args, **kwargs)

    database.execute_sql = counted
    try:
        yield calls
    finally:
        del database.execute_sql


# -- rows ---------------------------------------------------------------------------------

def make_user(email="seeker@example.com", **fields) -> User:
    return User.create(email=email, **fields)


def make_reference(seeker, **fields) -> Reference:
    values = {"referrer_name": "Rita Ref", "referrer_email": "rita@acme.example",
              "company": "Acme", "role": "Manager", **fields}
    return Reference.create(seeker=seeker, **values)


def make_bundle(seeker, **fields) -> Bundle:
    return Bundle.create(seeker=seeker, **{"title": "My bundle", **fields})


def make_kyc(user, **fields) -> KYCDocument:
    values = {"document_type": "passport", "file_path": "kyc/passport.png", **fields}
    return KYCDocument.create(user=user, **values)


def make_prompt(prompt_id="coach-v1", **fields) -> AIPrompt:
    values = {"name": "Coach", "system_prompt": "You are a careful coach.",
              "user_prompt_template": "Help with {reference_text}", "version": "1.0.0",
              "model_preference": "claude-sonnet-4-5", **fields}
    return AIPrompt.create(prompt_id=prompt_id, **values)


def make_session(user, **fields) -> AISession:
    return AISession.create(user=user, session_type=fields.pop("session_type", "coaching"), **fields)


def make_interaction(session, prompt, **fields) -> AIInteraction:
    values = {"user_input": "hello", "model_used": "claude-sonnet-4-5", "tokens_used": 10, **fields}
    return AIInteraction.create(session=session, prompt=prompt, **values)


def make_finetune(interaction, **fields) -> AIFinetuneDataset:
    return AIFinetuneDataset.create(interaction=interaction, quality_score=fields.pop("quality_score", 3),
                                    **fields)


def hours_ago(hours: float) -> dt.datetime:
    return utcnow() - dt.timedelta(hours=hours)


def reference_form(owner, **changes):
    """The fields of a valid new reference of `owner`, with `changes`."""
    return {"seeker": str(owner.id), "referrer": "", "referrer_name": "Rita Ref",
            "referrer_email": "rita@acme.example", "company": "Typed Company", "role": "CTO",
            "relationship": "", "format": "text", "status": "pending", "content": "",
            "media_url": "", "responses": "{}", "rcs_score": "", "expiry_date": "",
            "submitted_at": "", **changes}


def refused(response, *messages):
    """The form came back (200) with every message (nothing was written)."""
    body = text(response)
    assert response.status_code == 200, body[:1000]
    for message in messages:
        assert message in body, (message, body[:3000])
    return body
