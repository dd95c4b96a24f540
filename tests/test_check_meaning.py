"""`flask db check` compares definitions by meaning: a database restored from a backup
passes the `status && check` gate, and a real difference is still reported."""

from __future__ import annotations

import subprocess

import pytest

from databases import app_env, database_of, throwaway_postgres
from test_cli import flask
from deepref.migrate import check as schema_check
from deepref.migrate.meaning import canonical, same

IN_LIST = "CHECK (((role)::text = ANY ((ARRAY['seeker'::character varying, "
RESTORED = "CHECK (((role)::text = ANY (ARRAY[('seeker'::character varying)::text, "


@pytest.fixture
def restored_url(app, database_url, tmp_path):
    """A copy of the app's migrated PostgreSQL database made by pg_dump -Fc and pg_restore."""
    dump = tmp_path / "deepref.dump"
    subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", database_url], check=True)
    with throwaway_postgres("deepref_restored") as url:
        subprocess.run(["pg_restore", "--no-owner", f"--dbname={url}", str(dump)], check=True)
        yield url


@pytest.fixture
def restored(make_app, restored_url):
    return make_app(app_env(restored_url))


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_restored_backup_passes_status_and_check(restored, restored_url, tmp_path):
    db = database_of(restored)
    spelled = db.execute_sql("SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                             "WHERE conname = 'ck_users_role'").fetchone()[0]
    assert spelled.startswith(RESTORED), spelled  # PostgreSQL spells it the other way now
    # The documented gate, as a deploy script runs it.
    env = app_env(restored_url)
    status = flask(tmp_path, env, "db", "status")
    assert status.returncode == 0, status.stdout + status.stderr
    result = flask(tmp_path, env, "db", "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == "No drift: the database matches the models.\n"


CHANGES = {
    "another value in a list": (
        "ALTER TABLE users DROP CONSTRAINT ck_users_role",
        "ALTER TABLE users ADD CONSTRAINT ck_users_role "
        "CHECK (role IN ('seeker', 'referrer', 'employer', 'admin', 'guest'))",
        "users: constraint ck_users_role differs"),
    "another ON DELETE": (
        'ALTER TABLE "references" DROP CONSTRAINT fk_references_seeker_id',
        'ALTER TABLE "references" ADD CONSTRAINT fk_references_seeker_id '
        "FOREIGN KEY (seeker_id) REFERENCES users (id) ON DELETE SET NULL",
        "references: constraint fk_references_seeker_id differs"),
    "another column in an index": (
        "DROP INDEX ix_users_role",
        "CREATE INDEX ix_users_role ON users (role, kyc_status)",
        "users: index ix_users_role differs"),
    "another default": (
        "ALTER TABLE users ALTER COLUMN role SET DEFAULT 'referrer'",
        "users: column role differs"),
    "another bound": (
        "ALTER TABLE bundles DROP CONSTRAINT ck_bundles_view_count",
        "ALTER TABLE bundles ADD CONSTRAINT ck_bundles_view_count CHECK (view_count >= 1)",
        "bundles: constraint ck_bundles_view_count differs"),
}


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_real_difference_is_still_reported_after_a_restore(restored):
    db = database_of(restored)
    for *statements, _ in CHANGES.values():
        for statement in statements:
            db.execute_sql(statement)
    differences = schema_check.compare(db)
    for change, (*_, expected) in CHANGES.items():
        assert [line for line in differences if line.startswith(expected)], (change, differences)
    assert len(differences) == len(CHANGES), differences


def test_spellings_postgresql_uses_for_one_definition_are_the_same():
    original = IN_LIST + "'admin'::character varying])::text[])))"
    after_restore = RESTORED + "('admin'::character varying)::text])))"
    assert same("constraint", original, after_restore)
    assert same("index", "CREATE INDEX ix ON users USING btree (role) WHERE (ended_at IS NULL)",
                "CREATE INDEX ix ON users (role) WHERE ended_at IS NULL")
    assert same("column", "character varying(20) NOT NULL DEFAULT 'seeker'::character varying",
                "character varying(20) NOT NULL DEFAULT 'seeker'::text")
    assert canonical("constraint", original) == (
        "CHECK (CAST(role AS text) = ANY(ARRAY['seeker', 'admin']))")


@pytest.mark.parametrize("kind, one, other", [
    ("constraint", "CHECK ((role)::text = ANY ((ARRAY['a'::character varying])::text[]))",
     "CHECK ((role)::text = ANY ((ARRAY['b'::character varying])::text[]))"),
    ("constraint", "CHECK (score >= 0)", "CHECK (score > 0)"),
    ("constraint", "CHECK ((a)::text = 'x'::text)", "CHECK ((b)::text = 'x'::text)"),
    ("constraint", "CHECK (x = '5'::integer)", "CHECK (x = '5'::text)"),  # not a string type: kept
    ("constraint", "CHECK ((x)::text = 'abc'::character varying(2))", "CHECK ((x)::text = 'abc'::text)"),
    ("constraint", "FOREIGN KEY (a_id) REFERENCES a(id) ON DELETE CASCADE",
     "FOREIGN KEY (a_id) REFERENCES a(id)"),
    ("index", "CREATE UNIQUE INDEX ix ON t USING btree (a)", "CREATE INDEX ix ON t USING btree (a)"),
    ("index", "CREATE INDEX ix ON t USING gin (a)", "CREATE INDEX ix ON t USING btree (a)"),
    ("column", "integer NOT NULL DEFAULT 0", "integer NULL DEFAULT 0"),
    ("column", "jsonb NOT NULL DEFAULT '{}'::jsonb", "jsonb NOT NULL DEFAULT '[]'::jsonb"),
])
def test_definitions_that_differ_in_meaning_differ(kind, one, other):
    assert not same(kind, one, other)


def test_text_that_does_not_parse_must_match_exactly():
    assert same("index", "create index ix on t a", "create index ix on t a")
    assert not same("index", "create index ix on t a", "create index ix  on t a")
