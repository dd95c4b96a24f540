"""gunicorn settings for deepref: `gunicorn -c gunicorn.conf.py wsgi:app`.

Every value comes from the environment (or .env), with defaults for one small host.
Database connections: each worker opens its own pool after the fork (no preload, so no
connection is ever shared between processes) and warms DATABASE_POOL_MIN of them before
it takes requests. At most GUNICORN_WORKERS x DATABASE_POOL_MAX connections per host and
server, reloads included: during a SIGHUP reload the old workers drain while as many new
ones start, so each worker's pool holds at most half of DATABASE_POOL_MAX (WORKER_POOL).
The master holds none once the workers run.
"""

from __future__ import annotations

import logging
import os
from typing import NoReturn

from deepref.config import ConfigError, log_format, read_environment

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


def _refuse(message: str) -> NoReturn:
    """Stop gunicorn with one line (gunicorn prints a SystemExit's text and exits 1)."""
    raise SystemExit(f"deepref: configuration error: {message}")


try:
    _env = read_environment()
except ConfigError as exc:  # e.g. a .env line that cannot be parsed
    _refuse(exc.message)


def _number(name: str, default: int, minimum: int = 1) -> int:
    raw = _env.get(name, "").strip()
    try:
        value = int(raw) if raw else default
    except ValueError:
        value = None
    if value is None or value < minimum:
        _refuse(f"{name} must be a whole number of at least {minimum}, not {raw!r}.")
    return value


def _address(entry: str) -> str:
    """One GUNICORN_BIND entry: host:port (port 1-65535; [v6 address]:port), unix:path
    or fd://N (a socket handed over by systemd)."""
    if entry.startswith("unix:"):
        if entry == "unix:":
            _refuse("GUNICORN_BIND: unix: needs a socket path, e.g. unix:/run/deepref.sock.")
        return entry
    if entry.startswith("fd://") and entry[5:].isascii() and entry[5:].isdigit():
        return entry
    host, _, port = entry.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]  # an IPv6 address
    elif ":" in host:
        host = ""  # an IPv6 address needs its brackets
    port_ok = port.isascii() and port.isdigit() and 1 <= int(port) <= 65535
    if not host or not port_ok or any(c.isspace() or c in "/[]" for c in host):
        _refuse(f"GUNICORN_BIND: {entry!r} is not host:port (a port from 1 to 65535) "
                "or unix:/path/to.sock.")
    return entry


def _log_level() -> str:
    raw = _env.get("GUNICORN_LOG_LEVEL", "").strip()
    if raw and raw.lower() not in LOG_LEVELS:
        _refuse(f"GUNICORN_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {raw!r}.")
    return raw.lower() or "info"


bind = [_address(entry.strip())
        for entry in (_env.get("GUNICORN_BIND", "").strip() or "127.0.0.1:8000").split(",")]
workers = _number("GUNICORN_WORKERS", 2)
threads = _number("GUNICORN_THREADS", 4)
# Old and new workers overlap during a reload: each gets half the pool, so both fit in
# GUNICORN_WORKERS x DATABASE_POOL_MAX. A worker's threads hold one connection each.
WORKER_POOL = _number("DATABASE_POOL_MAX", 20, minimum=2) // 2

# -- slow and hostile clients (docs/deploy.md "Slow clients") ---------------------------
# Behind the shipped nginx (deploy/nginx.conf) gunicorn only ever sees whole, buffered
# requests. Reached directly, every request being read holds one of workers x threads
# threads: these bound what one client can hold and for how long.
# gthread, plus a deadline: a client has this long to send its request (headers and
# body), then its connection is dropped and its thread freed (deepref/gthread.py).
request_read_timeout = _number("GUNICORN_REQUEST_READ_TIMEOUT", 15)


def _worker_class():
    from deepref.gthread import deadline_worker

    return deadline_worker(request_read_timeout)


worker_class = _worker_class
# A worker silent (hung) this long is killed and replaced.
timeout = _number("GUNICORN_TIMEOUT", 30)
# On SIGTERM/SIGHUP, in-flight requests get this long to finish.
graceful_timeout = _number("GUNICORN_GRACEFUL_TIMEOUT", 30)
# An idle kept-alive connection is closed after this many seconds.
keepalive = _number("GUNICORN_KEEPALIVE", 5)
# Idle connections a worker keeps besides its busy threads (gthread: connections the
# poller holds cost no thread); beyond it, new ones wait in the listen backlog.
worker_connections = 1000
# Headers: a request line of at most 4 KiB, 100 fields of 8 KiB each (gunicorn's own
# defaults, stated): a bigger one is refused with 400/431 before the app runs.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
# Recycle workers now and then (jittered so they do not all restart at once); 0 = never.
max_requests = _number("GUNICORN_MAX_REQUESTS", 0, minimum=0)
max_requests_jitter = max_requests // 10
# Never import the app in the master: its pool would be shared by every fork.
preload_app = False
# gunicorn's control socket (for gunicornc) lives at one path per user: two servers on
# one host would fight over it. Off unless GUNICORN_CONTROL_SOCKET names a path.
control_socket = _env.get("GUNICORN_CONTROL_SOCKET", "")
control_socket_disable = not control_socket
accesslog = _env.get("GUNICORN_ACCESS_LOG") or None  # "-" for stdout
errorlog = "-"
loglevel = _log_level()

