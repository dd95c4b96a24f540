"""`flask db ...`: thin commands over deepref.migrate.

Exit codes: 0 success, 1 failure (or pending/drift for status/check), 2 bad usage;
`db doctor` also 3 when the database cannot be reached.
"""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from deepref import db as dblayer
from deepref import migrate as runner
from deepref.cli.errors import command_errors, database_message
from deepref.db import SqliteDatabase

db_group = AppGroup("db", help="Apply, roll back, inspect and generate migrations.")


def _database():
    """DATABASE_MIGRATION_URL's database when set (a direct one behind a pooler)."""
    return dblayer.migration_database()


def _directory():
    return current_app.config["DEEPREF"].migrations_dir


def _limits() -> runner.Limits:
    return runner.Limits.configured(current_app.config["DEEPREF"].migration)


def _terminal():
    """Standard output, when it is a terminal progress can be drawn on in place."""
    return sys.stdout if sys.stdout.isatty() else None


def _print_sql(rendered) -> None:
    if not rendered:
        click.echo("-- nothing to run")
    for revision in rendered:
        click.echo(revision.text())


@db_group.command("migrate")
@click.option("--to", "target", metavar="NAME", help=(
    "Stop after this revision: its name, file name or number (e.g. 002)."))
@click.option("--sql", "show_sql", is_flag=True, help=(
    "Print the SQL that would run, revision by revision, and change nothing."))
@click.option("--allow-out-of-order", is_flag=True, help=(
    "Also apply pending revisions numbered below the last applied one."))
@command_errors(needs_file=False)  # the one command that creates a new SQLite file
def migrate_command(target, show_sql, allow_out_of_order):
    """Apply pending revisions in order.

    Refuses, applying nothing, when an applied revision's file is missing or changed
    (see `flask db accept`), when two files share a number, or when a pending revision is
    numbered below the last applied one (unless --allow-out-of-order).

    On PostgreSQL every statement waits at most MIGRATION_LOCK_TIMEOUT for a lock and
    is tried again (MIGRATION_ATTEMPTS) when it has to; who blocked it is printed.
    """
    if show_sql:
        db = _database() if _database().file is None or _database().file.exists() else (
            SqliteDatabase(":memory:"))  # no file yet: nothing applied, and none is made
        runner.require_files(db, _directory())
        names = runner.pending(db, _directory(), target)
        from deepref.migrate import preview  # lint and PostgreSQL's parser: only here

        _print_sql(preview.sql(db, _directory(), names, limits=_limits()))
        return
    applied = runner.migrate(_database(), _directory(), target=target, echo=click.echo,
                             limits=_limits(), live=_terminal(),
                             allow_out_of_order=allow_out_of_order)
    if applied:
        click.echo(f"Applied {len(applied)} revision(s); the database is at {applied[-1]}.")
    elif target is not None:
        name = runner.resolve(target, runner.available(_directory()))
        click.echo(f"{name} is already applied; nothing to apply.")
    else:
        click.echo("Nothing to apply: the database is up to date.")


@db_group.command("rollback")
@click.option("--steps", type=click.IntRange(min=1), default=None,
              help="How many revisions to undo (default 1).")
@click.option("--to", "target", metavar="NAME", help=(
    "Undo every revision after this one: its name, file name or number (e.g. 002); "
    "'zero' undoes all."))
@click.option("--sql", "show_sql", is_flag=True, help=(
    "Print the SQL that would run, revision by revision, and change nothing."))
@command_errors
def rollback_command(steps, target, show_sql):
    """Undo the last applied revision(s), saying what each drops."""
    if steps is not None and target is not None:
        raise click.UsageError("give --steps or --to, not both")
    if show_sql:
        runner.require_files(_database(), _directory())
        names = runner.to_undo(_database(), steps or 1, target)
        from deepref.migrate import preview

        _print_sql(preview.sql(_database(), _directory(), names, downgrade=True,
                               limits=_limits()))
        return
    undone = runner.rollback(
        _database(), _directory(), steps=steps or 1, to=target, echo=click.echo,
        limits=_limits(), live=_terminal()
    )
    if not undone:
        click.echo("Nothing to roll back.")
    else:
        click.echo(f"Rolled back {len(undone)} revision(s).")


