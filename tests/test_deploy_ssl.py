"""SSL to PostgreSQL, against a server that lets the app's role in over SSL only."""

from __future__ import annotations

import subprocess

from databases import close_database
from deepref import create_app
from deploy_support import VENV_BIN

pytest_plugins = ["deploy_fixtures"]


def flask_db(server, dbname, tmp_path, command="status", **env):
    """`flask db COMMAND` in-process, as an operator would run it."""
    app = create_app({"ENV": server.env(dbname, **env),
                      "INSTANCE_PATH": str(tmp_path / "instance")})
    try:
        return app.test_cli_runner().invoke(args=["db", command])
    finally:
        close_database(app)


def test_without_ssl_the_server_refuses_and_deepref_says_why(pg_running, deploy_db, tmp_path):
    env = pg_running.env(deploy_db, DATABASE_SSL="false")
    done = subprocess.run([str(VENV_BIN / "flask"), "--app", "deepref", "db", "status"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert lines[0].startswith("Error: database ")
    assert "no encryption" in lines[0]  # the server's words: this entry needs SSL
    assert "Traceback" not in output and pg_running.password not in output


def test_with_ssl_it_connects_and_migrates(pg_running, deploy_db, tmp_path):
    result = flask_db(pg_running, deploy_db, tmp_path, "migrate", DATABASE_SSL="true")
    assert result.exit_code == 0, result.output
    assert "the database is at" in result.output
    ssl_in_use = pg_running.query(
        "SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) "
        "WHERE a.usename = 'deepref_app'")
    assert ssl_in_use in ([(True,)], [(None,)])  # None: every app session already gone


def test_verify_full_with_the_right_ca_connects(pg_running, deploy_db, tmp_path):
    result = flask_db(pg_running, deploy_db, tmp_path, DATABASE_SSL_MODE="verify-full",
                      DATABASE_SSL_ROOT_CERT=str(pg_running.right_ca))
    assert result.exit_code == 1, result.output  # connected: the revisions are pending
    assert "pending revision(s)" in result.output


def test_verify_full_with_another_ca_is_refused_clearly(pg_running, deploy_db, tmp_path):
    result = flask_db(pg_running, deploy_db, tmp_path, DATABASE_SSL_MODE="verify-full",
                      DATABASE_SSL_ROOT_CERT=str(pg_running.wrong_ca))
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "certificate verify failed" in lines[0]
    assert pg_running.password not in result.output


def test_gunicorn_serves_over_ssl_to_the_database(pg_running, deploy_db, gunicorn):
    server = gunicorn(pg_running.env(deploy_db, DATABASE_MIGRATIONS_RUN="true",
                                     GUNICORN_WORKERS="1", DATABASE_POOL_MIN="1"))
    assert server.get_json("/readyz").json() == {"status": "ready"}
    assert pg_running.query(
        "SELECT count(*), bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a "
        "USING (pid) WHERE a.datname = %s", (deploy_db,)) == [(1, True)]