# -- log lines: LOG_FORMAT, request ids (deepref/request_log.py) ------------------------
try:
    _log_format = log_format(_env)
except ConfigError as exc:
    _refuse(exc.message)
# gunicorn's own access line (GUNICORN_ACCESS_LOG): the path without its query string
# (%(U)s, not %(r)s: values may be tokens), no referer, and the request's id. deepref's
# own access line (logger deepref.access, in the error log) carries the same and more.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms request_id=%({x-request-id}o)s'


def _deepref_logger_class():
    """gunicorn's Logger with deepref's formatter (text or JSON) on all its handlers."""
    from gunicorn.glogging import Logger

    from deepref.request_log import formatter

    class DeeprefLogger(Logger):
        def setup(self, cfg):
            super().setup(cfg)
            for log in (self.error_log, self.access_log):
                for handler in log.handlers:
                    handler.setFormatter(formatter(_log_format))

    return DeeprefLogger


logger_class = _deepref_logger_class


class _ToGunicorn(logging.Handler):
    """Hand records to gunicorn's error logger (its handlers change when logs reopen)."""

    def __init__(self, target: logging.Logger):
        super().__init__()
        self.target = target

    def emit(self, record):
        self.target.handle(record)


def on_starting(server):
    """In the master, before any worker: check the settings, apply pending migrations.

    With DATABASE_MIGRATIONS_RUN=true, create_app applies them under the migration
    lock (several servers starting at once apply each revision once). Every connection
    it opened is then closed, before the fork; the workers are told not to migrate again.
    """
    from deepref import create_app
    from deepref.config import ConfigError
    from deepref.db import shut_all
    from deepref.exceptions import DeeprefError

    # deepref's own log lines (migrations, database outages) go where gunicorn's go;
    # the workers inherit this through the fork.
    logger = logging.getLogger("deepref")
    logger.addHandler(_ToGunicorn(server.log.error_log))
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        app = create_app()
    except ConfigError as exc:  # gunicorn prints "Error: <message>" and exits 1
        raise RuntimeError(f"deepref: configuration error: {exc.message}") from None
    except DeeprefError as exc:  # StartupError, MigrationError
        raise RuntimeError(f"deepref: {exc.message}") from None
    shut_all(app)
    if threads > WORKER_POOL:
        server.log.warning(
            "deepref: GUNICORN_THREADS (%d) is more than half of DATABASE_POOL_MAX: a worker's "
            "pool holds %d connection(s) (half, so a reload stays within the budget), so "
            "threads may wait for one; raise DATABASE_POOL_MAX to %d", threads, WORKER_POOL,
            2 * threads)
    os.environ["DATABASE_MIGRATIONS_RUN"] = "false"


def post_worker_init(worker):
    """In each worker, after the app is loaded: cap its pools at WORKER_POOL, open
    DATABASE_POOL_MIN connections (at most WORKER_POOL), say if the server is read-only."""
    from deepref.db import database, read_only_warning

    app = worker.wsgi
    config = getattr(app, "config", {})
    if "DEEPREF" not in config:
        return  # not a deepref app (or wrapped): nothing to warm
    database.primary.cap(WORKER_POOL)
    replicas = app.extensions.get("deepref_replicas")
    for replica in replicas.replicas if replicas else ():
        replica.db.cap(WORKER_POOL)
    count = min(config["DEEPREF"].database.pool_min, WORKER_POOL)
    warmed = database.warm(count)
    worker.log.info("worker %s: %d of %d database connection(s) warm", worker.pid, warmed, count)
    # Said once per worker at start; skipped when warming just found the server down.
    warning = read_only_warning(database.primary) if warmed or not count else None
    if warning:
        worker.log.warning("deepref: %s", warning)


def worker_exit(server, worker):
    """Say goodbye to PostgreSQL instead of leaving its sessions to time out."""
    from deepref.db import shut_all

    app = getattr(worker, "wsgi", None)
    if "DEEPREF" in getattr(app, "config", {}):
        shut_all(app)