@db_group.command("status", short_help="List revisions; exit 1 unless up to date.")
@command_errors
def status_command():
    """List revisions; exit 1 when some are pending, applied but missing here or changed
    since, out of order, or two share a number."""
    from deepref.migrate import ledger

    book = ledger.read(_database(), _directory())
    states = runner.states(book)
    for state in states:
        if not state.on_disk:
            click.echo(f"[?] {state.name}  applied {_when(state)}, but its file is missing")
        elif state.changed:
            click.echo(f"[!] {state.name}  applied {_when(state)}, but its file changed since")
        elif state.applied_at:
            click.echo(f"[x] {state.name}  applied {_when(state)}")
        else:
            click.echo(f"[ ] {state.name}  pending")
    pending = [s for s in states if s.applied_at is None]
    unknown = [s for s in states if not s.on_disk]
    if unknown:
        # Older code against a newer database must not pass a deploy gate.
        click.echo(f"{len(unknown)} applied revision(s) have no file here: this code is "
                   "older than the database; deploy the code that has them.")
    faults = [*book.shared_number_lines(), *book.changed_lines(), *book.out_of_order_lines()]
    for line in faults:
        click.echo(line)
    if book.unchecked:
        click.echo(f"{len(book.unchecked)} applied revision(s) have no checksum yet: the next "
                   "`flask db migrate` records them.")
    if pending:
        click.echo(f"{len(pending)} pending revision(s): run `flask db migrate`.")
    if pending or unknown or faults:
        raise SystemExit(1)
    click.echo("Up to date.")


def _when(state) -> str:
    return state.applied_at.strftime("%Y-%m-%d %H:%M:%S UTC")


@db_group.command("create", short_help="Write a new revision (empty, or an --auto draft).")
@click.argument("name")
@click.option("--auto", is_flag=True, help=(
    "Draft it from what the models change since the revisions on disk."))
@click.option("--rename", "renames", multiple=True, metavar="TABLE.OLD:NEW", help=(
    "With --auto: column OLD was renamed NEW (its values are kept). Repeatable."))
@click.option("--drop", "drops", multiple=True, metavar="TABLE[.COLUMN]", help=(
    "With --auto: this column (or table) goes, it was not renamed. Repeatable."))
@command_errors(needs_file=False)  # an empty revision needs no database; --auto does
def create_command(name, auto, renames, drops):
    """Write migrations/NNN_NAME.py (empty, or an --auto draft to review).

    NAME is lower-case words joined by underscores (e.g. add_cover_url); the number
    NNN is added automatically, after the highest on disk. --auto refuses, writing
    nothing, what it cannot draft right (a column gone and one of its type new may be a
    rename: say --rename or --drop).
    """
    from deepref import models
    from deepref.models.indexes import POSTGRES_ONLY_INDEXES

    if auto:
        _database().require_file()
    else:
        _note_missing_files()
    created = runner.create(_database(), name, models.ALL_MODELS if auto else None,
                            _directory(), renames=renames, drops=drops,
                            sql_indexes=POSTGRES_ONLY_INDEXES)
    if created is None:
        click.echo("The models and the migrations already agree: nothing created.")
        return
    click.echo(f"Created {_directory() / created}.py")
    if auto:
        click.echo("This is a draft: review it, then `flask db migrate`, `flask db check` and "
                   "`flask db lint`; a drop or a rename waits for your LINT_ACCEPT.")


def _note_missing_files() -> None:
    """A note per applied revision whose file is missing (an empty revision is still made,
    numbered after them)."""
    from deepref.migrate import ledger

    db = _database()
    if db.file is not None and not db.file.exists():
        return
    try:
        book = ledger.read(db, _directory())
    except dblayer.failures.DATABASE_ERRORS:
        return  # an empty revision needs no database
    for line in book.missing_lines():
        click.echo(f"note: {line}")


@db_group.command("check")
@command_errors
def check_command():
    """Compare the live database with the models; exit 1 on any drift."""
    runner.require_files(_database(), _directory())  # older code compares older models
    from deepref.migrate import check as schema_check

    differences = schema_check.compare(_database())
    for line in differences:
        click.echo(line)
    if differences:
        click.echo(f"{len(differences)} difference(s) between the database and the models.")
        raise SystemExit(1)
    click.echo("No drift: the database matches the models.")


