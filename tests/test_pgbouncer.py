"""PgBouncer in transaction mode: the console through it, migrations beside it.

A real pgbouncer (Debian's) in transaction mode, started once for this module in front
of the tests' PostgreSQL server. `flask db migrate` through it is refused in one line
naming DATABASE_MIGRATION_URL (its session lock cannot hold there); with
DATABASE_MIGRATION_URL pointing straight at the server, concurrent runs apply each
revision once while the app serves through the pooler.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import subprocess
import textwrap

import psycopg2
import pytest
from werkzeug.security import generate_password_hash

from databases import POSTGRES_URL, TEST_KEYS, app_env, database_of, throwaway_postgres
from deepref import create_app
from deepref import migrate as runner
from deepref.models import User
from deploy_support import ROOT, VENV_BIN
from scale_support import PASSWORD, PgBouncer, csrf, sign_in

REVISIONS = 10
ROUNDS = 10
RUNS = 4  # concurrent `flask db migrate` per round
# Each revision creates a table (a second run of it fails) and logs itself once.
REVISION = """
def migrate(migrator, database, *, fake=False):
    migrator.sql("CREATE TABLE IF NOT EXISTS pooled_log (name text)")
    migrator.sql("CREATE TABLE pooled_{n} (id integer)")
    migrator.sql("INSERT INTO pooled_log VALUES ('{n}')")


def rollback(migrator, database, *, fake=False):
    migrator.sql("DROP TABLE pooled_{n}")
"""


@pytest.fixture(scope="module")
def bouncer():
    pooler = PgBouncer(POSTGRES_URL).start()
    yield pooler
    pooler.stop()


@pytest.fixture(scope="module")
def revisions(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pooled-revisions")
    for n in range(1, REVISIONS + 1):
        (folder / f"{n:03}_pooled_{n}.py").write_text(textwrap.dedent(REVISION.format(n=n)))
    return folder


def flask_migrate(env: dict[str, str], folder) -> subprocess.Popen:
    """`flask db migrate` on `folder`'s revisions, as an operator runs it."""
    return subprocess.Popen(
        [str(VENV_BIN / "flask"), "--app", "deploy_app:build()", "db", "migrate"],
        cwd=ROOT, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{ROOT}:{ROOT / 'tests'}",
                       "DEPLOY_TEST_MIGRATIONS_DIR": str(folder), **env},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_the_console_works_through_a_transaction_pooler(bouncer, migrated_templates, tmp_path):
    with throwaway_postgres(template=migrated_templates.get("postgres")) as direct:
        env = app_env(bouncer.url(direct), DATABASE_MIGRATION_URL=direct)
        app = create_app({"ENV": env, "INSTANCE_PATH": str(tmp_path), "TESTING": True})
        try:
            client = sign_in(app, "pooled@example.com", generate_password_hash(PASSWORD))
            response = client.post("/admin/user/new/", data={
                "csrf_token": csrf(client), "email": "through@example.com", "first_name": "T",
                "last_name": "P", "role": "seeker", "kyc_status": "pending", "is_active": "y"})
            assert response.status_code == 302, response.get_data(as_text=True)[:2000]
            with app.app_context():
                user = User.get(User.email == "through@example.com")
            assert "through@example.com" in client.get("/admin/user/").get_data(as_text=True)
            assert client.get(f"/admin/user/details/?id={user.id}").status_code == 200
            assert client.get("/admin/").status_code == 200
            assert client.get("/readyz").get_json() == {"status": "ready"}
            # `flask db` commands use the direct URL: the lock holds there.
            result = app.test_cli_runner().invoke(args=["db", "migrate"])
            assert result.exit_code == 0 and "up to date" in result.output, result.output
            locks = database_of(app).execute_sql(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            ).fetchone()[0]
            assert locks == 0  # the migration lock was given back
        finally:
            database_of(app).shut()


