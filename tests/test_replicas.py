"""Read replicas: lists, details, the dashboard and exports read from a streaming replica;
writes, sign-in and a user's reads right after a write go to the primary; a replica
down or lagging is skipped; /readyz reports each; a read-only DATABASE_URL answers 503.

A real primary (wal_level=replica) and its streaming replica (`pg_basebackup -R`) are
made once for the module. "Read from the replica" is shown, not assumed: with replay
paused on the replica, a row written on the primary is missing from the pages that
read from the replica, and present where the primary answers.
"""

from __future__ import annotations

import time

import pytest
from werkzeug.security import generate_password_hash

from databases import TEST_KEYS, database_of, migrated_app
from deepref import create_app
from deepref.db import read_only_warning
from deepref.models import User
from deploy_support import free_port

pytest_plugins = ["deploy_fixtures"]  # the `gunicorn` fixture
from scale_support import PASSWORD, csrf, new_cluster, sign_in

DBNAME = "deepref_replicated"
EMAIL = "written@example.com"


@pytest.fixture(scope="module")
def clusters(tmp_path_factory):
    """(primary, replica), the deepref database migrated on the primary and replicated."""
    primary = new_cluster("deepref-primary-")
    replica = None
    try:
        primary.query(f'CREATE DATABASE "{DBNAME}"')
        app = migrated_app({"DATABASE_URL": primary.url(DBNAME), **TEST_KEYS},
                           tmp_path_factory.mktemp("migrate"))
        database_of(app).shut()
        replica = primary.replica()
        yield primary, replica
    finally:
        if replica is not None:
            replica.discard()
        primary.discard()


@pytest.fixture(scope="module")
def password_hash():
    return generate_password_hash(PASSWORD)


@pytest.fixture
def make(clusters, tmp_path):
    """Apps on the primary with the replica(s) given; their rows and pools cleaned up."""
    primary, replica = clusters
    apps = []

    def build(**env):
        settings = {"DATABASE_URL": primary.url(DBNAME), "DATABASE_POOL_MIN": "0",
                    "DATABASE_REPLICA_URL": replica.url(DBNAME), **TEST_KEYS, **env}
        app = create_app({"ENV": settings, "INSTANCE_PATH": str(tmp_path), "TESTING": True})
        apps.append(app)
        return app

    yield build
    resume(replica)
    primary.query("DELETE FROM admin_sessions", dbname=DBNAME)
    primary.query("DELETE FROM users", dbname=DBNAME)
    for app in apps:
        database_of(app).shut()
        if "deepref_replicas" in app.extensions:
            app.extensions["deepref_replicas"].shut()


def pause(replica) -> None:
    replica.query("SELECT pg_wal_replay_pause()")


def resume(replica) -> None:
    replica.query("SELECT pg_wal_replay_resume()")


def until_received(primary, replica) -> None:
    """Until the replica has received everything the primary wrote (replayed or not)."""
    target = primary.query("SELECT pg_current_wal_lsn()")[0][0]
    for _ in range(600):
        if replica.query("SELECT pg_last_wal_receive_lsn() >= %s::pg_lsn", (target,))[0][0]:
            return
        time.sleep(0.05)
    raise AssertionError("the replica did not receive the primary's WAL")


