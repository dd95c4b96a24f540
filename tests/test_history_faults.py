"""History you can trust (issue 9, points 1-2): checksums of applied revisions and
`flask db accept`, revisions out of order, shared numbers and missing files, through the
commands, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from databases import database_of
from deepref import migrate as runner
from deepref.migrate import history

EMPTY = "def migrate(migrator, database, *, fake=False):\n    pass\n\n\n" \
        "def rollback(migrator, database, *, fake=False):\n    pass\n"


@pytest.fixture
def app(make_app, env, folder):
    """An app on a migrated database (a template copy) whose revisions are in `folder`."""
    app = make_app(env, MIGRATIONS_DIR=str(folder))
    runner.migrate(database_of(app), folder, echo=lambda line: None)
    return app


def last(folder) -> Path:
    return sorted(folder.glob("[0-9]*.py"))[-1]


def run(app, *args):
    result = app.test_cli_runner().invoke(args=["db", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def test_checksums_ignore_line_endings_and_trailing_whitespace(tmp_path):
    a, b, c = tmp_path / "a.py", tmp_path / "b.py", tmp_path / "c.py"
    a.write_bytes(b"def migrate():\n    pass\n")
    b.write_bytes(b"def migrate():  \r\n    pass\t\r\n\r\n")
    c.write_bytes(b"def migrate():\n    return\n")
    assert history.checksum(a) == history.checksum(b) != history.checksum(c)


def test_an_edited_applied_file_is_refused_until_accepted(app, folder):
    revision = last(folder)
    revision.write_text(revision.read_text() + "\n# a comment added after it ran\n")
    (folder / "900_next.py").write_text(EMPTY)

    status = run(app, "status")
    assert status.exit_code == 1
    assert f"[!] {revision.stem}  applied 20" in status.output
    assert f"{revision.stem}.py changed after it was applied" in status.output
    assert f"flask db accept {revision.stem} --reason" in status.output
    migrate = run(app, "migrate")
    assert migrate.exit_code == 1 and "Applied" not in migrate.output
    assert migrate.output.startswith(f"Error: {revision.stem}.py changed after it was applied")
    doctor = run(app, "doctor")
    assert doctor.exit_code == 1 and f"history: {revision.stem}.py changed" in doctor.output

    assert run(app, "accept", revision.stem[:3]).exit_code == 2  # --reason is required
    accepted = run(app, "accept", revision.stem[:3], "--reason", "comment only, reviewed")
    assert accepted.exit_code == 0, accepted.output
    assert f"Accepted the edit of {revision.stem}.py" in accepted.output
    assert run(app, "accept", revision.stem, "--reason", "again").exit_code == 2  # nothing to
    assert run(app, "migrate").exit_code == 0
    assert run(app, "status").output.endswith("Up to date.\n")
    assert run(app, "rollback").exit_code == 0  # 900_next
    [kept] = history.acceptances(database_of(app))
    assert (kept.name, kept.reason) == (revision.stem, "comment only, reviewed")
    assert kept.old_checksum != kept.new_checksum and kept.accepted_by


def test_a_database_from_before_checksums_gets_them_on_the_first_migrate(app):
    db = database_of(app)
    db.execute_sql(f'DROP TABLE "{history.CHECKSUMS_TABLE}"')
    db.execute_sql(f'DROP TABLE "{history.ACCEPTED_TABLE}"')
    status = run(app, "status")
    assert status.exit_code == 0 and "have no checksum yet" in status.output
    migrate = run(app, "migrate")
    assert migrate.exit_code == 0, migrate.output
    assert "Recorded the checksums of" in migrate.output and "Nothing to apply" in migrate.output
    assert set(history.checksums(db)) == set(history.applied(db))
    assert run(app, "status").output.endswith("Up to date.\n")


def test_a_revision_numbered_below_the_last_applied_is_refused_unless_allowed(app, folder):
    applied = last(folder).stem
    (folder / "900_next.py").write_text(EMPTY)
    assert run(app, "migrate").exit_code == 0
    late = f"{int(applied[:3]) + 1:03}_late"  # below 900, above every applied revision
    (folder / f"{late}.py").write_text(EMPTY)
    status = run(app, "status")
    assert status.exit_code == 1
    assert f"{late} is numbered below 900_next, already applied" in status.output
    refused = run(app, "migrate")
    assert refused.exit_code == 1 and "--allow-out-of-order" in refused.output
    allowed = run(app, "migrate", "--allow-out-of-order")
    assert allowed.exit_code == 0 and f"Applied {late}" in allowed.output


def test_two_files_with_one_number_are_refused_by_migrate_status_and_create(app, folder):
    applied = last(folder)
    twin = folder / f"{applied.stem[:3]}_twin.py"
    twin.write_text(EMPTY)
    line = f"revisions {' and '.join(sorted([applied.stem, twin.stem]))} share the number"
    for command in (["migrate"], ["status"], ["create", "more"], ["doctor"]):
        result = run(app, *command)
        assert result.exit_code == 1 and line in result.output, (command, result.output)
    assert not list(folder.glob("*_more.py"))


def test_a_missing_applied_file_is_one_line_in_every_command(app, folder):
    gone = last(folder)
    gone.unlink()
    (folder / "900_next.py").write_text(EMPTY)
    line = f"{gone.stem} is applied but {gone.stem}.py is not in {folder}"
    status = run(app, "status")
    assert status.exit_code == 1
    assert f"[?] {gone.stem}  applied 20" in status.output
    assert "its file is missing" in status.output
    for command in (["migrate"], ["rollback"], ["check"], ["doctor"], ["lint"],
                    ["create", "more", "--auto"], ["migrate", "--sql"], ["rollback", "--sql"]):
        result = run(app, *command)
        assert result.exit_code == 1, (command, result.output)
        assert line in result.output and "Traceback" not in result.output, (command, result.output)
    created = run(app, "create", "more")  # an empty one is made, numbered after the applied
    assert created.exit_code == 0 and f"note: {line}" in created.output
    assert (folder / "901_more.py").exists()
    assert set(history.applied(database_of(app))) >= {gone.stem}