def test_concurrent_migrates_through_the_pooler_are_refused_in_one_line(bouncer, revisions):
    with throwaway_postgres() as direct:
        env = {**TEST_KEYS, "DATABASE_URL": bouncer.url(direct)}
        runs = [flask_migrate(env, revisions) for _ in range(RUNS)]
        outcomes = [(run.wait(timeout=120), *run.communicate()) for run in runs]
        for code, out, err in outcomes:
            assert code == 1, (out, err)
            assert "Traceback" not in err
            lines = err.strip().splitlines()
            assert len(lines) == 1 and "DATABASE_MIGRATION_URL" in lines[0], err
            assert "transaction-mode pooler" in lines[0]
        assert not [t for t in _tables(direct) if t.startswith("pooled")]


def test_a_session_mode_pooler_is_not_mistaken_for_a_transaction_pooler(revisions, tmp_path):
    pooler = PgBouncer(POSTGRES_URL, mode="session").start()
    try:
        with throwaway_postgres() as direct:
            app = create_app({"ENV": {**TEST_KEYS, "DATABASE_URL": pooler.url(direct)},
                              "INSTANCE_PATH": str(tmp_path), "MIGRATIONS_DIR": str(revisions)})
            result = app.test_cli_runner().invoke(args=["db", "migrate"])
            database_of(app).shut()
            assert result.exit_code == 0, result.output
            assert f"Applied {REVISIONS} revision(s)" in result.output
    finally:
        pooler.stop()


def _tables(url: str) -> list[str]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = [name for (name,) in cur.fetchall()]
    conn.close()
    return tables


def _migrate_rounds(env_by_round: list[dict], folder: str, barrier, results) -> None:
    """One of RUNS processes: each round, wait for the others, then `flask db migrate`."""
    from deepref import create_app as build

    for number, env in enumerate(env_by_round):
        app = build({"ENV": env, "INSTANCE_PATH": f"{folder}/instance",
                     "MIGRATIONS_DIR": folder})
        barrier.wait(timeout=120)
        result = app.test_cli_runner().invoke(args=["db", "migrate"])
        results.put((number, result.exit_code, result.output))
        database_of(app).shut()


def test_with_a_direct_migration_url_concurrent_migrates_apply_each_revision_once(
        bouncer, revisions):
    """ROUNDS rounds of RUNS processes migrating REVISIONS revisions at once."""
    with contextlib.ExitStack() as stack:
        directs = [stack.enter_context(throwaway_postgres()) for _ in range(ROUNDS)]
        envs = [{**TEST_KEYS, "DATABASE_URL": bouncer.url(url), "DATABASE_MIGRATION_URL": url,
                 "DATABASE_POOL_MIN": "0"} for url in directs]
        context = multiprocessing.get_context("fork")
        barrier, results = context.Barrier(RUNS), context.Queue()
        processes = [context.Process(target=_migrate_rounds,
                                     args=(envs, str(revisions), barrier, results))
                     for _ in range(RUNS)]
        for process in processes:
            process.start()
        outcomes = [results.get(timeout=300) for _ in range(ROUNDS * RUNS)]
        for process in processes:
            process.join(timeout=60)
            assert process.exitcode == 0
        assert all(code == 0 for _, code, _ in outcomes), [o for o in outcomes if o[1]]
        names = [f"{n:03}_pooled_{n}" for n in range(1, REVISIONS + 1)]
        for number, url in enumerate(directs):
            with psycopg2.connect(url) as conn, conn.cursor() as cur:
                cur.execute(f"SELECT name FROM {runner.HISTORY_TABLE} ORDER BY id")
                assert [n for (n,) in cur.fetchall()] == names, f"round {number + 1}"
                cur.execute("SELECT name, count(*) FROM pooled_log GROUP BY name")
                assert sorted(cur.fetchall()) == sorted(
                    (str(n), 1) for n in range(1, REVISIONS + 1))
            conn.close()
        applied = sum(output.count("Applied 0") for _, _, output in outcomes)
        assert applied == ROUNDS * REVISIONS  # each revision, each round, by one run
