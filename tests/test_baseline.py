"""`flask db baseline NAME`: adopting a database whose schema was built elsewhere (the
original system's DDL, or `migrate` with its history stripped); on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import psycopg2

from databases import app_env, database_of
from deepref.migrate import history

DDL = Path(__file__).resolve().parent / "fixtures" / "original_schema.sql"


def strip_history(db) -> None:
    for table in sorted(history.BOOKKEEPING):
        db.execute_sql(f'DROP TABLE IF EXISTS "{table}"')


def run(app, *args):
    return app.test_cli_runner().invoke(args=["db", *args])


def test_baseline_adopts_a_migrated_database_stripped_of_its_history(app, db):
    applied = list(history.applied(db))
    strip_history(db)
    assert run(app, "status").exit_code == 1  # everything looks pending
    adopted = run(app, "baseline", applied[-1])
    assert adopted.exit_code == 0, adopted.output
    assert f"{len(applied)} revision(s) recorded as applied, up to {applied[-1]}" in adopted.output
    assert list(history.applied(db)) == applied
    assert set(history.checksums(db)) == set(applied)
    status = run(app, "status")
    assert status.exit_code == 0 and status.output.endswith("Up to date.\n")
    again = run(app, "baseline", applied[-1])  # a history exists now: refused
    assert again.exit_code == 1 and "already has a history" in again.output


def test_baseline_refuses_with_the_differences_and_records_nothing(app, db):
    strip_history(db)
    refused = run(app, "baseline", "003")  # the database has 004 onwards too
    assert refused.exit_code == 1
    assert "not adopted: the database is not what the revisions up to 003_create_indexes build" \
        in refused.output
    assert "unexpected table audit_log (in the database, not in the revisions up to " \
           "003_create_indexes)" in refused.output
    assert history.applied(db) == {}
    assert run(app, "baseline", "no_such").exit_code == 2


def test_baseline_adopts_a_database_built_from_the_original_ddl(make_app, pg_database):
    with psycopg2.connect(pg_database) as conn, conn.cursor() as cur:
        cur.execute(DDL.read_text())
    conn.close()
    app = make_app(app_env(pg_database))
    adopted = run(app, "baseline", "003")
    assert adopted.exit_code == 0, adopted.output
    migrated = run(app, "migrate")  # the console's revisions on top
    assert migrated.exit_code == 0, migrated.output
    assert run(app, "check").exit_code == 0
    assert run(app, "status").output.endswith("Up to date.\n")


def test_baseline_names_what_the_original_ddl_lacks(make_app, pg_database):
    ddl = DDL.read_text().replace(
        "CREATE INDEX ix_users_role ON users (role);\n", "").replace(
        "CONSTRAINT ck_users_email_lower CHECK (email = lower(email)),", "")
    with psycopg2.connect(pg_database) as conn, conn.cursor() as cur:
        cur.execute(ddl)
    conn.close()
    app = make_app(app_env(pg_database))
    refused = run(app, "baseline", "003")
    assert refused.exit_code == 1
    lines = refused.output.splitlines()
    assert "(2 difference(s), nothing recorded)" in lines[0]
    assert any(line.startswith("users: missing index ix_users_role") for line in lines)
    assert any(line.startswith("users: missing constraint ck_users_email_lower") for line in lines)
    assert history.applied(database_of(app)) == {}