def until_replayed(primary, replica) -> None:
    target = primary.query("SELECT pg_current_wal_lsn()")[0][0]
    for _ in range(600):
        if replica.query("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,))[0][0]:
            return
        time.sleep(0.05)
    raise AssertionError("the replica did not replay the primary's WAL")


def write_behind_the_replica(app, primary, replica) -> User:
    """A user written on the primary while the replica's replay is paused."""
    until_replayed(primary, replica)
    pause(replica)
    with app.app_context():
        user = User.create(email=EMAIL, role="seeker")
    until_received(primary, replica)
    return user


def forget_writes(client) -> None:
    """This browser wrote nothing lately (its sign-in POST counts as a write)."""
    with client.session_transaction() as session:
        session.pop("deepref_wrote_until", None)


def page(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def test_read_pages_come_from_the_replica_and_writes_go_to_the_primary(
        make, clusters, password_hash):
    primary, replica = clusters
    app = make(DATABASE_READ_YOUR_WRITES="0")
    client = sign_in(app, "reader@example.com", password_hash)
    user = write_behind_the_replica(app, primary, replica)

    assert EMAIL not in page(client, "/admin/user/")
    assert EMAIL not in page(client, "/admin/user/?search=written")
    assert client.get(f"/admin/user/details/?id={user.id}").status_code == 302  # not there
    assert "Dashboard" in page(client, "/admin/")
    assert EMAIL not in page(client, "/admin/user/export.csv")

    # A write (with its reads: the unique-email check) goes to the primary meanwhile.
    response = client.post("/admin/user/new/", data={
        "csrf_token": csrf(client), "email": EMAIL, "first_name": "Again", "last_name": "X",
        "role": "seeker", "kyc_status": "pending", "is_active": "y"})
    assert "already" in response.get_data(as_text=True).lower()  # seen on the primary
    with app.app_context():
        assert User.select().where(User.email == EMAIL).count() == 1

    resume(replica)
    until_replayed(primary, replica)
    assert EMAIL in page(client, "/admin/user/")
    assert client.get(f"/admin/user/details/?id={user.id}").status_code == 200


def test_a_user_reads_the_primary_right_after_writing(make, clusters, password_hash):
    primary, replica = clusters
    app = make(DATABASE_READ_YOUR_WRITES="3600")
    writer = sign_in(app, "writer@example.com", password_hash)
    reader = sign_in(app, "other@example.com", password_hash)
    forget_writes(reader)
    until_replayed(primary, replica)
    pause(replica)
    response = writer.post("/admin/user/new/", data={
        "csrf_token": csrf(writer), "email": EMAIL, "first_name": "New", "last_name": "One",
        "role": "seeker", "kyc_status": "pending", "is_active": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    until_received(primary, replica)
    assert EMAIL in page(writer, "/admin/user/")  # their own write, from the primary
    assert EMAIL not in page(reader, "/admin/user/")  # everyone else: the replica


def test_a_lagging_replica_is_skipped_and_reported(make, clusters, password_hash):
    primary, replica = clusters
    app = make(DATABASE_READ_YOUR_WRITES="0", DATABASE_REPLICA_MAX_LAG="0.001")
    client = sign_in(app, "lag@example.com", password_hash)
    write_behind_the_replica(app, primary, replica)
    assert EMAIL in page(client, "/admin/user/")  # the primary answered
    body = client.get("/readyz").get_json()
    assert body["status"] == "ready"
    assert body["replicas"][0]["status"] == "lagging" and body["replicas"][0]["lag_seconds"] > 0


def test_a_replica_down_is_skipped_and_readyz_reports_each(make, clusters, password_hash):
    primary, replica = clusters
    down = f"postgresql://postgres@127.0.0.1:{free_port()}/{DBNAME}"
    app = make(DATABASE_READ_YOUR_WRITES="0",
               DATABASE_REPLICA_URL=f"{down},{replica.url(DBNAME)}")
    until_replayed(primary, replica)
    response = app.test_client().get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "replicas": [
        {"replica": 1, "status": "unreachable"},
        {"replica": 2, "status": "ready", "lag_seconds": 0.0}]}
    client = sign_in(app, "down@example.com", password_hash)
    forget_writes(client)
    user = write_behind_the_replica(app, primary, replica)
    assert EMAIL not in page(client, "/admin/user/")  # replica 2 answered, 1 was skipped
    with app.app_context():
        assert User.get_by_id(user.id).email == EMAIL


def test_a_read_only_database_url_says_so_and_answers_503(make, clusters, password_hash):
    primary, replica = clusters
    with make().app_context():  # the primary: a sign-in-able admin, replicated
        User.create(email="ro@example.com", role="admin", password_hash=password_hash)
    until_replayed(primary, replica)
    app = make(DATABASE_URL=replica.url(DBNAME), DATABASE_REPLICA_URL="")
    with app.app_context():
        warning = read_only_warning(database_of(app))
    assert warning and "read-only server" in warning and "DATABASE_URL" in warning

    client = app.test_client()
    token = csrf(client, "/login")
    response = client.post("/login", data={"email": "ro@example.com", "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 503
    assert "accepts no changes" in response.get_data(as_text=True)
    response = client.post("/login", headers={"Accept": "application/json"}, data={
        "email": "ro@example.com", "password": PASSWORD, "csrf_token": csrf(client, "/login")})
    assert response.status_code == 503 and response.get_json()["error"] == "database_read_only"
    assert client.get("/readyz").get_json() == {"status": "unavailable",
                                                "reason": "database is read-only"}

    result = app.test_cli_runner().invoke(args=["db", "migrate"])
    assert result.exit_code == 1
    assert "read-only server" in result.output and "Traceback" not in result.output


def test_gunicorn_on_a_read_only_database_url_says_so_at_start_up(clusters, gunicorn):
    primary, replica = clusters
    server = gunicorn({"PATH": "/usr/bin:/bin", "DATABASE_URL": replica.url(DBNAME),
                       "GUNICORN_WORKERS": "1", "DATABASE_POOL_MIN": "1", **TEST_KEYS})
    assert "DATABASE_URL points at a read-only server (a standby" in server.log()
    response = server.get_json("/readyz")
    assert (response.status, response.json()) == (
        503, {"status": "unavailable", "reason": "database is read-only"})
    assert "Traceback" not in server.log()


def test_inside_a_read_context_a_transaction_and_its_reads_stay_on_the_primary(make, clusters):
    primary, replica = clusters
    app = make(DATABASE_READ_YOUR_WRITES="0")
    from deepref.db import database, replicas

    with app.test_request_context("/admin/user/"):
        with replicas.reading():
            assert database.execute_sql("SELECT pg_is_in_recovery()").fetchone()[0]
            with database.atomic():  # e.g. an audit row written while a page reads
                assert not database.execute_sql("SELECT pg_is_in_recovery()").fetchone()[0]
                User.create(email=EMAIL, role="seeker")
                with database.atomic():  # nested: a savepoint, still on the primary
                    assert User.select().where(User.email == EMAIL).count() == 1
            assert database.execute_sql("SELECT pg_is_in_recovery()").fetchone()[0]
        assert not database.execute_sql("SELECT pg_is_in_recovery()").fetchone()[0]
