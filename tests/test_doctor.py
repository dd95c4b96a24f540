"""`flask db doctor`: one report, one line per finding, a summary, and exit codes a
pipeline can act on (0 nothing needs action, 1 findings, 2 bad usage, 3 cannot connect);
on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import fcntl

import peewee as pw
import psycopg2
import pytest

from databases import app_env, database_of
from deepref import migrate as runner
from deepref.db.backends import LOCK_WAITER, MIGRATION_LOCK_KEY
from deepref.migrate import doctor, draft

INDEXED = '''
def migrate(migrator, database, *, fake=False):
    migrator.sql('CREATE INDEX ix_users_first_name ON users (first_name)')


def rollback(migrator, database, *, fake=False):
    migrator.sql('DROP INDEX ix_users_first_name')
'''


@pytest.fixture
def app(make_app, env, folder):
    app = make_app(env, MIGRATIONS_DIR=str(folder))
    runner.migrate(database_of(app), folder, echo=lambda line: None)
    return app


def run(app, *args):
    return app.test_cli_runner().invoke(args=["db", "doctor", *args])


def test_a_healthy_database_exits_0(app):
    result = run(app)
    assert result.exit_code == 0, result.output
    assert result.output == "doctor: nothing needs action.\n"


def test_each_finding_is_one_line_and_exits_1(app, folder, backend):
    db = database_of(app)
    db.execute_sql("ALTER TABLE bundles ADD COLUMN note text")  # drift
    result = run(app)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "drift: bundles: unexpected column note: text NULL",
        "doctor: 1 finding(s) need action."]

    (folder / "900_indexed.py").write_text(INDEXED)  # pending, and lint flags it
    lines = run(app).output.splitlines()
    assert "history: 900_indexed is pending: run `flask db migrate`" in lines
    assert "note (drift): not compared while revisions are pending or missing" in lines
    assert any(line.startswith("lint: 900_indexed: index-not-concurrent: CREATE INDEX")
               for line in lines), lines
    assert lines[-1] == "doctor: 2 finding(s) need action, 1 note(s)."


def test_models_that_change_what_the_revisions_build_are_a_finding(app, folder):
    db = database_of(app)
    models = {m._meta.table_name: m for m in draft.replay(db, folder).orm}
    models["users"]._meta.add_field("nickname", pw.CharField(max_length=40, null=True))
    report = doctor.examine(db, folder, models=list(models.values()), sql_indexes={})
    lines = [f.line() for f in report.findings]
    assert "models: the models change what the revisions build: write a revision " \
           "(`flask db create NAME --auto` drafts one)" in lines
    assert any(line.startswith("drift: users: missing column nickname") for line in lines)
    assert report.exit_code == doctor.NEEDS_ACTION


def test_invalid_indexes_and_the_lock_holder_are_reported(app, backend, database_url):
    db = database_of(app)
    with contextlib.ExitStack() as stack:
        if backend == "postgres":
            db.execute_sql("UPDATE pg_index SET indisvalid = false "
                           "WHERE indexrelid = 'ix_users_role'::regclass")
            holder = stack.enter_context(contextlib.closing(psycopg2.connect(database_url)))
            holder.cursor().execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
            waiter = stack.enter_context(contextlib.closing(
                psycopg2.connect(database_url, application_name=LOCK_WAITER)))
            waiter.cursor().execute("SELECT 1")
        else:
            handle = stack.enter_context(open(f"{db.file}.migrate-lock", "a"))
            fcntl.flock(handle, fcntl.LOCK_EX)
        lines = run(app).output.splitlines()
    if backend == "postgres":
        assert "index: users.ix_users_role is INVALID (an interrupted concurrent build): " \
               "DROP INDEX CONCURRENTLY ix_users_role, then `flask db migrate` again" in lines
        assert any(line.startswith("note (lock): pid ") and line.endswith(
            "holds the migration lock") for line in lines), lines
        assert any(LOCK_WAITER in line and line.endswith("waits for the migration lock")
                   for line in lines), lines
    else:
        import os

        assert f"note (lock): pid {os.getpid()} holds the migration lock" in lines


def test_cannot_connect_exits_3_and_bad_usage_2(make_app, tmp_path, app):
    assert run(app, "extra").exit_code == 2
    missing = make_app(app_env(f"sqlite:///{tmp_path}/none/deepref.sqlite3"))
    result = run(missing)
    assert result.exit_code == 3 and "no database at" in result.output
    assert not (tmp_path / "none").exists()
    down = make_app(app_env("postgresql://deepref@127.0.0.1:1/nothing"))
    result = run(down)
    assert result.exit_code == 3, result.output
    assert "database postgresql://deepref@127.0.0.1:1/nothing:" in result.output
