"""`flask create-admin` and `flask ensure-admin`: thin wrappers over deepref.auth.admins.

Exit codes: 0 done, 1 the database failed, 2 bad input (email, password).
"""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from deepref.auth import passwords, second_factor
from deepref.auth.admins import DEFAULT_ADMIN_EMAIL, active_admin_exists, set_admin
from deepref.cli.errors import command_errors
from deepref.db import database


class BadInput(click.ClickException):
    """Unusable input: one line, exit 2."""

    exit_code = 2


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
@click.option("--reset-second-factor", is_flag=True,
              help="Only remove the user's second factor (a lost authenticator app) and "
                   "end their sessions; the password and role are left as they are.")
@with_appcontext
@command_errors
def create_admin_command(email, password_stdin, reset_second_factor):
    """Create an admin, or reset an existing user's password and make them an admin."""
    email = passwords.normalise_email(email)
    problem = passwords.email_problem(email)
    if problem:
        raise BadInput(problem)
    if reset_second_factor:
        click.echo(_reset_second_factor(email))
        return
    password = _read_password(password_stdin)
    problem = passwords.password_problem(password)
    if problem:
        raise BadInput(problem)
    _, said = set_admin(email, password)
    click.echo(said)


def _reset_second_factor(email: str) -> str:
    done = second_factor.reset(email)
    if done is None:
        raise BadInput(f"there is no user {email}")
    had, ended = done
    if not had:
        return f"{email} has no second factor: nothing to do."
    return (f"Removed the second factor and recovery codes of {email}; signed out "
            f"{ended} session(s). They sign in with the password alone until they set "
            f"up a new app (or are made to, with TOTP_REQUIRED_FOR_ADMINS).")


@click.command("ensure-admin")
@with_appcontext
@command_errors
def ensure_admin_command():
    """On the embedded SQLite database with no admin, create one and print its password once."""
    if database.is_postgres:
        click.echo("ensure-admin does nothing on PostgreSQL: create an admin with "
                   "`flask create-admin EMAIL`.")
        return
    password = create_first_admin()
    if password is None:
        click.echo("An admin account exists: nothing to do.")
        return
    click.echo(
        "Created an admin account for this local SQLite database. The password is shown\n"
        "only this once; change it with\n"
        f"`{RESET_COMMAND}`.\n"
        f"  email:    {DEFAULT_ADMIN_EMAIL}\n"
        f"  password: {password}"
    )


RESET_COMMAND = f".venv/bin/flask --app deepref create-admin {DEFAULT_ADMIN_EMAIL}"


def create_first_admin() -> str | None:
    """On SQLite with nobody able to sign in: create the default admin, return its password."""
    if database.is_postgres or active_admin_exists():
        return None
    password = passwords.random_password()
    set_admin(DEFAULT_ADMIN_EMAIL, password)
    return password
