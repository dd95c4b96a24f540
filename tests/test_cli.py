"""`flask db ...` as an operator runs it: output, exit codes, concurrency."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from databases import TEST_KEYS, database_of
from deepref import migrate as runner

FLASK = [sys.executable, "-m", "flask", "--app", "deepref"]


def flask(cwd: Path, env: dict, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run a real `flask --app deepref ...` process with only `env` as configuration."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "FLASK_"))}
    return subprocess.run([*FLASK, *args], cwd=cwd, env={**base, **env}, capture_output=True,
                          text=True, timeout=timeout)


def test_status_exits_1_while_revisions_are_pending(bare_app):
    cli = bare_app.test_cli_runner()
    assert cli.invoke(args=["db", "migrate", "--to", "002"]).exit_code == 0
    result = cli.invoke(args=["db", "status"])
    assert result.exit_code == 1
    assert "[x] 002_ai_system_tables  applied 20" in result.output
    assert "[ ] 003_create_indexes  pending" in result.output
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
    result = cli.invoke(args=["db", "migrate", "--to", "001_initial_schema.py"])
    assert result.exit_code == 0
    assert result.output.strip() == "001_initial_schema is already applied; nothing to apply."
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
    count = int(runner.available(directory)[-1].split("_", 1)[0])  # the last number
    assert cli.invoke(args=["db", "migrate"]).exit_code == 0  # --auto reads the history

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
    assert ('add_column(migrator, "bundles", "cover_url", pw.CharField(max_length=500, null=True))'
            in code)
    assert "index" not in code

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
    db = database_of(make_app(env))
    history = [row[0] for row in db.execute_sql(
        f"SELECT name FROM {runner.HISTORY_TABLE} ORDER BY id").fetchall()]
    assert history == names


def test_status_exits_1_when_an_applied_revision_is_missing_here(app, db):
    db.execute_sql(f"INSERT INTO {runner.HISTORY_TABLE} (name, migrated_at) VALUES "
                   f"('099_from_a_newer_release', CURRENT_TIMESTAMP)")
    result = app.test_cli_runner().invoke(args=["db", "status"])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[-2].startswith("[?] 099_from_a_newer_release  applied 20")
    assert lines[-2].endswith(", but its file is missing")
    assert lines[-1] == ("1 applied revision(s) have no file here: this code is older than "
                         "the database; deploy the code that has them.")
    assert "Up to date." not in result.output


def test_help_explains_names_and_options(make_app, sqlite_database):
    cli = make_app({"DATABASE_URL": sqlite_database, **TEST_KEYS}).test_cli_runner()

    def help_of(*command):
        result = cli.invoke(args=[*command, "--help"])
        assert result.exit_code == 0, result.output
        return " ".join(result.output.split())

    create = help_of("db", "create")
    assert "NAME is lower-case words joined by underscores" in create
    assert "the number NNN is added automatically" in create
    for command in (("db", "migrate"), ("db", "rollback")):
        assert "its name, file name or number (e.g. 002)" in help_of(*command)
    assert "--steps INTEGER RANGE How many revisions to undo (default 1)." in help_of(
        "db", "rollback")
    assert "..." not in help_of("db").split("Commands:")[1]  # no summary is cut short


def test_only_migrate_creates_a_new_sqlite_file(make_app, tmp_path):
    path = tmp_path / "nonexistent-dir" / "sub" / "deepref.sqlite3"
    app = make_app({"DATABASE_URL": f"sqlite:///{path}", **TEST_KEYS})
    cli = app.test_cli_runner()
    for command in (["db", "status"], ["db", "check"], ["db", "rollback"],
                    ["db", "create", "--auto", "draft"], ["seed-prompts"],
                    ["rotate-prompt-key"], ["ensure-admin"],
                    ["create-admin", "a@example.com", "--password-stdin"]):
        result = cli.invoke(args=command, input="a-long-enough-password-1\n")
        assert result.exit_code == 1, (command, result.output)
        assert result.output == (
            f"Error: no database at {path}: run `flask db migrate` first\n"), command
        assert not (tmp_path / "nonexistent-dir").exists(), command

    # `make run`: migrate creates the folders and the file, then the rest works.
    assert cli.invoke(args=["db", "migrate"]).exit_code == 0
    assert path.is_file()
    assert cli.invoke(args=["ensure-admin"]).exit_code == 0
    assert cli.invoke(args=["db", "status"]).exit_code == 0
    assert app.test_client().get("/readyz").json == {"status": "ready"}


def test_the_missing_file_check_reaches_the_real_command_line(tmp_path):
    url = f"sqlite:///{tmp_path}/nonexistent-dir/sub/x.db"
    result = flask(tmp_path, {"DATABASE_URL": url, **TEST_KEYS}, "db", "status")
    assert result.returncode == 1
    assert result.stderr == (f"Error: no database at {tmp_path}/nonexistent-dir/sub/x.db: "
                             "run `flask db migrate` first\n")
    assert not (tmp_path / "nonexistent-dir").exists()


def test_a_command_that_leaves_a_transaction_open_still_fails_in_one_line(bare_app):
    """command_errors rolls back before closing: closing never raises over the error."""
    from deepref.cli.errors import command_errors

    db = database_of(bare_app)
    runner.migrate(db, echo=lambda line: None)  # the SQLite file exists

    @bare_app.cli.command("leaky")
    @command_errors
    def leaky():
        db.atomic().__enter__()  # never exited, as a buggy context manager would
        db.execute_sql("SELECT * FROM no_such_table_here")

    result = bare_app.test_cli_runner().invoke(args=["leaky"])
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: database ")
    assert "no_such_table_here" in lines[0]
    assert lines[0].endswith(": run `flask db migrate` first")
    assert db.is_closed() and not db.in_transaction()
