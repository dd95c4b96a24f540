"""The connection budget: at most GUNICORN_WORKERS x DATABASE_POOL_MAX server connections,
a reload under load included; a full server told apart from a down one.

The reload test runs a real gunicorn on the deployment tests' PostgreSQL server, keeps a
fixed number of clients busy on a route that holds a connection, sends SIGHUP, and
samples pg_stat_activity (the app's role on its database) until the new workers have
served a fixed number of requests.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time

import psycopg2
import pytest

from databases import TEST_KEYS, database_of, migrated_app
from deepref import create_app
from deploy_support import APP_USER, free_port
from scale_support import new_cluster

pytest_plugins = ["deploy_fixtures"]

WORKERS, THREADS, POOL_MAX = 2, 4, 4
CLIENTS = WORKERS * THREADS  # every thread of every worker kept busy
# Each request holds its connection this long: the old workers are still draining theirs
# while the new ones load and warm their pools (the overlap that broke the bound).
HOLD = 1.0
BEFORE, AFTER = 4, 8  # requests answered before the reload, and after it completes


def test_a_reload_under_load_stays_within_the_connection_budget(pg_running, deploy_db,
                                                                gunicorn):
    bound = WORKERS * POOL_MAX
    server = gunicorn(pg_running.env(
        deploy_db, DATABASE_MIGRATIONS_RUN="true", GUNICORN_WORKERS=str(WORKERS),
        GUNICORN_THREADS=str(THREADS), DATABASE_POOL_MAX=str(POOL_MAX),
        DATABASE_POOL_MIN=str(POOL_MAX), DATABASE_POOL_TIMEOUT="30"))
    stop, answered, statuses, peak = threading.Event(), [0], [], [0]
    lock = threading.Lock()

    def sample():
        with contextlib.closing(pg_running.admin()) as conn, conn.cursor() as cur:
            while not stop.is_set():
                cur.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                            "AND usename = %s", (deploy_db, APP_USER))
                peak[0] = max(peak[0], cur.fetchone()[0])

    def client():
        while not stop.is_set():
            try:
                status = server.get_json(f"/test/slow?seconds={HOLD}", timeout=60).status
            except OSError as exc:
                status = type(exc).__name__
            with lock:
                statuses.append(status)
                answered[0] += 1

    threads = [threading.Thread(target=sample)]
    threads += [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    try:
        until(lambda: answered[0] >= BEFORE)
        old = server.worker_pids()
        os.kill(server.process.pid, signal.SIGHUP)
        until(lambda: not (server.worker_pids() & old) and len(server.worker_pids()) == WORKERS)
        reloaded = answered[0]
        until(lambda: answered[0] >= reloaded + AFTER)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert set(statuses) == {200}, sorted(set(map(str, statuses)))
    assert 0 < peak[0] <= bound, f"{peak[0]} connections at peak for a bound of {bound}"
    assert "Traceback" not in server.log()


def until(condition, limit: float = 120) -> None:
    """Wait for `condition` (a generous limit only against a hang, never a measure)."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def full_server(tmp_path_factory):
    """A migrated server with 6 connection slots (none reserved), to fill."""
    cluster = new_cluster("deepref-full-", "max_connections = 6\n"
                          "superuser_reserved_connections = 0\nmax_wal_senders = 0")
    try:
        app = migrated_app({"DATABASE_URL": cluster.url(), **TEST_KEYS},
                           tmp_path_factory.mktemp("full"))
        database_of(app).shut()
        yield cluster
    finally:
        cluster.discard()


@contextlib.contextmanager
def filled(cluster):
    """Every slot of `cluster` taken until the block ends."""
    held = []
    try:
        while True:
            try:
                held.append(psycopg2.connect(cluster.url(), connect_timeout=5))
            except psycopg2.OperationalError as exc:
                assert "too many clients" in str(exc)
                break
        yield
    finally:
        for conn in held:
            conn.close()


def app_on(url, tmp_path):
    return create_app({"ENV": {"DATABASE_URL": url, "DATABASE_POOL_MIN": "0", **TEST_KEYS},
                       "INSTANCE_PATH": str(tmp_path), "TESTING": True,
                       "WTF_CSRF_ENABLED": False})


def sign_in_attempt(client, json: bool):
    headers = {"Accept": "application/json"} if json else {}
    return client.post("/login", headers=headers,
                       data={"email": "someone@example.com", "password": "not checked"})


def test_a_full_server_is_told_apart_from_a_down_one(full_server, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="deepref")
    warm = app_on(full_server.url(), tmp_path)
    cold = app_on(full_server.url(), tmp_path)
    down = app_on(f"postgresql://postgres@127.0.0.1:{free_port()}/postgres", tmp_path)
    assert warm.test_client().get("/readyz").get_json() == {"status": "ready"}  # pooled now
    with filled(full_server):
        page = sign_in_attempt(cold.test_client(), json=False)
        assert page.status_code == 503
        assert "no free connection" in page.get_data(as_text=True)
        assert "cannot be reached" not in page.get_data(as_text=True)
        body = sign_in_attempt(cold.test_client(), json=True).get_json()
        assert body["error"] == "database_full"
        # /readyz: 200 however often it is asked, whether this process holds a pooled
        # connection (warm) or needs a new one (cold): a load balancer sees no flapping.
        for _ in range(3):
            response = cold.test_client().get("/readyz")
            assert (response.status_code, response.get_json()) == (
                200, {"status": "ready", "database": "full"})
            response = warm.test_client().get("/readyz")
            assert (response.status_code, response.get_json()) == (200, {"status": "ready"})
    assert "database server full (no connection slot) for POST /login" in caplog.text

    caplog.clear()
    page = sign_in_attempt(down.test_client(), json=False)
    assert page.status_code == 503 and "cannot be reached" in page.get_data(as_text=True)
    assert sign_in_attempt(down.test_client(), json=True).get_json()["error"] == (
        "database_unavailable")
    assert down.test_client().get("/readyz").get_json() == {
        "status": "unavailable", "reason": "database unreachable"}
    assert "database unavailable for POST /login" in caplog.text
    assert "server full" not in caplog.text
    for app in (warm, cold, down):
        database_of(app).shut()
