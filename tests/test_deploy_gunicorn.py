"""gunicorn.conf.py: warm pools per worker, nothing shared, clear start-up failures."""

from __future__ import annotations

import os
import secrets
import subprocess

import pytest
from cryptography.fernet import Fernet

from deploy_support import ROOT, VENV_BIN, free_port

pytest_plugins = ["deploy_fixtures"]


def test_each_worker_warms_its_own_pool_and_the_master_keeps_none(pg_running, deploy_db,
                                                                  gunicorn):
    server = gunicorn(pg_running.env(deploy_db, DATABASE_MIGRATIONS_RUN="true",
                                     GUNICORN_WORKERS="2", DATABASE_POOL_MIN="3"),
                      app="wsgi:app")
    # Before any request: 2 workers x 3 warm connections; the master's migration
    # connection was closed before the fork, so nothing is shared.
    assert pg_running.app_connections(deploy_db) == 6
    sessions = pg_running.query(
        "SELECT count(DISTINCT client_port), min(application_name), max(application_name) "
        "FROM pg_stat_activity WHERE datname = %s AND usename = 'deepref_app'", (deploy_db,))
    assert sessions == [(6, "deepref", "deepref")]
    assert server.get_json("/readyz").json() == {"status": "ready"}


PASSWORD = "s3cret-never-shown"


def nowhere_env(**extra: str) -> dict[str, str]:
    """Valid deepref settings for a PostgreSQL server that is not there."""
    return {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"),
            "DATABASE_HOST": "127.0.0.1", "DATABASE_PORT": str(free_port()),
            "DATABASE_NAME": "deepref", "DATABASE_USER": "deepref",
            "DATABASE_PASSWORD": PASSWORD, "SECRET_KEY": secrets.token_urlsafe(32),
            "PROMPT_ENCRYPTION_KEYS": Fernet.generate_key().decode(), **extra}


def start_and_fail(env: dict[str, str]) -> str:
    """Run gunicorn expecting it to refuse to start; its whole output."""
    done = subprocess.run(
        [str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"],
        cwd=ROOT, env={**env, "GUNICORN_BIND": f"127.0.0.1:{free_port()}"},
        capture_output=True, text=True, timeout=60)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "Traceback" not in output and PASSWORD not in output
    return output


@pytest.mark.parametrize("variable, value", [
    ("GUNICORN_WORKERS", "many"), ("GUNICORN_THREADS", "0"), ("GUNICORN_TIMEOUT", "-5"),
    ("GUNICORN_REQUEST_READ_TIMEOUT", "soon"),
    ("DATABASE_POOL_MAX", "1")])  # each worker gets half: reloads must fit
def test_a_bad_gunicorn_setting_stops_start_up_clearly(variable, value):
    output = start_and_fail(nowhere_env(**{variable: value}))
    assert f"deepref: configuration error: {variable} must be a whole number" in output


def test_an_unreachable_database_stops_start_up_when_migrations_must_run():
    output = start_and_fail(nowhere_env(DATABASE_MIGRATIONS_RUN="true"))
    assert "Error: deepref: cannot apply migrations: connection to server" in output


def test_missing_keys_stop_start_up_before_any_worker():
    env = nowhere_env()
    del env["SECRET_KEY"]
    output = start_and_fail(env)
    assert "Error: deepref: configuration error: SECRET_KEY must be set" in output
    assert "Booting worker" not in output


def refused(env: dict[str, str], cwd=ROOT) -> str:
    """gunicorn stopped by gunicorn.conf.py itself (before any app or database): stderr."""
    done = subprocess.run(
        [str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and PASSWORD not in done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.mark.parametrize("variable, value, message", [
    ("GUNICORN_LOG_LEVEL", "verbose",
     "GUNICORN_LOG_LEVEL must be one of debug, info, warning, error, critical, not 'verbose'."),
    ("GUNICORN_BIND", "127.0.0.1:80o0",
     "GUNICORN_BIND: '127.0.0.1:80o0' is not host:port (a port from 1 to 65535) "
     "or unix:/path/to.sock."),
    ("GUNICORN_BIND", "127.0.0.1:8000,0.0.0.0:70000", "GUNICORN_BIND: '0.0.0.0:70000' is not"),
    ("GUNICORN_BIND", "localhost", "GUNICORN_BIND: 'localhost' is not host:port"),
    ("GUNICORN_BIND", "::1:8000", "GUNICORN_BIND: '::1:8000' is not host:port"),
    ("GUNICORN_BIND", "unix:", "GUNICORN_BIND: unix: needs a socket path"),
])
def test_a_bad_log_level_or_bind_address_stops_start_up_in_one_line(variable, value, message):
    line = refused({**nowhere_env(), variable: value})
    assert line.startswith(f"deepref: configuration error: {message}")


def test_every_documented_bind_and_log_level_form_is_accepted(tmp_path, monkeypatch):
    import runpy

    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("GUNICORN_BIND", "127.0.0.1:8000, [::1]:8001,unix:/run/d.sock,fd://3")
    monkeypatch.setenv("GUNICORN_LOG_LEVEL", "WARNING")
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert settings["bind"] == ["127.0.0.1:8000", "[::1]:8001", "unix:/run/d.sock", "fd://3"]
    assert settings["loglevel"] == "warning"


def test_a_dotenv_line_gunicorn_cannot_parse_stops_start_up(tmp_path):
    (tmp_path / ".env").write_text(f'GUNICORN_WORKERS=2\nDATABASE_PASSWORD="{PASSWORD}\n')
    env = nowhere_env()
    del env["DATABASE_PASSWORD"]
    line = refused(env, cwd=tmp_path)
    assert line == ("deepref: configuration error: .env line 2 cannot be parsed: write "
                    "NAME=value, and quote a value holding spaces, quotes or #.")
