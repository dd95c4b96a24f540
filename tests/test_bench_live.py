"""bench/live.py end to end on a tiny data set in a throwaway PostgreSQL database.

It must run, report a number for every measure and leave the database as it found it;
no assertion depends on how fast the machine is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg2

from databases import TEST_KEYS

BENCH = Path(__file__).resolve().parent.parent / "bench"
MEASURES = ("max_ms", "gap_ms", "p50_ms", "p99_ms", "over_200ms")


def run(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """A bench script in its own process, without the real environment's database or keys."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATABASE_", "PROMPT_", "SECRET_"))}
    return subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True,
                          text=True, cwd=cwd, env={**env, **TEST_KEYS}, timeout=300)


def schema(url: str) -> list[tuple]:
    """The columns, indexes, constraints and history of the database, to compare."""
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT table_name, column_name FROM information_schema.columns "
                    "WHERE table_schema = 'public' UNION ALL "
                    "SELECT tablename, indexname FROM pg_indexes WHERE schemaname = 'public' "
                    "UNION ALL SELECT conrelid::regclass::text, conname FROM pg_constraint "
                    "WHERE connamespace = 'public'::regnamespace UNION ALL "
                    "SELECT 'migratehistory', name FROM migratehistory ORDER BY 1, 2")
        rows = cur.fetchall()
    conn.close()
    return rows


def test_live_bench_measures_every_scenario_run_and_leaves_the_database_as_it_was(
        pg_database, tmp_path):
    made = run("generate.py", "--database-url", pg_database, "--scale", "0.001", "--migrate",
               cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    before = schema(pg_database)

    report_path = tmp_path / "results" / "live.json"
    done = run("live.py", "--database-url", pg_database, "--runs", "1",
               "--scenario", "index", "--scenario", "foreign_key",
               "--json", str(report_path), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "index run 1/1" in done.stdout and "foreign_key run 1/1" in done.stdout

    report = json.loads(report_path.read_text())
    assert report["references"] == 1000 and report["runs"] == 1
    assert list(report["scenarios"]) == ["index", "foreign_key"]
    for name, result in report["scenarios"].items():
        (one,) = result["runs"]
        assert one["migration_s"] > 0 and one["rollback_s"] > 0
        for side in ("writer", "reader"):
            assert one[side]["statements"] > 0 and one[side]["errors"] == 0
            for measure in MEASURES:
                assert isinstance(one[side][measure], (int, float)), (name, side, measure)
                assert isinstance(result["median"][side][measure], (int, float))
        # The table printed a row for it with a number in each of its 11 columns.
        row = next(line.split() for line in done.stdout.splitlines()
                   if line.split()[:1] == [name] and len(line.split()) == 12)
        assert all(cell.replace(".", "", 1).isdigit() for cell in row[1:])

    assert schema(pg_database) == before


def test_live_bench_refuses_bad_and_unreachable_databases_in_one_line(tmp_path):
    bad = run("live.py", "--database-url", "not a url", cwd=tmp_path)
    assert bad.returncode == 2 and "not a valid URL" in bad.stderr
    sqlite = run("live.py", "--database-url", f"sqlite:///{tmp_path}/x.sqlite3", cwd=tmp_path)
    assert sqlite.returncode == 2 and "PostgreSQL only" in sqlite.stderr

    unreachable = run("live.py", "--database-url",
                      "postgresql://bench:s3cret-pw@127.0.0.1:1/nowhere", cwd=tmp_path)
    assert unreachable.returncode == 1
    assert unreachable.stderr.startswith("Error: cannot connect to "
                                         "postgresql://bench@127.0.0.1:1/nowhere")
    assert len(unreachable.stderr.strip().splitlines()) == 1
    assert "s3cret-pw" not in unreachable.stderr + unreachable.stdout
