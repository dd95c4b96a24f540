"""`flask create-admin`, `flask ensure-admin`, `flask grant-role` and `flask revoke-role`:
thin wrappers over deepref.auth.admins and deepref.auth.roles.

Exit codes: 0 done, 1 the database failed or the last admin would lose `admin`, 2 bad
input (email, password, role, an account that is not staff).
"""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from deepref.auth import passwords, roles, second_factor
from deepref.auth.admins import DEFAULT_ADMIN_EMAIL, LastAdmin, active_admin_exists, set_admin
from deepref.cli.errors import command_errors
from deepref.db import database
from deepref.models import User
from deepref.models.roles import CONSOLE_ROLES


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


def _user(email: str) -> User:
    email = passwords.normalise_email(email)
    user = User.get_or_none(User.email == email) if email else None
    if user is None:
        raise BadInput(f"no user with the email {email!r}")
    return user


ROLE = click.Choice(CONSOLE_ROLES)


@click.command("grant-role")
@click.argument("email")
@click.argument("role", type=ROLE, metavar="ROLE")
@with_appcontext
@command_errors
def grant_role_command(email, role):
    """Give a staff account a console role (admin, reviewer, prompt-editor, viewer)."""
    user = _user(email)
    if roles.grant(user, role) is not None:
        click.echo(f"Granted {role} to {user.email}; their sessions were ended.")
    else:
        click.echo(f"{user.email} already holds {role}: nothing to do.")


@click.command("revoke-role")
@click.argument("email")
@click.argument("role", type=ROLE, metavar="ROLE")
@with_appcontext
@command_errors
def revoke_role_command(email, role):
    """Take a console role from a user (the last admin keeps admin)."""
    user = _user(email)
    try:
        revoked = roles.revoke(user, role)
    except LastAdmin:
        raise click.ClickException(
            f"{user.email} is the last active admin who can sign in, so they keep admin: "
            "grant admin to another staff account first. Nothing was changed.") from None
    if revoked:
        click.echo(f"Revoked {role} from {user.email}; their sessions were ended.")
    else:
        click.echo(f"{user.email} does not hold {role}: nothing to do.")


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
