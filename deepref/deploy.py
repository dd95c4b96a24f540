"""Serving concerns: the reverse proxy in front, and migrations applied at start-up.

With DATABASE_MIGRATIONS_RUN=true, an app built to serve (by a WSGI server or
`flask run`) applies pending migrations under the migration lock before it answers
anything. Other `flask` commands never do: `flask db rollback` must not migrate first.
Under gunicorn.conf.py the master applies them once, before forking, and its workers
skip it.
"""

from __future__ import annotations

import logging

from werkzeug.middleware.proxy_fix import ProxyFix

from deepref import db as dblayer
from deepref import migrate as runner
from deepref.db import failures
from deepref.exceptions import DeeprefError

log = logging.getLogger(__name__)


class StartupError(DeeprefError):
    """The app cannot start serving (e.g. its migrations cannot be applied)."""


def apply_migrations(app) -> list[str]:
    """Apply pending revisions under the lock (on DATABASE_MIGRATION_URL when set), then
    give the connection back."""
    db = dblayer.migration_database(app)
    settings = app.config["DEEPREF"]
    try:
        applied = runner.migrate(db, settings.migrations_dir, echo=log.info,
                                 limits=runner.Limits.configured(settings.migration))
    except failures.DATABASE_ERRORS as exc:  # unreachable, refused, no rights, pool full
        failure = failures.classify(exc)
        reason = ("no free database connection" if failure.kind == failures.POOL_EXHAUSTED
                  else failure.detail)
        raise StartupError(f"cannot apply migrations: {reason}") from None
    finally:
        if db is not dblayer.database.primary:
            db.shut()
        elif not db.is_closed():
            db.close()
    log.info("start-up migrations: %s", f"applied {', '.join(applied)}" if applied
             else "the database is up to date")
    return applied


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


def trust_hosts(app, hosts: tuple[str, ...]) -> None:
    """Answer only requests for `hosts` (a 400 otherwise); none listed: any host.

    Checked on the Host header, or on X-Forwarded-Host when ProxyFix believes it, so a
    forged host can neither pass as this site (redirect checks) nor appear in built URLs.
    """
    if hosts:
        app.config["TRUSTED_HOSTS"] = list(hosts)


def init_app(app, serving: bool = True) -> None:
    """Trust PROXY_FIX_HOPS proxies' X-Forwarded-* and only TRUSTED_HOSTS; migrate now if
    configured to and the app is built to serve (by a WSGI server or `flask run`)."""
    settings = app.config["DEEPREF"]
    trust_proxies(app, settings.proxy_fix_hops)
    trust_hosts(app, settings.trusted_hosts)
    if settings.migrations_run and serving:
        apply_migrations(app)
