"""Faults under a real gunicorn, against a PostgreSQL server the tests stop and start."""

from __future__ import annotations

import concurrent.futures
import os
import signal
import threading
import time
import uuid

import pytest

from databases import close_database
from deploy_app import TAG_DOMAIN
from deploy_support import bench_load

pytest_plugins = ["deploy_fixtures"]

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
ADMIN_EMAIL = "deploy-admin@example.com"
PASSWORD = "a long enough test password"


@pytest.fixture
def migrated_env(pg_running, deploy_db):
    """The environment of an app on a migrated database (migrated by gunicorn's master)."""
    return pg_running.env(deploy_db, DATABASE_MIGRATIONS_RUN="true", DATABASE_POOL_TIMEOUT="1")


def tagged_rows(server, dbname, tag) -> int:
    return server.query("SELECT count(*) FROM users WHERE email LIKE %s",
                        (f"{tag}-%@{TAG_DOMAIN}",), dbname=dbname)[0][0]


def test_an_outage_answers_503_and_recovers_without_a_restart(pg_running, deploy_db,
                                                              migrated_env, gunicorn):
    server = gunicorn({**migrated_env, "GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "2",
                       "DATABASE_POOL_MIN": "2"})
    assert server.get_json("/test/read").status == 200
    pg_running.stop()

    as_json = server.get_json("/test/read")
    assert as_json.status == 503
    assert as_json.json()["error"] == "database_unavailable"
    page = server.get("/test/read", headers=HTML)
    assert page.status == 503 and "Temporarily unavailable" in page.body
    ready = server.get("/readyz")
    assert (ready.status, ready.json()) == (
        503, {"status": "unavailable", "reason": "database unreachable"})
    for body in (as_json.body, page.body, ready.body):
        assert "Traceback" not in body and str(pg_running.port) not in body

    pg_running.start()
    back = time.monotonic()
    # Every worker held dead pooled connections: each is discarded, never handed out.
    statuses = [server.get_json("/test/read").status for _ in range(20)]
    assert statuses == [200] * 20, statuses
    assert server.get("/readyz").status == 200
    assert time.monotonic() - back < 5
    assert "Traceback" not in server.log()


def test_a_restart_in_the_middle_of_a_write_never_half_writes(pg_running, deploy_db,
                                                              migrated_env, gunicorn):
    server = gunicorn({**migrated_env, "GUNICORN_WORKERS": "1", "DATABASE_POOL_MIN": "1"})
    tag = uuid.uuid4().hex[:8]
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        # Five rows in one transaction, 0.3 s apart: the restart lands after the second.
        writing = pool.submit(server.post_json, f"/test/write?rows=5&pause=0.3&tag={tag}")
        time.sleep(0.75)
        pg_running.stop()
        pg_running.start()
        response = writing.result(timeout=30)
    assert response.status == 503, response.body
    assert response.json()["error"] == "database_unavailable"
    assert tagged_rows(pg_running, deploy_db, tag) == 0

    # The next write, on the same gunicorn, commits whole.
    response = server.post_json(f"/test/write?rows=5&pause=0&tag={tag}")
    assert response.status == 200, response.body
    assert tagged_rows(pg_running, deploy_db, tag) == 5


def test_a_killed_worker_is_replaced_within_the_connection_limit(pg_running, deploy_db,
                                                                 migrated_env, gunicorn):
    workers, pool_max = 2, 4  # 2 connections per worker (half: gunicorn.conf.py)
    server = gunicorn({**migrated_env, "GUNICORN_WORKERS": str(workers),
                       "GUNICORN_THREADS": "4", "DATABASE_POOL_MAX": str(pool_max),
                       "DATABASE_POOL_MIN": "1", "DATABASE_POOL_TIMEOUT": "3"})
    stop = threading.Event()
    results = []  # (started, status or exception name)
    peak = [0]

    def watch_connections():
        while not stop.is_set():
            peak[0] = max(peak[0], pg_running.app_connections(deploy_db))
            time.sleep(0.01)

    def client():
        while not stop.is_set():
            started = time.monotonic()
            try:
                status = server.get_json("/test/slow?seconds=0.05").status
            except OSError as exc:
                status = type(exc).__name__
            results.append((started, status))

    threads = [threading.Thread(target=watch_connections)]
    threads += [threading.Thread(target=client) for _ in range(6)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1)
        before = server.worker_pids()
        victim = min(before)
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        deadline = killed_at + 15
        while time.monotonic() < deadline and not (
                len(server.worker_pids() - before) == 1 and len(server.worker_pids()) == workers):
            time.sleep(0.05)
        replaced_after = time.monotonic() - killed_at
        time.sleep(1.5)  # keep the load on the new worker too
    finally:
        stop.set()
        for thread in threads:
            thread.join()

    assert victim not in server.worker_pids() and len(server.worker_pids()) == workers
    assert replaced_after < 10
    after = [status for started, status in results if started > killed_at + 0.05]
    assert len(after) > 50
    assert set(after) == {200}, sorted(set(map(str, after)))
    assert 0 < peak[0] <= workers * pool_max
    assert "Traceback" not in server.log()


