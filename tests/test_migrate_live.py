"""The runner on a live PostgreSQL database: lock timeouts and retries that name the
blocker, concurrent index builds that survive a kill, and waiting runs that never
deadlock with a build. Sessions that block are real connections, released by events,
never by timing."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg2
import pytest

from databases import TEST_KEYS, app_env, database_of
from deepref import migrate as runner
from deepref.migrate import Limits, MigrationError

ROOT = Path(__file__).resolve().parent.parent
BLOCKER = "live-test-blocker"

ADD_COLUMN = '''
def migrate(migrator, database, *, fake=False):
    migrator.sql('ALTER TABLE "references" ADD COLUMN live_note text')


def rollback(migrator, database, *, fake=False):
    migrator.sql('ALTER TABLE "references" DROP COLUMN live_note')
'''
INDEX = '''
from deepref.migrate.ops import create_indexes, drop_indexes

SPECS = [("users", "ix_users_first_name", ("first_name",), False, None)]


def migrate(migrator, database, *, fake=False):
    create_indexes(migrator, database, SPECS, concurrently=True)


def rollback(migrator, database, *, fake=False):
    drop_indexes(migrator, SPECS, concurrently=True)
'''


@pytest.fixture
def revisions(tmp_path):
    """A migrations folder: the real revisions, plus one written by the test."""
    folder = tmp_path / "migrations"
    shutil.copytree(ROOT / "migrations", folder, ignore=shutil.ignore_patterns("__pycache__"))

    def add(source: str, name: str = "900_live_test") -> str:
        (folder / f"{name}.py").write_text(source)
        return name

    add.folder = folder
    return add


@pytest.fixture
def live(make_app, pg_database, revisions):
    """(app, db) at 006 on a new PostgreSQL database."""
    app = make_app(app_env(pg_database), MIGRATIONS_DIR=str(revisions.folder))
    db = database_of(app)
    runner.migrate(db, revisions.folder, echo=lambda line: None)
    return app, db


@contextlib.contextmanager
def blocker(url: str, statement: str):
    """A session that runs `statement` in a transaction it keeps open until told."""
    conn = psycopg2.connect(url, application_name=BLOCKER)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            pid = cur.fetchone()[0]
            cur.execute(statement)  # the last query the runner will name
        yield conn, pid
    finally:
        conn.rollback()
        conn.close()


def columns(db, table: str) -> set[str]:
    return {c.name for c in db.get_columns(table)}


def test_a_lock_timeout_is_retried_naming_the_blocker_until_it_lets_go(live, revisions, pg_database):
    app, db = live
    name = revisions(ADD_COLUMN)
    lines, first_attempt = [], threading.Event()

    def echo(line):
        lines.append(line)
        if "attempt 1 of" in line:
            first_attempt.set()

    with blocker(pg_database, 'SELECT 1 FROM "references" LIMIT 1') as (conn, pid):
        letting_go = threading.Thread(target=lambda: first_attempt.wait(60) and conn.rollback())
        letting_go.start()
        applied = runner.migrate(db, revisions.folder, echo=echo,
                                 limits=Limits(lock_timeout=0.5, attempts=5, first_wait=0.2))
        letting_go.join()
    assert applied == [name]
    retry = next(line for line in lines if "attempt 1 of 5" in line)
    assert f"blocked by pid {pid} ({BLOCKER}), idle in transaction for " in retry
    assert 'SELECT 1 FROM "references" LIMIT 1' in retry
    assert "live_note" in columns(db, "references")


def test_a_blocker_that_stays_fails_the_revision_clearly_and_keeps_nothing(live, revisions,
                                                                           pg_database):
    app, db = live
    name = revisions(ADD_COLUMN)
    lines = []
    with blocker(pg_database, 'SELECT 1 FROM "references" LIMIT 1') as (conn, pid):
        with pytest.raises(MigrationError) as failure:
            runner.migrate(db, revisions.folder, echo=lines.append,
                           limits=Limits(lock_timeout=0.3, attempts=3, first_wait=0.1))
    message = failure.value.message
    assert message.startswith(f"Applying {name} failed: each of 3 attempts waited more than "
                              "0.3 s for a lock; nothing of it was kept.")
    assert f"blocked by pid {pid} ({BLOCKER})" in message
    assert "MIGRATION_LOCK_TIMEOUT" in message
    assert sum("attempt" in line for line in lines) == 2
    assert "live_note" not in columns(db, "references")
    assert [s.name for s in runner.status(db, revisions.folder) if not s.applied_at] == [name]


def test_the_cli_exits_1_with_the_blocker_named(live, revisions, pg_database):
    app, db = live
    revisions(ADD_COLUMN)
    app.config["DEEPREF"] = _patient(app.config["DEEPREF"], lock_timeout=0.3, attempts=2)
    with blocker(pg_database, 'SELECT 1 FROM "references" LIMIT 1') as (conn, pid):
        result = app.test_cli_runner().invoke(args=["db", "migrate"])
    assert result.exit_code == 1
    assert f"blocked by pid {pid} ({BLOCKER})" in result.output
    assert "Traceback" not in result.output


def _patient(settings, **changes):
    import dataclasses

    return dataclasses.replace(settings, migration=dataclasses.replace(settings.migration, **changes))


# Concurrent index builds, in real processes -------------------------------------------


def flask_migrate(revisions, url: str, **env) -> subprocess.Popen:
    """`flask db migrate` in its own process, on the test's migrations folder."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "FLASK_"))}
    return subprocess.Popen(
        [sys.executable, "-u", "-m", "flask", "--app", "deploy_app:build()", "db", "migrate"],
        cwd=ROOT / "tests", text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env={**base, **TEST_KEYS, "DATABASE_URL": url, "PYTHONPATH": str(ROOT / "tests"),
             "DEPLOY_TEST_MIGRATIONS_DIR": str(revisions.folder), **env})


