"""Serving behaviour inside one process: /readyz, 503 pages, ProxyFix, start-up migrations."""

from __future__ import annotations

import threading
import time

import click
import pytest
from click.testing import CliRunner
from flask.cli import FlaskGroup

from databases import database_of
from deepref import create_app
from deepref import migrate as runner
from deepref.config import ConfigError, load_settings
from deepref.deploy import StartupError
from deploy_app import add_test_routes
from deploy_support import free_port

JSON = {"Accept": "application/json"}
HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@pytest.fixture
def unreachable_env(env):
    """PostgreSQL settings pointing at a loopback port nobody listens on."""
    return {**env, "DATABASE_URL": f"postgresql://deepref:hunter2secret@127.0.0.1:{free_port()}/"
                                   "secret_db_name"}


def assert_leaks_nothing(body: str, *secrets: str) -> None:
    for word in ("127.0.0.1", "Traceback", "psycopg2", "peewee", *secrets):
        assert word not in body


@pytest.mark.parametrize("backend", ["sqlite"])  # the URL is replaced anyway
def test_healthz_answers_without_a_database(make_app, unreachable_env, backend):
    response = make_app(unreachable_env).test_client().get("/healthz")
    assert (response.status_code, response.json) == (200, {"status": "ok"})


def test_readyz_waits_for_pending_migrations(bare_app):
    client = bare_app.test_client()
    response = client.get("/readyz")
    pending = len(runner.available())
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "reason": f"{pending} migration(s) pending"}
    runner.migrate(database_of(bare_app), echo=lambda line: None)
    response = client.get("/readyz")
    assert (response.status_code, response.json) == (200, {"status": "ready"})
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("backend", ["sqlite"])  # the URL is replaced anyway
def test_database_unreachable_is_a_clear_503(make_app, unreachable_env, backend):
    client = add_test_routes(make_app(unreachable_env)).test_client()
    port = unreachable_env["DATABASE_URL"].split(":")[-1].split("/")[0]

    ready = client.get("/readyz")
    assert (ready.status_code, ready.json) == (
        503, {"status": "unavailable", "reason": "database unreachable"})

    as_json = client.get("/test/read", headers=JSON)
    assert as_json.status_code == 503
    assert as_json.json["error"] == "database_unavailable"
    assert "cannot be reached" in as_json.json["message"]
    assert as_json.headers["Retry-After"] == "5"

    page = client.get("/test/read", headers=HTML)
    assert page.status_code == 503
    assert page.mimetype == "text/html"
    assert "Temporarily unavailable" in page.text
    for body in (ready.text, as_json.text, page.text):
        assert_leaks_nothing(body, port, "secret_db_name", "hunter2secret", "deepref:")


@pytest.mark.parametrize("backend", ["postgres"])
def test_an_exhausted_pool_answers_503_after_the_pool_timeout(make_app, env, backend):
    app = make_app({**env, "DATABASE_POOL_MAX": "1", "DATABASE_POOL_MIN": "0",
                    "DATABASE_POOL_TIMEOUT": "1"})
    add_test_routes(app)
    runner.migrate(database_of(app), echo=lambda line: None)
    database_of(app).close()
    holding, release = threading.Event(), threading.Event()

    def hold_the_only_connection():
        db = database_of(app)
        db.connect()
        holding.set()
        release.wait(10)
        db.close()

    holder = threading.Thread(target=hold_the_only_connection)
    holder.start()
    try:
        assert holding.wait(5)
        started = time.monotonic()
        response = app.test_client().get("/test/read", headers=JSON)
        waited = time.monotonic() - started
    finally:
        release.set()
        holder.join()
    assert response.status_code == 503
    assert response.json["error"] == "server_busy"
    assert 0.9 <= waited < 3
    # The connection came back: the next request gets it.
    assert app.test_client().get("/test/read", headers=JSON).status_code == 200


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("hops, forwarded_for, expected", [
    ("0", "203.0.113.9", {"scheme": "http", "remote_addr": "127.0.0.1", "host": "localhost"}),
    ("1", "203.0.113.9", {"scheme": "https", "remote_addr": "203.0.113.9",
                          "host": "refs.example.com"}),
    # A client's own X-Forwarded-For entry is not believed: one proxy, one hop.
    ("1", "6.6.6.6, 203.0.113.9", {"scheme": "https", "remote_addr": "203.0.113.9",
                                   "host": "refs.example.com"}),
    # Load balancer -> nginx -> app: the client is the entry the load balancer added.
    ("2", "6.6.6.6, 203.0.113.9, 10.0.0.2", {"scheme": "https", "remote_addr": "203.0.113.9",
                                             "host": "refs.example.com"}),
])
def test_proxy_fix_trusts_exactly_the_configured_hops(make_app, env, backend, hops,
                                                      forwarded_for, expected):
    app = add_test_routes(make_app({**env, "PROXY_FIX_HOPS": hops}))
    response = app.test_client().get("/test/whoami", environ_base={"REMOTE_ADDR": "127.0.0.1"},
                                     headers={"X-Forwarded-For": forwarded_for,
                                              "X-Forwarded-Proto": "https",
                                              "X-Forwarded-Host": "refs.example.com"})
    assert response.json == expected


@pytest.mark.parametrize("value", ["-1", "two", "11"])
def test_proxy_fix_hops_is_validated(tmp_path, value):
    with pytest.raises(ConfigError, match="PROXY_FIX_HOPS must be"):
        load_settings({"PROXY_FIX_HOPS": value}, tmp_path)


def test_migrations_run_when_the_app_starts_if_asked(make_app, env):
    app = make_app({**env, "DATABASE_MIGRATIONS_RUN": "true"})
    db = database_of(app)
    assert db.is_closed()  # the start-up connection went back to the pool
    assert all(state.applied_at for state in runner.status(db))
    assert app.test_client().get("/readyz").status_code == 200


@pytest.mark.parametrize("backend", ["sqlite"])  # the URL is replaced anyway
def test_migrations_at_start_fail_in_one_clear_line(make_app, unreachable_env, backend):
    with pytest.raises(StartupError) as failure:
        make_app({**unreachable_env, "DATABASE_MIGRATIONS_RUN": "true"})
    message = failure.value.message
    assert message.startswith("cannot apply migrations: ")
    assert "\n" not in message and "hunter2secret" not in message


def test_flask_commands_other_than_run_never_migrate_at_start(env, tmp_path):
    """`flask db status` / `rollback` with DATABASE_MIGRATIONS_RUN=true must not migrate."""
    cli = FlaskGroup(load_dotenv=False, create_app=lambda: create_app({
        "ENV": {**env, "DATABASE_MIGRATIONS_RUN": "true"},
        "INSTANCE_PATH": str(tmp_path / "instance")}))
    result = CliRunner().invoke(cli, ["db", "status"])
    assert result.exit_code == 1, result.output
    # SQLite: no file yet, and status does not create it (only `flask db migrate` does).
    assert "pending revision(s)" in result.output or "no database at" in result.output

    @click.command("run")
    def fake_run():
        """Stands in for `flask run`: the app is built inside a command named run."""
        from flask.cli import ScriptInfo

        click.get_current_context().find_object(ScriptInfo).load_app()

    cli.add_command(fake_run)
    result = CliRunner().invoke(cli, ["run"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(cli, ["db", "status"])
    assert result.exit_code == 0, result.output
