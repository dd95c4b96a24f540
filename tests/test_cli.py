"""`flask db ...` as an operator runs it: output, exit codes, concurrency."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from deepref import migrate as runner

FLASK = [sys.executable, "-m", "flask", "--app", "deepref"]


def flask(cwd: Path, env: dict, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run a real `flask --app deepref ...` process with only `env` as configuration."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "FLASK_"))}
    return subprocess.run([*FLASK, *args], cwd=cwd, env={**base, **env}, capture_output=True,
                          text=True, timeout=timeout)


def test_status_exits_1_while_revisions_are_pending(bare_app):
    cli = bare_app.test_cli_runner()
    result = cli.invoke(args=["db", "status"])
    assert result.exit_code == 1
    assert "[ ] 001_initial_schema  pending" in result.output
    assert "pending revision(s): run `flask db migrate`" in result.output

    assert cli.invoke(args=["db", "migrate"]).exit_code == 0
    result = cli.invoke(args=["db", "status"])
    assert result.exit_code == 0, result.output
    assert "[x] 003_create_indexes  applied 20" in result.output
    assert result.output.rstrip().endswith("Up to date.")


def test_migrate_prints_each_revision_and_a_summary(bare_app):
    cli = bare_app.test_cli_runner()
    result = cli.invoke(args=["db", "migrate", "--to", "002"])
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        "Applied 001_initial_schema",
        "Applied 002_ai_system_tables",
        "Applied 2 revision(s); the database is at 002_ai_system_tables.",
    ]
    cli.invoke(args=["db", "migrate"])
    result = cli.invoke(args=["db", "migrate"])
    assert result.exit_code == 0
    assert result.output.strip() == "Nothing to apply: the database is up to date."


def test_bad_usage_exits_2_with_one_clear_line(app):
    cli = app.test_cli_runner()
    result = cli.invoke(args=["db", "migrate", "--to", "999_nothing"])
    assert result.exit_code == 2
    assert "no revision named '999_nothing'" in result.output
    result = cli.invoke(args=["db", "rollback", "--steps", "1", "--to", "001"])
    assert result.exit_code == 2 and "give --steps or --to, not both" in result.output
    result = cli.invoke(args=["db", "rollback", "--steps", "0"])
    assert result.exit_code == 2
    result = cli.invoke(args=["db", "rollback", "--steps", "99"])
    assert result.exit_code == 2 and "only" in result.output
    result = cli.invoke(args=["db", "create", "Bad Name!"])
    assert result.exit_code == 2 and "lower-case letters" in result.output
    assert "Traceback" not in result.output


def test_rollback_reports_what_it_drops(bare_app):
    cli = bare_app.test_cli_runner()
    cli.invoke(args=["db", "migrate", "--to", "003"])
    result = cli.invoke(args=["db", "rollback", "--steps", "2"])
    assert result.exit_code == 0, result.output
    assert "Rolled back 003_create_indexes" in result.output
    assert "  dropped table ai_interactions (0 rows)" in result.output
    assert result.output.rstrip().endswith("Rolled back 2 revision(s).")


def test_check_exits_0_without_drift_and_1_with_it(app, db):
    cli = app.test_cli_runner()
    result = cli.invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output
    assert "No drift" in result.output
    db.execute_sql("DROP INDEX ix_users_role")
    result = cli.invoke(args=["db", "check"])
    assert result.exit_code == 1
    assert "users: missing index ix_users_role" in result.output


def test_create_writes_an_empty_revision_and_auto_drafts_only_real_changes(make_app, env, tmp_path):
    import shutil

    directory = tmp_path / "migrations"
    shutil.copytree(runner.MIGRATIONS_DIR, directory, ignore=shutil.ignore_patterns("__pycache__"))
    app = make_app(env, MIGRATIONS_DIR=str(directory))
    cli = app.test_cli_runner()
    count = len(runner.available(directory))

    result = cli.invoke(args=["db", "create", "--auto", "nothing_changed"])
    assert result.exit_code == 0, result.output
    assert "already agree: nothing created" in result.output

    from deepref.models import Bundle
    import peewee as pw

    Bundle._meta.add_field("cover_url", pw.CharField(max_length=500, null=True))
    try:
        result = cli.invoke(args=["db", "create", "--auto", "add_cover_url"])
    finally:
        Bundle._meta.remove_field("cover_url")
    assert result.exit_code == 0, result.output
    assert "This is a draft: review it" in result.output
    draft = (directory / f"{count + 1:03}_add_cover_url.py").read_text()
    code = draft.split("def migrate", 1)[1]
    assert "migrator.add_fields(" in code and "cover_url" in code
    assert "migrator.add_index(" not in code

    result = cli.invoke(args=["db", "create", "backfill_titles"])
    assert result.exit_code == 0
    assert (directory / f"{count + 2:03}_backfill_titles.py").exists()


def test_an_unreachable_database_is_one_clear_line(tmp_path, env):
    unreachable = {**env, "DATABASE_URL": "postgresql://deepref:s3cret-pw@127.0.0.1:1/nothing"}
    result = flask(tmp_path, unreachable, "db", "status")
    assert result.returncode == 1
    assert "database postgresql://deepref@127.0.0.1:1/nothing:" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "s3cret-pw" not in result.stderr + result.stdout


@pytest.mark.parametrize("processes", [4])
def test_concurrent_migrate_processes_apply_each_revision_once(make_app, env, tmp_path, processes):
    procs = [
        subprocess.Popen([*FLASK, "db", "migrate"], cwd=tmp_path, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env={**{k: v for k, v in os.environ.items()
                                 if not k.startswith(("DATABASE_", "FLASK_"))}, **env})
        for _ in range(processes)
    ]
    outputs = [p.communicate(timeout=180) for p in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err
        assert "Traceback" not in err
    applied = [line for out, _ in outputs for line in out.splitlines() if line.startswith("Applied ")
               and "revision(s)" not in line]
    names = runner.available()
    assert sorted(applied) == sorted(f"Applied {n}" for n in names)
    db = make_app(env).extensions["deepref_db"]
    history = [row[0] for row in db.execute_sql(
        f"SELECT name FROM {runner.HISTORY_TABLE} ORDER BY id").fetchall()]
    assert history == names
