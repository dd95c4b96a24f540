"""Statement logging (DATABASE_LOGGING=true): the SQL, never its parameter values."""

from __future__ import annotations

import logging


class _SQLWithoutParameters(logging.Filter):
    """Log statements only: parameter values may be secrets (hashes, prompts)."""

    def filter(self, record):
        if isinstance(record.msg, tuple) and len(record.msg) == 2:
            record.msg, record.args = "%s", (record.msg[0],)
        return True


class _SQLToStderr(logging.StreamHandler):
    """deepref's SQL log handler (told apart from the NullHandler peewee installs)."""


def enable_sql_logging(log_format: str = "text") -> None:
    """Log every SQL statement (without its parameter values) to stderr; with
    LOG_FORMAT=json, as one JSON object per line like every other log line."""
    logger = logging.getLogger("peewee")
    if not any(isinstance(f, _SQLWithoutParameters) for f in logger.filters):
        logger.addFilter(_SQLWithoutParameters())
    logger.setLevel(logging.DEBUG)
    # peewee's logger always has a NullHandler: look for ours, not for "any handler".
    handler = next((h for h in logger.handlers if isinstance(h, _SQLToStderr)), None)
    if handler is None:
        handler = _SQLToStderr()
        logger.addHandler(handler)
    if log_format == "json":
        from deepref.request_log import JsonFormatter

        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s SQL %(message)s"))
