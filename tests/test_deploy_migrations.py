"""Migrations in deployment: applied once by servers starting together; a killed run."""

from __future__ import annotations

import signal
import subprocess
import textwrap
import time

from deepref import migrate as runner
from deploy_support import ROOT, VENV_BIN

pytest_plugins = ["deploy_fixtures"]

FIRST = """
def migrate(migrator, database, *, fake=False):
    migrator.sql("CREATE TABLE deploy_first (id integer PRIMARY KEY)")


def rollback(migrator, database, *, fake=False):
    migrator.sql("DROP TABLE deploy_first")
"""
SLOW = """
import os


def migrate(migrator, database, *, fake=False):
    migrator.sql("CREATE TABLE deploy_slow (id integer PRIMARY KEY)")
    migrator.sql("INSERT INTO deploy_slow VALUES (1)")
    if os.environ.get("DEPLOY_TEST_SLOW"):
        migrator.sql("SELECT pg_sleep(30)")


def rollback(migrator, database, *, fake=False):
    migrator.sql("DROP TABLE deploy_slow")
"""


def applied(server, dbname) -> list[str]:
    return [name for (name,) in server.query(
        f"SELECT name FROM {runner.HISTORY_TABLE} ORDER BY id", dbname=dbname)]


def lock_holders(server, dbname) -> int:
    return server.query(
        "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
        "WHERE l.locktype = 'advisory' AND d.datname = %s AND l.granted", (dbname,))[0][0]


def test_servers_starting_together_apply_each_revision_once(pg_running, deploy_db, gunicorn):
    env = pg_running.env(deploy_db, DATABASE_MIGRATIONS_RUN="true", GUNICORN_WORKERS="1",
                         DATABASE_POOL_MIN="1")
    servers = [gunicorn(env, wait=False, app="wsgi:app") for _ in range(3)]
    for server in servers:
        server.wait_until_serving()
    assert applied(pg_running, deploy_db) == runner.available()
    for server in servers:
        assert server.get_json("/readyz").json() == {"status": "ready"}
    logs = "".join(server.log() for server in servers)
    for name in runner.available():
        assert logs.count(f"Applied {name}") == 1
    assert "Traceback" not in logs


def test_a_migration_killed_midway_leaves_the_previous_revision(pg_running, deploy_db,
                                                                tmp_path):
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "001_first.py").write_text(textwrap.dedent(FIRST))
    (migrations / "002_slow.py").write_text(textwrap.dedent(SLOW))
    env = pg_running.env(deploy_db, DEPLOY_TEST_MIGRATIONS_DIR=str(migrations))
    command = [str(VENV_BIN / "flask"), "--app", "tests/deploy_app.py:build()", "db", "migrate"]

    process = subprocess.Popen(command, cwd=ROOT, env={**env, "DEPLOY_TEST_SLOW": "1"},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while not pg_running.query(
                "SELECT 1 FROM pg_stat_activity WHERE datname = %s AND state = 'active' "
                "AND query LIKE %s AND pid <> pg_backend_pid()", (deploy_db, "%pg_sleep(30)%"),
                dbname=deploy_db):
            assert process.poll() is None and time.monotonic() < deadline, process.stdout.read()
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
        process.stdout.close()

    # The server notices the dead client (client_connection_check_interval) and rolls
    # its transaction back, which also ends its session and so the advisory lock.
    killed_at = time.monotonic()
    while lock_holders(pg_running, deploy_db) and time.monotonic() < killed_at + 10:
        time.sleep(0.1)
    assert lock_holders(pg_running, deploy_db) == 0
    assert applied(pg_running, deploy_db) == ["001_first"]
    tables = {name for (name,) in pg_running.query(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'", dbname=deploy_db)}
    assert "deploy_first" in tables and "deploy_slow" not in tables

    rerun = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=60)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "Applied 002_slow" in rerun.stdout
    assert applied(pg_running, deploy_db) == ["001_first", "002_slow"]
    assert pg_running.query("SELECT id FROM deploy_slow", dbname=deploy_db) == [(1,)]
