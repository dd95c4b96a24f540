"""Request ids, access lines, LOG_FORMAT, one-line database failures, no secret logged.

In-process tests on SQLite for the app's side (the request id does not depend on the
backend); one PostgreSQL failure for the formatter; and a real gunicorn, whose whole
output is grepped for secrets.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import secrets
import subprocess

import peewee as pw
import pytest
from cryptography.fernet import Fernet
from flask import Blueprint

from databases import throwaway_postgres
from deepref import auth
from deepref.auth.admins import set_admin
from deepref.request_log import formatter
from deploy_support import ROOT, Gunicorn, bench_load

HEX_ID = re.compile(r"[0-9a-f]{32}")
log = logging.getLogger("deepref.test_request_logs")
bp = Blueprint("request_log_test", __name__)


@bp.get("/test/log-twice")
def log_twice():
    log.warning("first line")
    log.info("second line")
    return "ok"


@pytest.fixture
def backend():
    """This file's in-process tests run on SQLite (see the module docstring)."""
    return "sqlite"


@pytest.fixture
def lines():
    """deepref's log lines while the test runs, formatted with `formatter(fmt)`."""
    logger = logging.getLogger("deepref")
    handlers, level = [], logger.level
    logger.setLevel(logging.INFO)

    def start(fmt: str = "text"):
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(formatter(fmt))
        logger.addHandler(handler)
        handlers.append(handler)
        return lambda: stream.getvalue().splitlines()

    yield start
    for handler in handlers:
        logger.removeHandler(handler)
    logger.setLevel(level)


def get(client, path: str, **kwargs):
    """client.get, the response closed: as a server does, which ends the access line."""
    response = client.get(path, **kwargs)
    response.close()
    return response


def proxied_app(make_app, env, hops: str):
    app = make_app({**env, "PROXY_FIX_HOPS": hops})
    app.register_blueprint(bp)
    return app


def test_without_a_proxy_the_id_is_made_here_and_returned(app, lines):
    app.register_blueprint(bp)
    read = lines("text")
    response = get(app.test_client(), "/test/log-twice", headers={"X-Request-ID": "forged-1"})
    request_id = response.headers["X-Request-ID"]
    assert HEX_ID.fullmatch(request_id)
    logged = read()
    assert len(logged) == 3 and all(f"[{request_id}]" in line for line in logged), logged
    assert "forged-1" not in "\n".join(logged)


@pytest.mark.parametrize("offered, taken", [
    ("req-7f3a:1.2_b", True), ("0123456789abcdef0123456789abcdef", True),
    ("x" * 65, False), ("has space", False), ("new\nline", False), ("", False),
    ("<script>", False)])
def test_behind_a_proxy_its_id_is_taken_when_well_formed(make_app, env, offered, taken):
    client = proxied_app(make_app, env, "1").test_client()
    headers = {"X-Request-ID": offered} if "\n" not in offered else {}
    got = get(client, "/healthz", headers=headers).headers["X-Request-ID"]
    assert got == offered if taken else HEX_ID.fullmatch(got)


def test_the_access_line_has_method_path_without_values_status_duration_user(
        app, lines, db):
    read = lines("json")
    admin, _ = set_admin("logs@example.com", secrets.token_urlsafe(12))
    client = app.test_client()
    with client.session_transaction() as session:
        session.update(auth.session_values(admin))
    response = get(client, "/admin/reference/?search=acme&token=s3cr3t-value&page=0")
    assert response.status_code == 200
    access = [json.loads(line) for line in read() if '"deepref.access"' in line]
    assert len(access) == 1
    line = access[0]
    assert line["method"] == "GET" and line["status"] == 200
    assert line["path"] == "/admin/reference/?search=*&token=*&page=*"
    assert line["user_id"] == str(admin.id)
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert "s3cr3t-value" not in "\n".join(read()) and "acme" not in "\n".join(read())


def test_json_lines_are_one_object_each_and_text_is_the_default(make_app, env, lines):
    app = proxied_app(make_app, env, "0")
    assert app.config["DEEPREF"].log_format == "text"
    read = lines("json")
    get(app.test_client(), "/test/log-twice")
    parsed = [json.loads(line) for line in read()]
    assert [p["message"] for p in parsed[:2]] == ["first line", "second line"]
    assert {p["logger"] for p in parsed} == {"deepref.test_request_logs", "deepref.access"}
    assert len({p["request_id"] for p in parsed}) == 1


def test_a_bad_log_format_is_one_clear_line(make_app, env):
    from deepref.config import ConfigError

    with pytest.raises(ConfigError, match="LOG_FORMAT must be text or json, not 'xml'"):
        make_app({**env, "LOG_FORMAT": "xml"})