def test_an_exhausted_pool_waits_the_pool_timeout_then_answers_503(migrated_env, gunicorn):
    # A worker's pool is half of DATABASE_POOL_MAX (gunicorn.conf.py): 2 connections.
    server = gunicorn({**migrated_env, "GUNICORN_WORKERS": "1", "GUNICORN_THREADS": "6",
                       "DATABASE_POOL_MAX": "4", "DATABASE_POOL_MIN": "2",
                       "DATABASE_POOL_TIMEOUT": "1"})

    def slow_request():
        started = time.monotonic()
        response = server.get_json("/test/slow?seconds=3", timeout=20)
        return response.status, response.json(), time.monotonic() - started

    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        outcomes = list(pool.map(lambda _: slow_request(), range(5)))
    served = [o for o in outcomes if o[0] == 200]
    refused = [o for o in outcomes if o[0] == 503]
    assert (len(served), len(refused)) == (2, 3), outcomes
    for _, body, waited in refused:
        assert body["error"] == "server_busy"
        assert 0.9 <= waited < 2.5
    assert all(3 <= waited < 5 for _, _, waited in served)


def test_a_restart_in_the_middle_of_an_admin_edit_keeps_it_whole(pg_running, deploy_db,
                                                                 migrated_env, gunicorn,
                                                                 tmp_path):
    """The reference's update and its audit row are one transaction: both or neither."""
    server = gunicorn({**migrated_env, "GUNICORN_WORKERS": "1", "DATABASE_POOL_MIN": "1"})
    reference_id = make_admin_and_reference(migrated_env, tmp_path)
    load = bench_load()
    browser = load.Browser(server.port)
    browser.sign_in(ADMIN_EMAIL, PASSWORD)
    path = f"/admin/reference/edit/?id={reference_id}&url=/admin/reference/"

    def edit_form(value):
        _, _, page = browser.request("GET", path)
        form = next(f for f in load.forms_of(page) if "admin-form" in f["attrs"].get("class", ""))
        return [(k, value if k == "relationship" else v) for k, v in form["fields"]]

    fields = edit_form("edited during the restart")
    blocker = pg_running.admin(deploy_db)
    blocker.autocommit = False
    with blocker.cursor() as cur:  # the audit row will wait: the update is already made
        cur.execute("LOCK TABLE audit_log IN EXCLUSIVE MODE")
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        saving = pool.submit(browser.request, "POST", path, fields)
        deadline = time.monotonic() + 10
        while not pg_running.query(
                "SELECT 1 FROM pg_stat_activity WHERE datname = %s AND usename = 'deepref_app' "
                "AND wait_event_type = 'Lock'", (deploy_db,)):
            assert time.monotonic() < deadline, "the save never reached the audit row"
            time.sleep(0.02)
        pg_running.stop()
        pg_running.start()
        status, _, page = saving.result(timeout=30)
    blocker.close()

    assert status in (200, 503), status  # the form again with a message, or the 503 page
    assert "Nothing was saved" in page or "may not have been saved" in page
    assert reference_row(pg_running, deploy_db, reference_id) == ("colleague", 0)

    # Still signed in, on the same gunicorn: the next save goes through, whole.
    status, _, _ = browser.request("POST", path, edit_form("edited afterwards"))
    browser.close()
    assert status == 302, status
    assert reference_row(pg_running, deploy_db, reference_id) == ("edited afterwards", 1)


def make_admin_and_reference(env, tmp_path) -> str:
    """An admin who can sign in, and one reference to edit (made through the models)."""
    from deepref import create_app
    from deepref.auth.admins import set_admin
    from deepref.models import Reference, User

    app = create_app({"ENV": env, "INSTANCE_PATH": str(tmp_path / "instance")})
    try:
        with app.app_context():
            set_admin(ADMIN_EMAIL, PASSWORD)
            seeker = User.create(email="seeker@example.com")
            reference = Reference.create(seeker=seeker, referrer_name="Ann Lee",
                                         referrer_email="ann@example.com", company="Acme",
                                         role="Engineer", relationship="colleague")
            return str(reference.id)
    finally:
        close_database(app)


def reference_row(server, dbname, reference_id) -> tuple[str, int]:
    """(relationship, number of audit rows for it)."""
    return server.query(
        'SELECT relationship, (SELECT count(*) FROM audit_log WHERE row_id = %s) '
        'FROM "references" WHERE id = %s', (reference_id, reference_id), dbname=dbname)[0]
