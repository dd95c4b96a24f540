"""Reads from streaming replicas (DATABASE_REPLICA_URL), writes on the primary.

The models' proxy (`RoutedProxy`) answers with the primary unless this thread is inside
`reading()`, and even then a transaction (`atomic()`, every write) goes to the primary:
what is read inside a write is read where it is written. `reading()` picks a replica
that answers and whose replay lag is at most DATABASE_REPLICA_MAX_LAG, asked once per
use (one short query), else the primary; a user who wrote in the last
DATABASE_READ_YOUR_WRITES seconds reads from the primary (a timestamp in their signed
session cookie, set after any successful write request).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time

import peewee as pw
from flask import current_app, has_request_context, request, session

from deepref.db.failures import DATABASE_ERRORS, SERVER_FULL, classify

log = logging.getLogger("deepref.db")
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
_WROTE = "deepref_wrote_until"
# Seconds a replica that failed is left alone before it is tried again.
RETRY_SECONDS = 5.0
# Replay lag in seconds; 0 when everything received is replayed (an idle primary has
# an old last-replayed timestamp and no lag at all).
_LAG = ("SELECT pg_is_in_recovery(), CASE WHEN pg_last_wal_receive_lsn() = "
        "pg_last_wal_replay_lsn() THEN 0 ELSE extract(epoch FROM now() - "
        "pg_last_xact_replay_timestamp()) END")


class RoutedProxy(pw.DatabaseProxy):
    """The models' database: the primary, or this thread's replica inside `reading()`."""

    __slots__ = ("_routed",)

    def __init__(self):
        object.__setattr__(self, "_routed", threading.local())
        super().__init__()

    @property
    def primary(self):
        return pw.DatabaseProxy.obj.__get__(self)

    @property
    def obj(self):
        replica = getattr(self._routed, "replica", None)
        if replica is not None and not getattr(self._routed, "writing", 0):
            return replica
        return self.primary

    def __setattr__(self, attr, value):
        if attr == "obj":
            return pw.DatabaseProxy.obj.__set__(self, value)
        if attr not in pw.DatabaseProxy.__slots__:
            raise AttributeError("Cannot set attribute on proxy.")
        return object.__setattr__(self, attr, value)

    def atomic(self, *args, **kwargs):
        return _OnPrimary(self, lambda: self.primary.atomic(*args, **kwargs))

    def transaction(self, *args, **kwargs):
        return _OnPrimary(self, lambda: self.primary.transaction(*args, **kwargs))

    @contextlib.contextmanager
    def reading_from(self, replica):
        """Route this thread's reads to `replica` while the block runs."""
        self._routed.replica = replica
        try:
            yield
        finally:
            self._routed.replica = None


class _OnPrimary(pw._callable_context_manager):
    """A transaction on the primary, whatever this thread reads from meanwhile (made on
    entry, from the database bound then: usable as a decorator before binding)."""

    def __init__(self, proxy: RoutedProxy, make):
        self.proxy, self.make = proxy, make
        self.inner = threading.local()

    def __enter__(self):
        routed = self.proxy._routed
        routed.writing = getattr(routed, "writing", 0) + 1
        stack = self.inner.__dict__.setdefault("stack", [])
        try:
            transaction = self.make()
        except BaseException:
            routed.writing -= 1
            raise
        stack.append(transaction)
        try:
            return transaction.__enter__()
        except BaseException:
            routed.writing -= 1
            stack.pop()
            raise

    def __exit__(self, *exc):
        try:
            return self.inner.stack.pop().__exit__(*exc)
        finally:
            self.proxy._routed.writing -= 1


class Replica:
    """One replica's database and what was last seen of it (per process)."""

    def __init__(self, number: int, db: pw.Database):
        self.number, self.db = number, db
        self.failed_at: float | None = None
        self.failed_as = "unreachable"

    def check(self, max_lag: float) -> dict:
        """{"replica", "status" (ready, lagging, unreachable, not_a_replica), "lag_seconds"}."""
        report = {"replica": self.number}
        try:
            self.db.connect(reuse_if_open=True)
            in_recovery, lag = self.db.execute_sql(_LAG).fetchone()
        except DATABASE_ERRORS as exc:
            self.failed_at = time.monotonic()
            self.db.discard()
            failure = classify(exc)
            log.warning("replica %d skipped: %s", self.number,
                        failure.detail if failure else exc)
            self.failed_as = ("full" if failure and failure.kind == SERVER_FULL
                              else "unreachable")
            return {**report, "status": self.failed_as}
        self.failed_at = None
        if not in_recovery:
            return {**report, "status": "not_a_replica"}
        lag = None if lag is None else round(float(lag), 3)
        status = "ready" if lag is not None and lag <= max_lag else "lagging"
        return {**report, "status": status, "lag_seconds": lag}

    def resting(self) -> bool:
        """Failed less than RETRY_SECONDS ago: not worth a connection attempt yet."""
        return self.failed_at is not None and time.monotonic() - self.failed_at < RETRY_SECONDS


class Replicas:
    """The app's replicas, and the choice of one for a read."""

    def __init__(self, replicas: list[Replica], max_lag: float, read_your_writes: float):
        self.replicas, self.max_lag, self.read_your_writes = replicas, max_lag, read_your_writes
        self._next = 0

    def choose(self) -> Replica | None:
        """A ready replica (taking turns), or None: read from the primary."""
        count = len(self.replicas)
        for offset in range(count):
            replica = self.replicas[(self._next + offset) % count]
            if replica.resting():
                continue
            if replica.check(self.max_lag)["status"] == "ready":
                self._next = (self._next + offset + 1) % count
                return replica
            replica.db.close()
        return None

    def report(self) -> list[dict]:
        """Each replica's state, for /readyz (no host names: they are configuration).

        One that failed less than RETRY_SECONDS ago is reported from memory: a replica
        whose host vanished would otherwise hold every probe for the connect timeout.
        """
        reports = []
        for replica in self.replicas:
            if replica.resting():
                reports.append({"replica": replica.number, "status": replica.failed_as})
                continue
            reports.append(replica.check(self.max_lag))
            replica.db.close()
        return reports

    def shut(self) -> None:
        for replica in self.replicas:
            replica.db.shut()


def wrote_recently() -> bool:
    """This user wrote less than DATABASE_READ_YOUR_WRITES seconds ago."""
    until = session.get(_WROTE)
    return isinstance(until, (int, float)) and until > time.time()


@contextlib.contextmanager
def reading():
    """Run the block's reads on a replica when one is fit (see the module docstring)."""
    from deepref.db import database

    replicas: Replicas | None = current_app.extensions.get("deepref_replicas")
    if replicas is None or (has_request_context() and wrote_recently()):
        yield
        return
    replica = replicas.choose()
    if replica is None:
        yield
        return
    try:
        with database.reading_from(replica.db):
            yield
    finally:
        replica.db.close()  # back to its pool


def init_app(app, replicas: Replicas) -> None:
    """Keep `replicas` on the app; after a user's write, read from the primary a while."""
    app.extensions["deepref_replicas"] = replicas

    @app.after_request
    def remember_write(response):
        if request.method not in _SAFE_METHODS and response.status_code < 400 \
                and replicas.read_your_writes:
            session[_WROTE] = time.time() + replicas.read_your_writes
        return response