def wait_for(condition, what: str, timeout: float = 120):
    """Poll until `condition()` is true (a generous bound against hangs, not a speed test)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def index_valid(db, name: str):
    row = db.execute_sql("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)",
                         (name,)).fetchone()
    return None if row is None else row[0]


def advisory_locks(db) -> int:
    return db.execute_sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                          "AND database = (SELECT oid FROM pg_database "
                          "WHERE datname = current_database())").fetchone()[0]


def building(db) -> bool:
    return db.execute_sql("SELECT count(*) FROM pg_stat_progress_create_index "
                          "WHERE index_relid = to_regclass('ix_users_first_name')").fetchone()[0] > 0


def test_a_build_killed_midway_is_rebuilt_by_the_next_run(live, revisions, pg_database):
    app, db = live
    name = revisions(INDEX)
    # An open write to users: the concurrent build waits for it before building.
    with blocker(pg_database, "INSERT INTO users (email) VALUES ('held@example.com')"):
        first = flask_migrate(revisions, pg_database, MIGRATION_LOCK_TIMEOUT="600")
        try:
            wait_for(lambda: building(db), "the build to start")
            assert index_valid(db, "ix_users_first_name") is False
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=60)
        finally:
            first.stdout.close()
        wait_for(lambda: advisory_locks(db) == 0, "the server to release the dead run's lock")
    assert index_valid(db, "ix_users_first_name") is False  # what the kill left behind
    assert name not in {s.name for s in runner.status(db, revisions.folder) if s.applied_at}

    second = flask_migrate(revisions, pg_database)
    output, _ = second.communicate(timeout=120)
    assert second.returncode == 0, output
    assert index_valid(db, "ix_users_first_name") is True
    assert db.execute_sql("SELECT count(*) FROM pg_index WHERE NOT indisvalid").fetchone()[0] == 0
    history = [s.name for s in runner.status(db, revisions.folder) if s.applied_at]
    assert history.count(name) == 1


def test_runs_waiting_for_the_lock_never_deadlock_with_a_concurrent_build(live, revisions,
                                                                          pg_database):
    app, db = live
    name = revisions(INDEX)
    with blocker(pg_database, "INSERT INTO users (email) VALUES ('held@example.com')"):
        first = flask_migrate(revisions, pg_database, MIGRATION_LOCK_TIMEOUT="600")
        wait_for(lambda: building(db), "the first run's build to start")
        started = time.monotonic()
        others = [flask_migrate(revisions, pg_database) for _ in range(3)]
        for other in others:
            line = other.stdout.readline()
            assert line.startswith("Waiting for another migration run to finish"), line
        # A build that outlasts a second reports its progress (at most once a second).
        time.sleep(max(0.0, 1.5 - (time.monotonic() - started)))
    outputs = [process.communicate(timeout=120)[0] for process in (first, *others)]
    assert [process.returncode for process in (first, *others)] == [0, 0, 0, 0], outputs
    assert sum(f"Applied {name}\n" in output for output in outputs) == 1
    assert "building index ix_users_first_name: " in outputs[0]
    history = [s.name for s in runner.status(db, revisions.folder) if s.applied_at]
    assert history.count(name) == 1 and index_valid(db, "ix_users_first_name") is True
