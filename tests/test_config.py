"""Settings: defaults, the two ways to name PostgreSQL, and one clear line for bad values."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from databases import TEST_KEYS
from deepref.config import ConfigError, MigrationSettings, load_settings


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


def test_migration_patience_defaults_and_settings():
    assert settings().migration == MigrationSettings(lock_timeout=2.0, statement_timeout=10.0,
                                                     attempts=5)
    tuned = settings(MIGRATION_LOCK_TIMEOUT="0.5", MIGRATION_STATEMENT_TIMEOUT="0",
                     MIGRATION_ATTEMPTS="9").migration
    assert tuned == MigrationSettings(lock_timeout=0.5, statement_timeout=0.0, attempts=9)


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
    ({"MIGRATION_LOCK_TIMEOUT": "0"}, "MIGRATION_LOCK_TIMEOUT must be more than 0 and at most"),
    ({"MIGRATION_LOCK_TIMEOUT": "soon"}, "MIGRATION_LOCK_TIMEOUT must be a number of seconds"),
    ({"MIGRATION_STATEMENT_TIMEOUT": "-1"}, "MIGRATION_STATEMENT_TIMEOUT must be from 0 (no limit)"),
    ({"MIGRATION_STATEMENT_TIMEOUT": "nan"}, "MIGRATION_STATEMENT_TIMEOUT must be from 0"),
    ({"MIGRATION_ATTEMPTS": "0"}, "MIGRATION_ATTEMPTS must be between 1 and 100"),
    ({"TRUSTED_HOSTS": "https://admin.example.com"}, "TRUSTED_HOSTS: 'https://admin.example.com' is not"),
    ({"KYC_DOCUMENT_URL": "https://files.example.com/kyc/"}, "KYC_DOCUMENT_URL must be an http"),
    ({"KYC_DOCUMENT_URL": "javascript:alert('{key}')"}, "KYC_DOCUMENT_URL must be an http"),
])
def test_invalid_settings_name_the_variable(env, message):
    with pytest.raises(ConfigError) as error:
        settings(**env)
    text = error.value.message
    assert message in text
    assert "pw" not in text.replace("pw@", "")  # the password is never echoed
    assert "pw@" not in text


def test_trusted_hosts_and_the_kyc_document_url():
    found = settings(TRUSTED_HOSTS=" Admin.Example.com, .corp.example ,[::1]",
                     KYC_DOCUMENT_URL="https://files.example.com/kyc/{key}")
    assert found.trusted_hosts == ("admin.example.com", ".corp.example", "[::1]")
    assert found.kyc_document_url == "https://files.example.com/kyc/{key}"
    assert settings().trusted_hosts == () and settings().kyc_document_url is None


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


# --- DATABASE_URL's query string (sslmode, sslrootcert) ---------------------------------

def test_sslmode_and_sslrootcert_in_the_url_are_honoured(tmp_path):
    from deepref.db import make_database

    ca = tmp_path / "ca.pem"
    ca.write_text("not checked here\n")
    database = settings(
        DATABASE_URL=f"postgresql://app:pw@db.cloud:5432/deepref?sslmode=verify-full"
                     f"&sslrootcert={ca}").database
    assert (database.ssl_mode, database.ssl_root_cert, database.name) == (
        "verify-full", str(ca), "deepref")
    params = make_database(database).connect_params
    assert (params["sslmode"], params["sslrootcert"]) == ("verify-full", str(ca))
    # The URL's sslmode wins over DATABASE_SSL; agreeing with DATABASE_SSL_MODE is fine.
    assert settings(DATABASE_URL="postgresql://h/d?sslmode=require",
                    DATABASE_SSL="false").database.ssl_mode == "require"
    assert settings(DATABASE_URL="postgresql://h/d?sslmode=require",
                    DATABASE_SSL_MODE="REQUIRE").database.ssl_mode == "require"


def test_the_urls_sslmode_reaches_the_real_connection(make_app, pg_database):
    # The test server has SSL off: honouring sslmode=require makes the connection fail.
    app = make_app({"DATABASE_URL": f"{pg_database}?sslmode=require", **TEST_KEYS})
    result = app.test_cli_runner().invoke(args=["db", "status"])
    assert result.exit_code == 1
    assert "SSL" in result.output and "pending" not in result.output, result.output


@pytest.mark.parametrize("env, message", [
    ({"DATABASE_URL": "postgresql://u:hunter2@h/d?sslmode=verify-full&connect_timeout=3"},
     "the query parameter 'connect_timeout' is not supported (supported: sslmode and "
     "sslrootcert)"),
    ({"DATABASE_URL": "postgresql://u:hunter2@h/d?options=-csearch_path%3Dx"},
     "the query parameter 'options' is not supported"),
    ({"DATABASE_URL": "sqlite:////var/x.db?mode=ro"},
     "the query parameter 'mode' is not supported (supported: none)"),
    ({"DATABASE_URL": "postgresql://u:hunter2@h/d?sslmode=require&sslmode=disable"},
     "the query parameter 'sslmode' is given twice"),
    ({"DATABASE_URL": "postgresql://u:hunter2@h/d?sslmode"},
     "DATABASE_URL: its query string is not name=value"),
    ({"DATABASE_URL": "postgresql://u:hunter2@h/d?sslmode=sometimes"},
     "sslmode in DATABASE_URL must be one of disable, allow"),
    ({"DATABASE_URL": "postgresql://u:hunter2@h/d?sslmode=verify-ca"},
     "sslmode=verify-ca in DATABASE_URL needs DATABASE_SSL_ROOT_CERT or sslrootcert"),
    ({"DATABASE_URL": "postgresql://u:hunter2@h/d?sslrootcert=/no/such/ca.pem"},
     "sslrootcert in DATABASE_URL: no readable file at /no/such/ca.pem"),
    ({"DATABASE_URL": "postgresql://u:hunter2@h/d?sslmode=require",
      "DATABASE_SSL_MODE": "verify-full"},
     "DATABASE_SSL_MODE=verify-full and sslmode=require in DATABASE_URL disagree"),
    ({"DATABASE_URL": "postgresql://u:hunter2@h/d?sslrootcert=/a.pem",
      "DATABASE_SSL_ROOT_CERT": "/b.pem"},
     "DATABASE_SSL_ROOT_CERT=/b.pem and sslrootcert=/a.pem in DATABASE_URL disagree"),
    ({"DATABASE_URL": "postgresql://u:hunter2@h/d#fragment"}, "DATABASE_URL is not a valid URL"),
])
def test_a_url_query_is_validated_like_the_ssl_variables(env, message):
    with pytest.raises(ConfigError) as error:
        settings(**env)
    text = error.value.message
    assert message in text
    assert "hunter2" not in text


def test_a_bad_url_parameter_stops_every_command_with_exit_2(tmp_path):
    url = "postgresql://admin:hunter2-secret@127.0.0.1:1/x?sslmode=require&application_name=x"
    result = run({"DATABASE_URL": url}, "-m", "flask", "--app", "deepref", "db", "status",
                 cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        "Error: DATABASE_URL: the query parameter 'application_name' is not supported "
        "(supported: sslmode and sslrootcert)."]
    assert "hunter2" not in result.stderr + result.stdout


@pytest.mark.parametrize("env, message", [
    ({"DATABASE_PORT": "543two"}, "DATABASE_PORT must be a whole number, not '543two'"),
    ({"DATABASE_PORT": "0"}, "DATABASE_PORT must be between 1 and 65535"),
    ({"DATABASE_URL": "sqlite:////var/x.db", "DATABASE_PORT": "99999"},
     "DATABASE_PORT must be between 1 and 65535"),
    ({"DATABASE_SSL": "ture", "DATABASE_SSL_MODE": "require"}, "DATABASE_SSL must be true"),
    ({"DATABASE_SSL_MODE": "verify"}, "DATABASE_SSL_MODE must be one of"),
])
def test_formats_are_checked_even_when_sqlite_is_used(env, message):
    with pytest.raises(ConfigError) as error:
        settings(**env)
    assert message in error.value.message


# --- .env that cannot be read --------------------------------------------------------------

def test_an_unparsable_dotenv_line_stops_with_its_file_and_line(tmp_path):
    from deepref.config import read_environment

    dotenv = tmp_path / ".env"
    dotenv.write_text('# comment\nDATABASE_URL=postgresql://u:hunter2@db/x\n'
                      'DATABASE_PASSWORD="hunter2 unterminated\nOTHER=1\n')
    with pytest.raises(ConfigError) as error:
        read_environment(dotenv)
    text = error.value.message
    assert text.startswith(f"{dotenv} line 3 cannot be parsed: write NAME=value")
    assert "hunter2" not in text

    dotenv.write_text("A=1\nnot a setting\n")
    with pytest.raises(ConfigError, match=r"\.env line 2 cannot be parsed"):
        read_environment(dotenv)


def test_a_dotenv_that_is_not_utf8_stops_with_one_line(tmp_path):
    from deepref.config import read_environment

    dotenv = tmp_path / ".env"
    dotenv.write_bytes(b"A=1\nB=2\nNAME=caf\xe9\n")
    with pytest.raises(ConfigError) as error:
        read_environment(dotenv)
    assert error.value.exit_code == 2
    assert error.value.message == (
        f"{dotenv} line 3 is not UTF-8 text: save the file as UTF-8.")


def test_flask_commands_stop_on_a_bad_dotenv_instead_of_using_sqlite(tmp_path, pg_database):
    (tmp_path / ".env").write_text(f'DATABASE_POOL_MIN=1\nDATABASE_URL="{pg_database}\n')
    result = run(TEST_KEYS, "-m", "flask", "--app", "deepref", "db", "status", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Error: .env line 2 cannot be parsed" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    # Flask's own .env loading warns first (python-dotenv's line); nothing else is said.
    assert len(result.stderr.strip().splitlines()) <= 2, result.stderr


def test_migration_and_replica_urls_are_postgresql_urls_checked_like_database_url():
    got = settings(DATABASE_URL="postgresql://app:pw@pooler:6432/deepref",
                   DATABASE_MIGRATION_URL="postgresql://app:pw@db:5432/deepref?sslmode=require",
                   DATABASE_REPLICA_URL="postgresql://app:pw@r1/deepref, postgresql://app:pw@r2/deepref",
                   DATABASE_REPLICA_MAX_LAG="2.5", DATABASE_READ_YOUR_WRITES="0")
    assert (got.migration_database.host, got.migration_database.port,
            got.migration_database.ssl_mode) == ("db", 5432, "require")
    assert [r.host for r in got.replicas.databases] == ["r1", "r2"]
    assert (got.replicas.max_lag, got.replicas.read_your_writes) == (2.5, 0)
    unset = settings(DATABASE_URL="postgresql://app@db/deepref")
    assert unset.migration_database is None and unset.replicas.databases == ()


@pytest.mark.parametrize("env, message", [
    ({"DATABASE_MIGRATION_URL": "postgresql://db/x"}, "DATABASE_MIGRATION_URL needs DATABASE_URL"),
    ({"DATABASE_URL": "postgresql://db/x", "DATABASE_MIGRATION_URL": "mysql://db/x"},
     "DATABASE_MIGRATION_URL is not a valid URL"),
    ({"DATABASE_URL": "postgresql://db/x", "DATABASE_REPLICA_URL": "postgresql://r/x?a=1"},
     "DATABASE_REPLICA_URL: the query parameter 'a' is not supported"),
    ({"DATABASE_URL": "postgresql://db/x", "DATABASE_REPLICA_MAX_LAG": "soon"},
     "DATABASE_REPLICA_MAX_LAG must be"),
    ({"DATABASE_URL": "postgresql://db/x", "DATABASE_READ_YOUR_WRITES": "-1"},
     "DATABASE_READ_YOUR_WRITES must be"),
])
def test_bad_migration_or_replica_settings_are_refused_in_one_line(env, message):
    with pytest.raises(ConfigError) as refused:
        settings(**env)
    assert message in refused.value.message and "\n" not in refused.value.message
