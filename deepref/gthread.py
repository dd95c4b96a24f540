"""gunicorn's gthread worker, with a deadline for reading each request.

gunicorn gives a request one of its threads as soon as its first bytes arrive, and the
thread then waits for the rest for as long as the client takes: as many slow clients
(slowloris headers, trickled bodies) as there are threads stop the server. Behind the
shipped nginx (deploy/nginx.conf) requests arrive whole, and this never matters. Reached
directly, a client here has GUNICORN_REQUEST_READ_TIMEOUT seconds to send its request,
headers and body; then its connection is dropped (headers) or its request answered
400 (body), and the thread is free: under attack the server slows down, it does not stop.
"""

from __future__ import annotations

import socket
import time

from gunicorn.http.errors import NoMoreData
from gunicorn.workers.gthread import ThreadWorker
from werkzeug.exceptions import ClientDisconnected


class _ReadDeadline:
    """A connection's socket whose reads fail once the request's deadline has passed."""

    def __init__(self, sock: socket.socket):
        self._sock = sock
        self.deadline = float("inf")
        self.in_app = False  # the app is reading the body: fail as a client disconnect

    def __getattr__(self, name):
        return getattr(self._sock, name)

    def recv(self, size, *flags):
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            self._too_slow()
        previous = self._sock.gettimeout()
        if previous is not None and previous <= remaining:
            return self._sock.recv(size, *flags)  # gunicorn's own, shorter timeout applies
        self._sock.settimeout(remaining)
        try:
            return self._sock.recv(size, *flags)
        except (TimeoutError, socket.timeout):
            self._too_slow()
        finally:
            self._sock.settimeout(previous)

    def _too_slow(self):
        if self.in_app:
            raise ClientDisconnected("the request body took too long to arrive")
        raise NoMoreData(b"")


class DeadlineThreadWorker(ThreadWorker):
    """ThreadWorker whose connections must send each request within `read_timeout` s."""

    read_timeout = 30.0

    def handle(self, conn):
        if not conn.initialized and not self.cfg.is_ssl:
            conn.sock = _ReadDeadline(conn.sock)
        if isinstance(conn.sock, _ReadDeadline):
            conn.sock.deadline = time.monotonic() + self.read_timeout
            conn.sock.in_app = False
        return super().handle(conn)

    def handle_request(self, req, conn):
        if isinstance(conn.sock, _ReadDeadline):
            conn.sock.in_app = True
        try:
            return super().handle_request(req, conn)
        finally:
            if isinstance(conn.sock, _ReadDeadline):
                conn.sock.in_app = False


def deadline_worker(read_timeout: float) -> type[DeadlineThreadWorker]:
    """The worker class for gunicorn.conf.py, with GUNICORN_REQUEST_READ_TIMEOUT."""
    return type("DeadlineThreadWorker", (DeadlineThreadWorker,), {"read_timeout": read_timeout})
