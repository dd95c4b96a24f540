"""Request ids and log lines: one id per request, on every line the request logs.

- The id comes from `X-Request-ID` only when the app is declared to sit behind a proxy
  (PROXY_FIX_HOPS > 0: the nearest proxy sets that header, as deploy/nginx.conf does)
  and the value looks like an id (1-64 of A-Z a-z 0-9 . _ : -); otherwise it is made
  here. It goes back in the response's `X-Request-ID`.
- Each request ends with one access line (logger `deepref.access`): method, path with
  query *names* only (values may be tokens), status, duration in ms, the signed-in
  user's id.
- LOG_FORMAT=json writes one JSON object per line; `text` (default) one plain line.
- A database failure that classify() recognises (down, busy, full, read-only, timeout,
  not migrated) is written as one line, never a traceback: it is an outage, not a bug.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import sys
import time
import uuid

from flask import request

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
# What the access line carries besides the message (also the JSON keys).
ACCESS_FIELDS = ("method", "path", "status", "duration_ms", "user_id")
TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"
_USER_KEY = "deepref.user_id"

access_log = logging.getLogger("deepref.access")


def current_request_id() -> str:
    """The id of the request this thread is serving ("-" outside a request)."""
    return _request_id.get()


def request_id_from(environ: dict, trust_header: bool) -> str:
    """The proxy's X-Request-ID when trusted and well-formed, else a new one."""
    offered = environ.get("HTTP_X_REQUEST_ID", "") if trust_header else ""
    return offered if _VALID_ID.fullmatch(offered) else uuid.uuid4().hex


def loggable_path(path: str, query: str) -> str:
    """`path` with the query's names and none of its values (`?token=*&page=*`)."""
    if not query:
        return path
    names = [part.split("=", 1)[0] for part in query.split("&") if part]
    return f"{path}?{'&'.join(f'{name[:40]}=*' for name in names[:20])}"


class RequestLog:
    """WSGI middleware: sets the request id, returns it, writes the access line."""

    def __init__(self, wsgi_app, trust_header: bool):
        self.wsgi_app = wsgi_app
        self.trust_header = trust_header

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        request_id = request_id_from(environ, self.trust_header)
        token = _request_id.set(request_id)
        status = ["-"]

        def start(status_line, headers, exc_info=None):
            status[0] = status_line.split(" ", 1)[0]
            headers = [h for h in headers if h[0].lower() != "x-request-id"]
            headers.append((REQUEST_ID_HEADER, request_id))
            return start_response(status_line, headers, exc_info)

        try:
            body = self.wsgi_app(environ, start)
        except BaseException:
            _request_id.reset(token)
            raise
        return _Finishing(body, lambda: self._finish(environ, status[0], started, token))

    @staticmethod
    def _finish(environ, status: str, started: float, token) -> None:
        try:
            fields = {
                "method": environ.get("REQUEST_METHOD", "-"),
                "path": loggable_path(environ.get("PATH_INFO", ""),
                                      environ.get("QUERY_STRING", "")),
                "status": int(status) if status.isdigit() else status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "user_id": environ.get(_USER_KEY) or "-",
            }
            access_log.info("%(method)s %(path)s %(status)s %(duration_ms)sms user=%(user_id)s",
                            fields, extra=fields)
        finally:
            _request_id.reset(token)


class _Finishing:
    """The response body, calling `finish` once the server has sent it (or given up)."""

    def __init__(self, body, finish):
        self.body, self.finish = body, finish

    def __iter__(self):
        return iter(self.body)

    def close(self):
        try:
            if hasattr(self.body, "close"):
                self.body.close()
        finally:
            self.finish()


# Formatting ---------------------------------------------------------------------------


def _expected_failure(record: logging.LogRecord):
    """The Failure behind the record's exception when it is an expected one, else None."""
    if not record.exc_info or record.exc_info[1] is None:
        return None
    from deepref.db import failures

    failure = failures.classify(record.exc_info[1])
    return failure if failure is not None and failure.kind != failures.REFUSED else None


def _one_line(record: logging.LogRecord) -> logging.LogRecord:
    """A copy of `record` whose expected database failure is a clause, not a traceback."""
    record.request_id = getattr(record, "request_id", None) or current_request_id()
    failure = _expected_failure(record)
    if failure is None:
        return record
    copy = logging.makeLogRecord(record.__dict__)
    copy.msg = f"{record.getMessage()}: database {failure.kind.replace('_', ' ')}: {failure.detail}"
    copy.args, copy.exc_info, copy.exc_text = None, None, None
    return copy


class TextFormatter(logging.Formatter):
    """`time LEVEL [request id] logger: message` (LOG_FORMAT=text)."""

    def __init__(self):
        super().__init__(TEXT_FORMAT)

    def format(self, record):
        return super().format(_one_line(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line (LOG_FORMAT=json)."""

    def format(self, record):
        record = _one_line(record)
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc)
            .isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "request_id": record.request_id,
            "message": record.getMessage(),
        }
        entry.update({k: getattr(record, k) for k in ACCESS_FIELDS if hasattr(record, k)})
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def formatter(log_format: str) -> logging.Formatter:
    """The formatter for LOG_FORMAT (`text` or `json`)."""
    return JsonFormatter() if log_format == "json" else TextFormatter()


class _Stderr(logging.StreamHandler):
    """deepref's own handler: to whatever sys.stderr is now (tests swap it)."""

    def __init__(self):
        super().__init__()

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def log_to_stderr(log_format: str) -> None:
    """Under `flask run`/`serve`: deepref's lines to stderr in LOG_FORMAT (once)."""
    logger = logging.getLogger("deepref")
    handler = next((h for h in logger.handlers if isinstance(h, _Stderr)), None)
    if handler is None and not logger.handlers:  # under gunicorn it has its handler
        handler = _Stderr()
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    if handler is not None:
        handler.setFormatter(formatter(log_format))


def init_app(app, console_server: bool = False) -> None:
    """Wrap the app in RequestLog; note the user for the access line; under `flask
    run`/`serve`, log to stderr (gunicorn.conf.py sets up logging under gunicorn)."""
    settings = app.config["DEEPREF"]
    app.wsgi_app = RequestLog(app.wsgi_app, trust_header=settings.proxy_fix_hops > 0)
    if console_server:
        log_to_stderr(settings.log_format)

    @app.after_request
    def note_user(response):
        from deepref.auth.session import loaded_user

        user = loaded_user()
        if user is not None:
            request.environ[_USER_KEY] = str(user.id)
        return response
