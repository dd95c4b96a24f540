"""Settings: defaults, the two ways to name PostgreSQL, and one clear line for bad values."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from deepref.config import ConfigError, load_settings


def settings(**env):
    return load_settings(env, "/srv/instance")


def test_no_database_settings_means_the_embedded_sqlite_file():
    database = settings().database
    assert database.engine == "sqlite"
    assert database.name == "/srv/instance/deepref.sqlite3"


def test_database_url_wins_over_the_parts():
    database = settings(
        DATABASE_URL="postgresql://app:p%40ss@db.internal:6543/deepref",
        DATABASE_HOST="ignored", DATABASE_NAME="ignored",
    ).database
    assert (database.host, database.port, database.user, database.password, database.name) == (
        "db.internal", 6543, "app", "p@ss", "deepref")
    assert database.describe() == "postgresql://app@db.internal:6543/deepref"


def test_postgresql_by_parts_with_pool_and_ssl():
    database = settings(DATABASE_HOST="db", DATABASE_NAME="deepref", DATABASE_USER="u",
                        DATABASE_PASSWORD="pw", DATABASE_SSL="true", DATABASE_POOL_MAX="8",
                        DATABASE_POOL_MIN="2", DATABASE_POOL_TIMEOUT="2.5").database
    assert (database.host, database.port, database.ssl_mode) == ("db", 5432, "require")
    assert (database.pool_max, database.pool_min, database.pool_timeout) == (8, 2, 2.5)
    assert "pw" not in repr(database)


def test_sqlite_urls_relative_and_absolute():
    assert settings(DATABASE_URL="sqlite:///data/x.db").database.name == "data/x.db"
    assert settings(DATABASE_URL="sqlite:////var/x.db").database.name == "/var/x.db"


@pytest.mark.parametrize("env, message", [
    ({"DATABASE_PORT": "five", "DATABASE_HOST": "db", "DATABASE_NAME": "d"},
     "DATABASE_PORT must be a whole number"),
    ({"DATABASE_PORT": "70000", "DATABASE_HOST": "db", "DATABASE_NAME": "d"},
     "DATABASE_PORT must be between 1 and 65535"),
    ({"DATABASE_HOST": "db"}, "DATABASE_NAME must be set"),
    ({"DATABASE_POOL_MIN": "10", "DATABASE_POOL_MAX": "5"},
     "DATABASE_POOL_MIN (10) must not exceed DATABASE_POOL_MAX (5)"),
    ({"DATABASE_POOL_MAX": "0"}, "DATABASE_POOL_MAX must be at least 1"),
    ({"DATABASE_POOL_TIMEOUT": "-1"}, "DATABASE_POOL_TIMEOUT must be a positive number"),
    ({"DATABASE_SSL_MODE": "sometimes", "DATABASE_URL": "postgresql://h/d"},
     "DATABASE_SSL_MODE must be one of"),
    ({"DATABASE_SSL_MODE": "verify-full", "DATABASE_URL": "postgresql://h/d"},
     "needs DATABASE_SSL_ROOT_CERT"),
    ({"DATABASE_SSL_ROOT_CERT": "/no/such/ca.pem", "DATABASE_URL": "postgresql://h/d"},
     "DATABASE_SSL_ROOT_CERT: no readable file"),
    ({"DATABASE_SSL": "maybe"}, "DATABASE_SSL must be true or false"),
    ({"DATABASE_URL": "mysql://u:pw@h/d"}, "DATABASE_URL is not a valid URL"),
    ({"DATABASE_URL": "postgresql://u:pw@h:port/d"}, "DATABASE_URL is not a valid URL"),
    ({"DATABASE_URL": "postgresql://u:pw@h/"}, "DATABASE_URL is not a valid URL"),
    ({"DATABASE_URL": "sqlite://"}, "DATABASE_URL is not a valid URL"),
    ({"DATABASE_SYNCHRONIZE": "true"}, "the schema changes only through migrations"),
])
def test_invalid_settings_name_the_variable(env, message):
    with pytest.raises(ConfigError) as error:
        settings(**env)
    text = error.value.format_message()
    assert message in text
    assert "pw" not in text.replace("pw@", "")  # the password is never echoed
    assert "pw@" not in text


def run(env, *args, cwd):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "FLASK_"))}
    return subprocess.run([sys.executable, *args], cwd=cwd, env={**base, **env},
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("env", [
    {"DATABASE_SYNCHRONIZE": "true"},
    {"DATABASE_URL": "postgresql://admin:hunter2-secret@db:notaport/x"},
    {"DATABASE_POOL_MIN": "9", "DATABASE_POOL_MAX": "3"},
])
def test_every_command_stops_on_bad_configuration_with_exit_2(env, tmp_path):
    result = run(env, "-m", "flask", "--app", "deepref", "db", "status", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "hunter2" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) <= 2, result.stderr


def test_the_wsgi_entry_point_refuses_synchronize(tmp_path):
    wsgi = os.path.join(os.path.dirname(os.path.dirname(__file__)), "wsgi.py")
    result = run({"DATABASE_SYNCHRONIZE": "true"}, wsgi, cwd=tmp_path)
    assert result.returncode == 1
    assert "DATABASE_SYNCHRONIZE=true is refused" in result.stderr
    assert "Traceback" not in result.stderr


def test_dotenv_is_read_and_the_environment_wins(tmp_path, monkeypatch):
    from deepref.config import read_environment

    (tmp_path / ".env").write_text("DATABASE_POOL_MAX=7\nDATABASE_POOL_MIN=3\n")
    monkeypatch.setenv("DATABASE_POOL_MIN", "2")
    env = read_environment(tmp_path / ".env")
    assert (env["DATABASE_POOL_MAX"], env["DATABASE_POOL_MIN"]) == ("7", "2")


def test_help_on_a_bad_configuration_is_one_line_not_a_traceback(tmp_path):
    result = run({"DATABASE_POOL_MIN": "9", "DATABASE_POOL_MAX": "3"},
                 "-m", "flask", "--app", "deepref", "--help", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "DATABASE_POOL_MIN (9) must not exceed DATABASE_POOL_MAX (3)" in result.stderr