def test_an_expected_database_failure_is_one_line_never_a_traceback():
    """A real read-only refusal and statement timeout from PostgreSQL, logged with
    exc_info (as Flask logs an unhandled error): one line saying what it was."""
    with throwaway_postgres("deepref_logs") as url:
        db = pw.PostgresqlDatabase(None)
        db.init(url.rsplit("/", 1)[1], host="127.0.0.1", user="postgres")
        caught = []
        for setup, statement in [("SET default_transaction_read_only = on", "CREATE TABLE t (a int)"),
                                 ("SET statement_timeout = 1", "SELECT pg_sleep(1)")]:
            db.connect(reuse_if_open=True)
            db.execute_sql(setup)
            with pytest.raises(pw.DatabaseError) as info:
                db.execute_sql(statement)
            caught.append(info.value)
            db.close()
    for exc in caught:
        for fmt in ("text", "json"):
            record = logging.LogRecord("deepref", logging.ERROR, __file__, 1,
                                       "Exception on /admin/ [GET]", None,
                                       (type(exc), exc, exc.__traceback__))
            text = formatter(fmt).format(record)
            assert "\n" not in text and "Traceback" not in text, text
            assert "Exception on /admin/ [GET]: database " in text
    assert "read only" in formatter("text").format(logging.LogRecord(
        "deepref", logging.ERROR, __file__, 1, "x", None,
        (type(caught[0]), caught[0], None)))


def test_an_unexpected_error_keeps_its_traceback():
    try:
        raise KeyError("bug")
    except KeyError as exc:
        record = logging.LogRecord("deepref", logging.ERROR, __file__, 1, "boom", None,
                                   (KeyError, exc, exc.__traceback__))
    assert "Traceback" in formatter("text").format(record)
    assert "Traceback" in json.loads(formatter("json").format(record))["traceback"]


def test_gunicorn_refuses_a_bad_log_format_in_one_line(tmp_path):
    from deploy_support import VENV_BIN, free_port

    done = subprocess.run(
        [str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"],
        cwd=ROOT, env={"PATH": os.environ["PATH"], "LOG_FORMAT": "yaml",
                       "DATABASE_URL": f"sqlite:///{tmp_path / 'd.sqlite3'}",
                       "GUNICORN_BIND": f"127.0.0.1:{free_port()}"},
        capture_output=True, text=True, timeout=60)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "deepref: configuration error: LOG_FORMAT must be text or json, not 'yaml'." in output
    assert "Traceback" not in output


# A real gunicorn: every line JSON, the proxy's id carried, no secret anywhere ----------


def test_gunicorn_logs_json_with_request_ids_and_no_secret(tmp_path):
    password, secret_key = secrets.token_urlsafe(16), secrets.token_urlsafe(32)
    fernet_key, token = Fernet.generate_key().decode(), secrets.token_urlsafe(12)
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'deepref.sqlite3'}",
           "SECRET_KEY": secret_key, "PROMPT_ENCRYPTION_KEYS": fernet_key,
           "DATABASE_MIGRATIONS_RUN": "true", "DATABASE_LOGGING": "true",
           "LOG_FORMAT": "json", "GUNICORN_ACCESS_LOG": "-", "PROXY_FIX_HOPS": "1"}
    set_up = subprocess.run(
        [str(ROOT / ".venv/bin/flask"), "--app", "deepref", "db", "migrate"], cwd=ROOT,
        env={**env, "FLASK_SKIP_DOTENV": "1"}, capture_output=True, text=True, timeout=120)
    assert set_up.returncode == 0, set_up.stderr
    made = subprocess.run(
        [str(ROOT / ".venv/bin/flask"), "--app", "deepref", "create-admin",
         "logs@example.com", "--password-stdin"], cwd=ROOT, input=password,
        env={**env, "FLASK_SKIP_DOTENV": "1"}, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    server = Gunicorn(env, tmp_path / "gunicorn.log", app="wsgi:app").start()
    try:
        browser = bench_load().Browser(server.port)
        browser.sign_in("logs@example.com", password)
        session_cookie = browser.cookies["session"]
        assert browser.request("GET", f"/admin/reference/?token={token}")[0] == 200
        wrong = bench_load().Browser(server.port)
        with pytest.raises(Exception, match="signing in"):
            wrong.sign_in("logs@example.com", password + "x")
        wrong.close()
        proxied = server.get("/healthz", headers={"X-Request-ID": "edge-42"})
        assert proxied.headers["X-Request-ID"] == "edge-42"
        browser.close()
    finally:
        server.stop()
    output = server.log()
    entries = [json.loads(line) for line in output.splitlines() if line.strip()]
    assert entries and all({"time", "level", "logger", "request_id", "message"} <= set(e)
                           for e in entries)
    access = [e for e in entries if e["logger"] == "deepref.access"]
    assert any(e["request_id"] == "edge-42" and e["path"] == "/healthz" for e in access)
    listed = [e for e in access if e["path"] == "/admin/reference/?token=*"]
    assert len(listed) == 1 and listed[0]["user_id"] != "-"
    assert any(e["logger"] == "peewee" for e in entries)  # SQL logged, without values
    for secret in (password, password + "x", secret_key, fernet_key, session_cookie, token):
        assert secret not in output
    assert "Traceback" not in output
