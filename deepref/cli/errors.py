"""The one translation of failures into what a command prints and exits with.

Library modules raise plain exceptions (deepref.exceptions) and database errors;
here they become one line on stderr and an exit code: 0 success, 1 failure, 2 bad
usage or configuration. Never a traceback for a failure a user can act on.
"""

from __future__ import annotations

import functools
from typing import NoReturn

import click
from flask import current_app

from deepref import db as dblayer
from deepref.db import failures
from deepref.exceptions import DeeprefError, UsageError


def as_click(exc: DeeprefError) -> click.ClickException:
    """`exc` as the click exception that prints it and exits with its code."""
    if isinstance(exc, UsageError):
        return click.UsageError(exc.message)
    translated = click.ClickException(exc.message)
    translated.exit_code = exc.exit_code
    return translated


def database_message(failure: failures.Failure, where: str) -> str:
    """One line for an operator: what failed, where, and what to do about it."""
    if failure.kind == failures.POOL_EXHAUSTED:
        return f"no free database connection for {where}"
    hint = ": run `flask db migrate` first" if failure.kind == failures.NOT_MIGRATED else ""
    if failure.is_connection:
        return f"database {where}: {failure.detail}{hint}"
    return f"database error: {failure.detail}{hint}"


def command_errors(command=None, *, needs_file: bool = True):
    """Report deepref's failures and database errors as one line and an exit code.

    With `needs_file` (all but `db migrate` and `db create`), a SQLite file that does
    not exist is refused with a hint instead of being created, empty, by connecting.
    The connection is released afterwards, a transaction left open rolled back first.
    """
    if command is None:
        return functools.partial(command_errors, needs_file=needs_file)

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        db = dblayer.database
        try:
            if needs_file:
                db.require_file()
            return command(*args, **kwargs)
        except DeeprefError as exc:
            raise as_click(exc) from None
        except failures.DATABASE_ERRORS as exc:
            where = current_app.config["DEEPREF"].database.describe()
            raise click.ClickException(database_message(failures.classify(exc), where)) from None
        finally:
            dblayer.release(db)

    return wrapper


def serving() -> bool:
    """True unless the app is being built for a `flask` command other than `run` or `serve`."""
    return click.get_current_context(silent=True) is None or serving_command()


def database_command() -> bool:
    """True when the app is being built by the `flask` command line to run `flask db ...`
    (found by parsing the command line as the `flask` group does, without callbacks)."""
    import sys

    context = click.get_current_context(silent=True)
    group = context.command if context is not None else None
    if not isinstance(group, click.Group) or context.parent is not None:
        return False  # not the `flask` group looking up its subcommand
    try:
        parsed = group.make_context(context.info_name, sys.argv[1:], resilient_parsing=True)
    except click.ClickException:
        return False
    # What is left after the group's own options; click 9 keeps all of it in `args`.
    rest = [*getattr(parsed, "_protected_args", []), *parsed.args]
    return rest[:1] == ["db"]


def serving_command() -> bool:
    """True under `flask run` or `flask serve` (a server of deepref's own, not a WSGI one)."""
    context = click.get_current_context(silent=True)
    return context is not None and context.command.name in ("run", "serve")


def exit_under_command_line(exc: DeeprefError) -> None:
    """Under `flask ...` (even `flask --help`, which would print a traceback): print
    one line and exit with the failure's code. Elsewhere, return: the caller decides."""
    if click.get_current_context(silent=True) is not None:
        _show_and_exit(exc)


def _show_and_exit(exc: DeeprefError) -> NoReturn:
    translated = as_click(exc)
    translated.show()
    raise SystemExit(translated.exit_code)
