"""Watching a migration statement from a second connection: who blocks it, how far it is.

While a statement of the runner runs on PostgreSQL, a thread polls on its own
connection: the sessions blocking the runner's (pg_blocking_pids), and for an index
build its phase and blocks done (pg_stat_progress_create_index). Blockers are kept for
the runner to name when a lock timeout ends the attempt; progress is reported at most
once a second once the statement has run for a second.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from typing import Callable, TextIO

import psycopg2

POLL_SECONDS = 0.2
REPORT_EVERY_SECONDS = 1.0

_BLOCKERS = (
    "SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.state, ''), "
    "coalesce(extract(epoch FROM now() - coalesce(a.xact_start, a.query_start)), 0), "
    "left(coalesce(a.query, ''), 500) "
    "FROM pg_stat_activity a WHERE a.pid = ANY (pg_blocking_pids(%s))"
)
_HOLDERS = (
    "SELECT DISTINCT a.pid, coalesce(a.application_name, ''), coalesce(a.state, ''), "
    "coalesce(extract(epoch FROM now() - coalesce(a.xact_start, a.query_start)), 0), "
    "left(coalesce(a.query, ''), 500) "
    "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.granted AND l.pid <> %s AND l.relation = ANY ("
    "SELECT to_regclass(quote_ident(t)) FROM unnest(%s::text[]) AS t)"
)
_INDEX_PROGRESS = (
    "SELECT phase, blocks_done, blocks_total, tuples_done, tuples_total "
    "FROM pg_stat_progress_create_index WHERE pid = %s"
)


@dataclass(frozen=True)
class Blocker:
    """A session the migration waited for."""

    pid: int
    application: str
    state: str
    seconds: float
    query: str

    def describe(self) -> str:
        query = " ".join(self.query.split())
        query = (query[:117] + "...") if len(query) > 120 else query
        who = f"pid {self.pid} ({self.application or 'no application_name'})"
        return f"{who}, {self.state or 'unknown state'} for {self.seconds:.0f} s: {query or '(no query)'}"


class Progress:
    """Lines about long work: one line rewritten in place on a terminal (`stream`),
    plain lines through `echo` otherwise (a pipeline's log)."""

    def __init__(self, echo: Callable[[str], None], stream: TextIO | None = None):
        self.echo, self.stream = echo, stream
        self._shown = False

    def update(self, text: str) -> None:
        if self.stream is None:
            self.echo(f"  {text}")
            return
        self.stream.write(f"\r\x1b[K  {text}")
        self.stream.flush()
        self._shown = True

    def done(self) -> None:
        if self.stream is not None and self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
        self._shown = False


class Watcher:
    """Polls for the runner's session `pid` over its own connection (PostgreSQL only)."""

    def __init__(self, connect: Callable[[], object], pid: int, progress: Progress):
        self._connect, self.pid, self.progress = connect, pid, progress
        self._conn = None
        self.blockers: dict[int, Blocker] = {}

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None

    @contextlib.contextmanager
    def watching(self, label: str):
        """Watch while the block runs one statement described by `label`."""
        self.blockers = {}
        stop = threading.Event()
        thread = threading.Thread(target=self._poll, args=(label, stop), daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            self.progress.done()

    def _poll(self, label: str, stop: threading.Event) -> None:
        started = time.monotonic()
        reported = started
        while True:
            try:
                blockers, build = self._look()
                for blocker in blockers:
                    self.blockers[blocker.pid] = blocker
                now = time.monotonic()
                if now - started >= REPORT_EVERY_SECONDS and now - reported >= REPORT_EVERY_SECONDS:
                    reported = now
                    self.progress.update(_describe(label, now - started, blockers, build))
            except psycopg2.Error:
                self.close()  # a watcher that cannot see is no reason to stop the migration
            if stop.wait(POLL_SECONDS):
                return

    def holders(self, tables: list[str]) -> list[Blocker]:
        """Sessions holding locks on `tables` now: who a statement that timed out on them
        most likely waited for, when no poll caught the wait itself."""
        if not tables:
            return []
        try:
            self._open()
            with self._conn.cursor() as cur:
                cur.execute(_HOLDERS, (self.pid, tables))
                return [Blocker(*row) for row in cur.fetchall()]
        except psycopg2.Error:
            self.close()
            return []

    def _open(self) -> None:
        if self._conn is None:
            self._conn = self._connect()
            self._conn.autocommit = True

    def _look(self):
        self._open()
        with self._conn.cursor() as cur:
            cur.execute(_BLOCKERS, (self.pid,))
            blockers = [Blocker(*row) for row in cur.fetchall()]
            cur.execute(_INDEX_PROGRESS, (self.pid,))
            build = cur.fetchone()
        return blockers, build


def _describe(label: str, elapsed: float, blockers: list[Blocker], build) -> str:
    text = f"{label}: {elapsed:.0f} s"
    if build is not None:
        phase, blocks_done, blocks_total, tuples_done, tuples_total = build
        text += f", {phase}"
        if blocks_total:
            text += f", blocks {blocks_done:,} of {blocks_total:,} ({100 * blocks_done // blocks_total}%)"
        elif tuples_total:
            text += f", rows {tuples_done:,} of {tuples_total:,}"
    if blockers:
        text += f"; waiting for pid {', '.join(str(b.pid) for b in blockers)}"
    return text
