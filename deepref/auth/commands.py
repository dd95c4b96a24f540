"""`flask create-admin` and `flask ensure-admin`: thin wrappers over plain functions.

Exit codes: 0 done, 1 the database failed, 2 bad input (email, password).
"""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from deepref.auth import passwords
from deepref.auth.session import end_sessions
from deepref.cli import database_errors
from deepref.models import User

DEFAULT_ADMIN_EMAIL = "admin@deepref.example.com"


class BadInput(click.ClickException):
    """Unusable input: one line, exit 2."""

    exit_code = 2


def set_admin(email: str, password: str) -> tuple[User, str]:
    """Create `email` as an active admin, or reset, re-activate and promote it.

    Returns the user and a sentence saying what was done (never the password).
    """
    with User._meta.database.atomic():
        user = User.get_or_none(User.email == email)
        if user is None:
            user = User.create(email=email, role="admin", is_active=True,
                               password_hash=passwords.hash_password(password))
            return user, f"Created admin {email}."
        changes = ["reset the password"]
        if user.role != "admin":
            changes.append(f"changed the role from {user.role} to admin")
        if not user.is_active:
            changes.append("re-activated the account")
        user.role, user.is_active = "admin", True
        user.password_hash = passwords.hash_password(password)
        user.save()
        ended = end_sessions(user.id)
        if ended:
            changes.append(f"signed out {ended} session(s)")
        return user, f"Updated {email}: {', '.join(changes)}."


def active_admin_exists() -> bool:
    """True if some active admin has a password (so someone can sign in)."""
    return User.select().where(
        (User.role == "admin") & (User.is_active == True) & User.password_hash.is_null(False)  # noqa: E712
    ).exists()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line.strip():
            raise BadInput("--password-stdin: no password on standard input")
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise BadInput("no terminal to ask for the password on: pipe it in with --password-stdin")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True,
                        err=True, show_default=False)


@click.command("create-admin")
@click.argument("email")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input.")
@with_appcontext
@database_errors
def create_admin_command(email, password_stdin):
    """Create an admin, or reset an existing user's password and make them an admin."""
    email = passwords.normalise_email(email)
    problem = passwords.email_problem(email)
    if problem:
        raise BadInput(problem)
    password = _read_password(password_stdin)
    problem = passwords.password_problem(password)
    if problem:
        raise BadInput(problem)
    _, said = set_admin(email, password)
    click.echo(said)


@click.command("ensure-admin")
@with_appcontext
@database_errors
def ensure_admin_command():
    """On the embedded SQLite database with no admin, create one and print its password once."""
    if current_app.config["DEEPREF"].database.is_postgres:
        click.echo("ensure-admin does nothing on PostgreSQL: create an admin with "
                   "`flask create-admin EMAIL`.")
        return
    if active_admin_exists():
        click.echo("An admin account exists: nothing to do.")
        return
    password = passwords.random_password()
    set_admin(DEFAULT_ADMIN_EMAIL, password)
    click.echo(
        "Created an admin account for this local SQLite database. The password is shown\n"
        "only this once; change it with\n"
        f"`.venv/bin/flask --app deepref create-admin {DEFAULT_ADMIN_EMAIL}`.\n"
        f"  email:    {DEFAULT_ADMIN_EMAIL}\n"
        f"  password: {password}"
    )


def init_app(app) -> None:
    """Register the commands."""
    app.cli.add_command(create_admin_command)
    app.cli.add_command(ensure_admin_command)