@db_group.command("lint", short_help="Flag statements that would stall a busy database.")
@click.argument("names", nargs=-1, metavar="[NAME]...")
@command_errors
def lint_command(names):
    """Check the SQL of the pending revisions (or the NAMEd ones) for statements that would
    lock a busy PostgreSQL table for long; exit 1 on findings a revision did not accept.

    Each finding names the statement, the lock it takes and for how long, and the safe
    form. A revision accepts a finding with LINT_ACCEPT = {"rule": "why"} in its file.
    """
    db, directory = _database(), _directory()
    runner.require_files(db, directory)
    known = runner.available(directory)
    chosen = [runner.resolve(name, known) for name in names] or runner.pending(db, directory)
    from deepref.migrate import preview

    found = preview.lint_revisions(db, directory, chosen, _limits())
    open_findings = 0
    for name in chosen:
        findings = found.get(name, [])
        if not findings:
            click.echo(f"{name}: clean")
        for finding in findings:
            open_findings += finding.accepted is None
            mark = f"accepted ({finding.accepted})" if finding.accepted else finding.rule
            click.echo(f"{name}: {mark}: {finding.statement}\n"
                       f"  locks: {finding.lock}, {finding.duration}\n"
                       f"  instead: {finding.safe_form}")
    if not chosen:
        click.echo("Nothing to lint: no pending revisions.")
    if open_findings:
        click.echo(f"{open_findings} finding(s) to fix or accept.")
        raise SystemExit(1)


@db_group.command("accept", short_help="Record a reviewed edit of an applied revision.")
@click.argument("name")
@click.option("--reason", required=True, metavar="TEXT", help=(
    "Why the edit is right (kept in the history with who accepted it and when)."))
@command_errors
def accept_command(name, reason):
    """Accept the edited file of applied revision NAME after review: its new checksum
    is recorded, and the acceptance kept (who, when, why, old and new checksum).

    Only for edits that do not change what the revision did to a database it already
    ran on (a comment, a fixed rollback); anything else belongs in a new revision.
    """
    done = runner.accept(_database(), name, reason, _directory(), echo=click.echo)
    click.echo(f"Accepted the edit of {done.name}.py ({done.old_checksum[:12] or 'none'} -> "
               f"{done.new_checksum[:12]}), by {done.accepted_by}.")


@db_group.command("doctor", short_help="One report: models, revisions, history, database.")
@command_errors(needs_file=False)  # a missing SQLite file is "cannot connect" (exit 3)
def doctor_command():
    """Report everything the runner knows, one line per finding, then a summary: models
    vs revision files (would `create --auto` draft anything?), revision files vs history
    (pending, missing, changed, out of order, shared numbers), drift, lint findings in
    pending revisions, INVALID indexes, and who holds or waits for the migration lock.

    Exit codes: 0 nothing needs action (notes may be printed), 1 findings need action,
    2 bad usage, 3 cannot connect to the database.
    """
    from deepref.migrate import doctor

    try:
        _database().require_file()
        report = doctor.examine(_database(), _directory())
    except dblayer.NoDatabase as exc:
        raise _cannot_connect(exc.message) from None
    except dblayer.failures.DATABASE_ERRORS as exc:
        failure = dblayer.classify(exc)
        if not failure.is_connection:
            raise
        where = current_app.config["DEEPREF"].database.describe()
        raise _cannot_connect(database_message(failure, where)) from None
    for finding in report.findings:
        click.echo(finding.line())
    click.echo(report.summary())
    raise SystemExit(report.exit_code)


def _cannot_connect(message: str) -> click.ClickException:
    from deepref.migrate.doctor import CANNOT_CONNECT

    failed = click.ClickException(message)
    failed.exit_code = CANNOT_CONNECT
    return failed


@db_group.command("baseline", short_help="Adopt a database whose schema was built elsewhere.")
@click.argument("name")
@command_errors
def baseline_command(name):
    """Record the revisions up to NAME as applied, without running them, on a database
    that has no history but already has their schema (built by the original system, or
    by hand). The revisions are built on a scratch database (on PostgreSQL a database
    created and dropped for it: CREATEDB needed) and compared with this one; any
    difference is listed and nothing is recorded.
    """
    from deepref.migrate.baseline import baseline

    names = baseline(_database(), name, _directory(), echo=click.echo)
    click.echo(f"Adopted: {len(names)} revision(s) recorded as applied, up to {names[-1]}; "
               "`flask db migrate` applies the rest.")
