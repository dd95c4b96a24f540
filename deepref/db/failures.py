"""What a database failure means, asked in one place by every caller.

The web pages, `/readyz`, the commands and the console's forms each word a failure
their own way; which failure it is (the server is down, full, read-only; the pool has
no free connection; SQLite is busy; the schema is not migrated; the statement was
refused) is decided here, from the driver's error code or message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import peewee as pw
from playhouse.pool import MaxConnectionsExceeded

# Kinds of failure.
POOL_EXHAUSTED = "pool_exhausted"  # no pooled connection came free in time
UNREACHABLE = "unreachable"  # refused, dropped or lost the connection
SERVER_FULL = "server_full"  # the server has no connection slot left
READ_ONLY = "read_only"  # a standby, or a read-only transaction
BUSY = "busy"  # SQLite: another writer holds the lock
LOCK_TIMEOUT = "lock_timeout"  # waited longer than lock_timeout for a lock
STATEMENT_TIMEOUT = "statement_timeout"  # ran longer than statement_timeout
NOT_MIGRATED = "not_migrated"  # a table the code needs does not exist yet
REFUSED = "refused"  # the statement itself was refused (constraint, bad value...)

# The connection never got as far as running the statement, or lost it meanwhile.
CONNECTION_KINDS = (POOL_EXHAUSTED, UNREACHABLE, SERVER_FULL, BUSY)

DATABASE_ERRORS = (pw.DatabaseError, pw.InterfaceError, MaxConnectionsExceeded)
# What SQLite and PostgreSQL say about a table that migrations have not created yet.
_NOT_MIGRATED = re.compile(r'no such table|relation "[^"]*" does not exist')
# SQLSTATE codes (PostgreSQL appendix A).
_CODES = {
    "53300": SERVER_FULL,  # too_many_connections
    "25006": READ_ONLY,  # read_only_sql_transaction
    "55P03": LOCK_TIMEOUT,  # lock_not_available
    "57014": STATEMENT_TIMEOUT,  # query_canceled
    "42P01": NOT_MIGRATED,  # undefined_table
}
# At connect time the driver has no SQLSTATE: the server's words are all there is
# ("sorry, too many clients already"; a role's or database's CONNECTION LIMIT).
_FULL_MESSAGES = ("too many clients", "too many connections",
                  "remaining connection slots are reserved")


@dataclass(frozen=True)
class Failure:
    """A database failure: its kind and the first line the database said."""

    kind: str
    detail: str

    @property
    def is_connection(self) -> bool:
        """True when no statement ran: nothing was written (or it is unknown, if lost)."""
        return self.kind in CONNECTION_KINDS


def is_database_error(exc: BaseException) -> bool:
    return isinstance(exc, DATABASE_ERRORS)


def classify(exc: BaseException) -> Failure | None:
    """The Failure behind `exc`, or None when it is not a database failure."""
    if isinstance(exc, MaxConnectionsExceeded):
        return Failure(POOL_EXHAUSTED, "no free connection in the pool")
    if not isinstance(exc, (pw.DatabaseError, pw.InterfaceError)):
        return None
    detail = first_line(exc)
    driver = getattr(exc, "orig", None)
    code = getattr(driver, "pgcode", None)
    if code in _CODES:
        return Failure(_CODES[code], detail)
    if any(text in detail for text in _FULL_MESSAGES):
        return Failure(SERVER_FULL, detail)
    if _NOT_MIGRATED.search(detail):
        return Failure(NOT_MIGRATED, detail)
    if type(driver).__module__ == "sqlite3":
        # An embedded database has no connection to lose: "locked" means busy, and the
        # rest are refusals of the statement (e.g. "malformed JSON"), rolled back.
        lowered = detail.lower()
        return Failure(BUSY if "locked" in lowered or "busy" in lowered else REFUSED, detail)
    if isinstance(exc, (pw.OperationalError, pw.InterfaceError)):
        return Failure(UNREACHABLE, detail)
    return Failure(REFUSED, detail)


def first_line(exc: BaseException) -> str:
    """The first line of a database error, for one-line messages."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
