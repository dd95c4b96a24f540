"""The database binding: SQL logging without values, SQLite pragmas, pool warm-up."""

from __future__ import annotations

import os
import subprocess
import sys

from databases import database_of
from deepref.migrate import HISTORY_TABLE
from deepref.models import User


def flask(cwd, env, *args, stdin=""):
    """A real `flask --app deepref` process with only `env` as configuration."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "FLASK_"))}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "deepref", *args],
                          cwd=cwd, env={**base, **env}, input=stdin, capture_output=True,
                          text=True, timeout=60)


def test_sql_logging_writes_statements_to_stderr_but_never_values(app, env, db, tmp_path):
    """Real output, not a pytest log capture: peewee's own NullHandler must not hide it."""
    logged = {**env, "DATABASE_LOGGING": "true"}
    status = flask(tmp_path, logged, "db", "status")
    assert status.returncode == 0, status.stderr
    assert f" SQL SELECT name, migrated_at FROM {HISTORY_TABLE} ORDER BY id" in status.stderr
    assert "SQL" not in status.stdout

    password = "a-long-enough-password-1"
    created = flask(tmp_path, logged, "create-admin", "logged@example.com",
                    "--password-stdin", stdin=f"{password}\n")
    assert created.returncode == 0, created.stderr
    assert 'SQL INSERT INTO "users"' in created.stderr
    stored_hash = User.get(User.email == "logged@example.com").password_hash
    for value in ("logged@example.com", stored_hash, password):
        assert value not in created.stderr


def test_sqlite_enforces_foreign_keys_on_every_connection(make_app, env, sqlite_database):
    db = database_of(make_app({**env, "DATABASE_URL": sqlite_database}))
    for _ in range(2):
        db.connect(reuse_if_open=True)
        assert db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
        db.close()


def test_the_pool_opens_its_minimum_when_asked(make_app, env, backend):
    app = make_app({**env, "DATABASE_POOL_MIN": "3", "DATABASE_POOL_MAX": "4"})
    db = database_of(app)
    opened = db.warm(app.config["DEEPREF"].database.pool_min)
    if backend == "postgres":
        assert opened == 3 and len(db._connections) == 3
    else:
        assert opened == 0
