"""bench/generate.py: run as a real subprocess at a tiny scale into throwaway PostgreSQL
databases, then check the rows it made the way the admin console will see them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest

from databases import TEST_KEYS, database_of
from deepref import migrate as runner
from deepref.models import AIPrompt

GENERATOR = Path(__file__).resolve().parent.parent / "bench" / "generate.py"
NOW = "2025-06-01T12:00:00+00:00"
LOADED = ("users", "references", "bundles", "bundle_references", "kyc_documents",
          "ai_sessions", "ai_interactions", "ai_finetune_datasets")


def generate(url: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run the generator as the lead would (own process, no .env: cwd is a temp folder)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATABASE_", "PROMPT_", "SECRET_"))}
    return subprocess.run(
        [sys.executable, str(GENERATOR), "--database-url", url, "--now", NOW, *args],
        capture_output=True, text=True, cwd=cwd, env={**env, **TEST_KEYS}, timeout=120,
    )


def rows(url: str, sql: str) -> list[tuple]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql)
        result = cur.fetchall()
    conn.close()
    return result


def value(url: str, sql: str):
    return rows(url, sql)[0][0]


def counts(url: str) -> dict[str, int]:
    return {t: value(url, f'SELECT count(*) FROM "{t}"') for t in LOADED + ("ai_prompts",)}


@pytest.fixture
def bench_app(make_app, pg_database):
    """An app on a migrated, empty PostgreSQL database, with the test keys."""
    app = make_app({"DATABASE_URL": pg_database, **TEST_KEYS})
    runner.migrate(database_of(app), echo=lambda line: None)
    return app


def test_generates_the_planned_rows_consistently_and_without_drift(
        bench_app, pg_database, tmp_path):
    done = generate(pg_database, "--scale", "0.001", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Done in" in done.stdout and "ai_interactions" in done.stdout

    url = pg_database
    made = counts(url)
    assert {t: made[t] for t in ("users", "references", "bundles", "ai_sessions",
                                 "ai_interactions", "ai_finetune_datasets", "ai_prompts")} == {
        "users": 100, "references": 1000, "bundles": 200, "ai_sessions": 100,
        "ai_interactions": 500, "ai_finetune_datasets": 25, "ai_prompts": 6}
    assert 3 * 200 <= made["bundle_references"] <= 5 * 200
    assert 50 <= made["kyc_documents"] <= 250

    # Users: unique lower-case emails, every role and KYC status, at least one admin.
    assert value(url, "SELECT count(DISTINCT email) FROM users") == 100
    assert value(url, "SELECT count(*) FROM users WHERE email <> lower(email) "
                      "OR email !~ '^[a-z0-9.]+@[a-z.]+$'") == 0
    assert {r for (r,) in rows(url, "SELECT DISTINCT role FROM users")} == {
        "seeker", "referrer", "employer", "admin"}
    # References: owned by seekers, all statuses, scores mostly 50-100 with NULLs.
    assert value(url, 'SELECT count(*) FROM "references" r JOIN users u ON u.id = r.seeker_id '
                      "WHERE u.role = 'seeker'") == 1000
    assert {s for (s,) in rows(url, 'SELECT DISTINCT status FROM "references"')} == {
        "pending", "submitted", "verified", "rejected", "expired"}
    nulls, low, scored = rows(url, 'SELECT count(*) FILTER (WHERE rcs_score IS NULL), '
                              "count(*) FILTER (WHERE rcs_score < 50), count(rcs_score) "
                              'FROM "references"')[0]
    assert nulls > 100 and scored > 600 and low < scored / 4
    assert value(url, 'SELECT count(DISTINCT company) FROM "references"') > 100
    # Two years of history leading up to --now, nothing in the future.
    oldest, newest = rows(url, "SELECT min(created_at), max(created_at) FROM "
                               '(SELECT created_at FROM "references" UNION ALL '
                               "SELECT created_at FROM users UNION ALL "
                               "SELECT created_at FROM ai_interactions) t")[0]
    assert newest <= value(url, f"SELECT '{NOW}'::timestamptz")
    assert (newest - oldest).days > 365 and (newest - oldest).days <= 731
    # A bundle holds 1-5 distinct references of its own seeker; aggregated_rcs agrees.
    assert value(url, "SELECT count(*) FROM bundle_references br "
                      "JOIN bundles b ON b.id = br.bundle_id "
                      'JOIN "references" r ON r.id = br.reference_id '
                      "WHERE r.seeker_id <> b.seeker_id") == 0
    assert value(url, "SELECT count(*) FROM bundles b WHERE NOT EXISTS "
                      "(SELECT 1 FROM bundle_references br WHERE br.bundle_id = b.id)") == 0
    assert value(url, "SELECT count(*) FROM bundles b WHERE aggregated_rcs IS DISTINCT FROM "
                      "(SELECT round(avg(r.rcs_score), 2) FROM bundle_references br "
                      'JOIN "references" r ON r.id = br.reference_id '
                      "WHERE br.bundle_id = b.id)") == 0
    # AI: interactions inside their session's time, failures carry an error.
    assert value(url, "SELECT count(*) FROM ai_interactions i JOIN ai_sessions s "
                      "ON s.id = i.session_id WHERE i.created_at < s.started_at "
                      "OR i.created_at > coalesce(s.ended_at, i.created_at)") == 0
    assert value(url, "SELECT count(*) FROM ai_interactions WHERE success = (error_message "
                      "IS NOT NULL)") == 0
    assert value(url, "SELECT count(*) FROM kyc_documents WHERE status = 'pending'") > 0

    # System prompts went through the model: encrypted at rest, readable through it.
    assert value(url, "SELECT count(*) FROM ai_prompts WHERE system_prompt NOT LIKE 'gAAAA%'") == 0
    with bench_app.app_context():
        prompt = AIPrompt.get(AIPrompt.prompt_id == "reference-coach-v1")
        assert "Reference Coach" in prompt.system_prompt

    check = bench_app.test_cli_runner().invoke(args=["db", "check"])
    assert check.exit_code == 0, check.output
    assert "No drift" in check.output

    # A database that already has users is refused, and left as it was.
    again = generate(url, "--scale", "0.001", cwd=tmp_path)
    assert again.returncode == 2
    assert "already has 100 users" in again.stderr and "Traceback" not in again.stderr
    assert counts(url) == made


def test_same_seed_same_data_and_append_needs_a_new_seed(bench_app, pg_database, tmp_path):
    url = pg_database
    fingerprint = (
        "SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM ("
        "SELECT email, role, kyc_status, created_at::text FROM users UNION ALL "
        'SELECT company, status, rcs_score::text, content FROM "references" UNION ALL '
        "SELECT title, share_token, aggregated_rcs::text, created_at::text FROM bundles "
        "UNION ALL SELECT bundle_id::text, reference_id::text, position::text, '' "
        "FROM bundle_references UNION ALL "
        "SELECT session_id::text, user_input, model_used, created_at::text FROM ai_interactions"
        ") t")
    assert generate(url, "--scale", "0.0005", cwd=tmp_path).returncode == 0
    first = value(url, fingerprint)
    rows(url, "TRUNCATE users, ai_prompts CASCADE; SELECT 1")
    assert generate(url, "--scale", "0.0005", cwd=tmp_path).returncode == 0
    assert value(url, fingerprint) == first

    same_seed = generate(url, "--scale", "0.0005", "--append", cwd=tmp_path)
    assert same_seed.returncode == 2 and "pass another --seed" in same_seed.stderr
    added = generate(url, "--scale", "0.0005", "--yes", "--seed", "7", cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    assert counts(url)["users"] == 100 and counts(url)["ai_prompts"] == 6
    assert value(url, "SELECT count(DISTINCT email) FROM users") == 100


def test_refuses_unmigrated_sqlite_and_unreachable_databases(pg_database, tmp_path):
    unmigrated = generate(pg_database, "--scale", "0.001", cwd=tmp_path)
    assert unmigrated.returncode == 2
    assert "not migrated" in unmigrated.stderr and "--migrate" in unmigrated.stderr

    sqlite = generate(f"sqlite:///{tmp_path}/x.sqlite3", cwd=tmp_path)
    assert sqlite.returncode == 2 and "SQLite is not supported" in sqlite.stderr
    assert not (tmp_path / "x.sqlite3").exists()

    unreachable = generate("postgresql://bench:s3cret-pw@127.0.0.1:1/nowhere", cwd=tmp_path)
    assert unreachable.returncode == 1
    assert unreachable.stderr.startswith("Error: cannot connect to "
                                         "postgresql://bench@127.0.0.1:1/nowhere")
    assert len(unreachable.stderr.strip().splitlines()) == 1
    assert "s3cret-pw" not in unreachable.stderr + unreachable.stdout
