"""The database binding: SQL logging without values, SQLite pragmas, pool warm-up."""

from __future__ import annotations

import logging

from deepref.db import warm_pool
from deepref.models import User


def test_sql_logging_shows_statements_but_never_values(make_app, env, caplog):
    app = make_app({**env, "DATABASE_LOGGING": "true"})
    from deepref import migrate as runner

    runner.migrate(app.extensions["deepref_db"], echo=lambda line: None)
    with caplog.at_level(logging.DEBUG, logger="peewee"):
        User.create(email="logged@example.com", password_hash="scrypt:SECRET-HASH-VALUE")
    text = caplog.text
    assert 'INSERT INTO "users"' in text
    assert "SECRET-HASH-VALUE" not in text and "logged@example.com" not in text


def test_sqlite_enforces_foreign_keys_on_every_connection(make_app, env, sqlite_database):
    db = make_app({**env, "DATABASE_URL": sqlite_database}).extensions["deepref_db"]
    for _ in range(2):
        db.connect(reuse_if_open=True)
        assert db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
        db.close()


def test_the_pool_opens_its_minimum_when_asked(make_app, env, backend):
    app = make_app({**env, "DATABASE_POOL_MIN": "3", "DATABASE_POOL_MAX": "4"})
    db = app.extensions["deepref_db"]
    opened = warm_pool(db, app.config["DEEPREF"].database.pool_min)
    if backend == "postgres":
        assert opened == 3 and len(db._connections) == 3
    else:
        assert opened == 0
