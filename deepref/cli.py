"""`flask db ...`: thin commands over deepref.migrate and deepref.schema_check.

Exit codes: 0 success, 1 failure (or pending/drift for status/check), 2 bad usage.
"""

from __future__ import annotations

import functools
from pathlib import Path

import click
import peewee as pw
from flask import current_app
from flask.cli import AppGroup
from playhouse.pool import MaxConnectionsExceeded

from deepref import migrate as runner
from deepref import schema_check
from deepref.db import first_line

db_group = AppGroup("db", help="Apply, roll back, inspect and generate migrations.")


def _database() -> pw.Database:
    return current_app.extensions["deepref_db"]


def _directory() -> Path:
    return Path(current_app.config.get("MIGRATIONS_DIR", runner.MIGRATIONS_DIR))


def database_errors(command):
    """Turn a database that cannot be reached or used into one clear line, exit 1."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        where = current_app.config["DEEPREF"].database.describe()
        try:
            return command(*args, **kwargs)
        except MaxConnectionsExceeded:
            raise click.ClickException(f"no free database connection for {where}") from None
        except (pw.OperationalError, pw.InterfaceError) as exc:
            raise click.ClickException(f"database {where}: {first_line(exc)}") from None
        except pw.DatabaseError as exc:
            raise click.ClickException(f"database error: {first_line(exc)}") from None
        finally:
            db = _database()
            if not db.is_closed():
                db.close()

    return wrapper


@db_group.command("migrate")
@click.option("--to", "target", metavar="NAME", help="Stop after this revision.")
@database_errors
def migrate_command(target):
    """Apply pending revisions in order."""
    applied = runner.migrate(_database(), _directory(), target=target, echo=click.echo)
    if applied:
        click.echo(f"Applied {len(applied)} revision(s); the database is at {applied[-1]}.")
    else:
        click.echo("Nothing to apply: the database is up to date.")


@db_group.command("rollback")
@click.option("--steps", type=click.IntRange(min=1), default=None, help="How many (default 1).")
@click.option("--to", "target", metavar="NAME", help="Undo every revision after NAME ('zero': all).")
@database_errors
def rollback_command(steps, target):
    """Undo the last applied revision(s), saying what each drops."""
    if steps is not None and target is not None:
        raise click.UsageError("give --steps or --to, not both")
    undone = runner.rollback(
        _database(), _directory(), steps=steps or 1, to=target, echo=click.echo
    )
    if not undone:
        click.echo("Nothing to roll back.")
    else:
        click.echo(f"Rolled back {len(undone)} revision(s).")


@db_group.command("status")
@database_errors
def status_command():
    """List revisions, applied or pending; exit 1 when some are pending."""
    states = runner.status(_database(), _directory())
    for state in states:
        if not state.on_disk:
            click.echo(f"[?] {state.name}  applied {_when(state)}, but its file is missing")
        elif state.applied_at:
            click.echo(f"[x] {state.name}  applied {_when(state)}")
        else:
            click.echo(f"[ ] {state.name}  pending")
    pending = [s for s in states if s.applied_at is None]
    if pending:
        click.echo(f"{len(pending)} pending revision(s): run `flask db migrate`.")
        raise SystemExit(1)
    click.echo("Up to date.")


def _when(state) -> str:
    return state.applied_at.strftime("%Y-%m-%d %H:%M:%S UTC")


@db_group.command("create")
@click.argument("name")
@click.option("--auto", is_flag=True, help="Draft it from the difference with the models.")
@database_errors
def create_command(name, auto):
    """Write a new revision (empty, or an --auto draft to review)."""
    from deepref.models import ALL_MODELS

    created = runner.create(_database(), name, ALL_MODELS if auto else None, _directory())
    if created is None:
        click.echo("The models and the migrations already agree: nothing created.")
        return
    click.echo(f"Created {_directory() / created}.py")
    if auto:
        click.echo(
            "This is a draft: review it before applying. The generator drops CHECK "
            "constraints, server defaults and partial or expression indexes, and turns "
            "renames into drop + add. After `flask db migrate`, `flask db check` shows "
            "whether the database matches the models."
        )


@db_group.command("check")
@database_errors
def check_command():
    """Compare the live database with the models; exit 1 on any drift."""
    differences = schema_check.compare(_database())
    for line in differences:
        click.echo(line)
    if differences:
        click.echo(f"{len(differences)} difference(s) between the database and the models.")
        raise SystemExit(1)
    click.echo("No drift: the database matches the models.")


def init_app(app) -> None:
    """Register the commands."""
    app.cli.add_command(db_group)
