"""Serving concerns: the reverse proxy in front, and migrations applied at start-up.

With DATABASE_MIGRATIONS_RUN=true, an app built to serve (by a WSGI server or
`flask run`) applies pending migrations under the migration lock before it answers
anything. Other `flask` commands never do: `flask db rollback` must not migrate first.
Under gunicorn.conf.py the master applies them once, before forking, and its workers
skip it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import click
import peewee as pw
from playhouse.pool import MaxConnectionsExceeded
from werkzeug.middleware.proxy_fix import ProxyFix

from deepref import migrate as runner
from deepref.db import first_line

log = logging.getLogger(__name__)


class StartupError(click.ClickException):
    """The app cannot start serving (e.g. its migrations cannot be applied)."""

    exit_code = 1


def migrations_dir(app) -> Path:
    """Where the app's revisions are (tests may point MIGRATIONS_DIR elsewhere)."""
    return Path(app.config.get("MIGRATIONS_DIR", runner.MIGRATIONS_DIR))


def apply_migrations(app) -> list[str]:
    """Apply pending revisions under the lock, then give the connection back."""
    db = app.extensions["deepref_db"]
    try:
        applied = runner.migrate(db, migrations_dir(app), echo=log.info)
    except MaxConnectionsExceeded:
        raise StartupError("cannot apply migrations: no free database connection") from None
    except (pw.DatabaseError, pw.InterfaceError) as exc:  # unreachable, refused, no rights
        raise StartupError(f"cannot apply migrations: {first_line(exc)}") from None
    finally:
        if not db.is_closed():
            db.close()
    log.info("start-up migrations: %s", f"applied {', '.join(applied)}" if applied
             else "the database is up to date")
    return applied


def _serving() -> bool:
    """True unless the app is being built for a `flask` command other than `run`."""
    context = click.get_current_context(silent=True)
    return context is None or context.command.name == "run"


def trust_proxies(app, hops: int) -> None:
    """Believe X-Forwarded-* from `hops` proxies in front of the app.

    Every proxy appends to X-Forwarded-For: the client is the `hops`-th entry from the
    right (anything further left came from the client and may be forged). Proto, Host,
    Port and Prefix are set (overwritten) by the proxy nearest the app, passing on
    what the outer ones saw: one value, trusted.
    """
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=1, x_host=1, x_port=1,
                                x_prefix=1)


def init_app(app) -> None:
    """Trust PROXY_FIX_HOPS proxies' X-Forwarded-*; migrate now if configured to."""
    settings = app.config["DEEPREF"]
    trust_proxies(app, settings.proxy_fix_hops)
    if settings.migrations_run and _serving():
        apply_migrations(app)
