"""Servers the scaling tests start and stop themselves: PgBouncer in transaction mode,
a PostgreSQL primary with a streaming replica; and a console sign-in over the test client.

Both run as the `postgres` user (pgbouncer, initdb and pg_ctl refuse root), each in a
temporary directory that user owns, on free loopback ports.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


from deploy_support import PG_BIN, PostgresServer, as_postgres, free_port

PGBOUNCER = "/usr/sbin/pgbouncer"
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PASSWORD = "correct horse battery staple"


def _folder(prefix: str) -> Path:
    root = Path(tempfile.mkdtemp(prefix=prefix))
    shutil.chown(root, "postgres")
    return root


def _wait_for_port(port: int, process: subprocess.Popen | None, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"exited:\n{log.read_text() if log.exists() else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}:\n{log.read_text() if log.exists() else ''}")


class PgBouncer:
    """pgbouncer (transaction mode unless told) in front of `server_url`'s server (trust)."""

    def __init__(self, server_url: str, pool_size: int = 3, mode: str = "transaction"):
        parts = urlsplit(server_url)
        self.server_url = server_url
        self.root = _folder("deepref-pgbouncer-")
        self.port = free_port()
        self.log = self.root / "pgbouncer.log"
        (self.root / "users.txt").write_text(f'"{parts.username or "postgres"}" ""\n')
        (self.root / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"* = host={parts.hostname} port={parts.port or 5432}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {self.root / 'users.txt'}\n"
            f"pool_mode = {mode}\n"
            f"default_pool_size = {pool_size}\nmax_client_conn = 500\n"
            f"logfile = {self.log}\npidfile = {self.root / 'pgbouncer.pid'}\n"
        )
        for path in self.root.iterdir():
            shutil.chown(path, "postgres")
        self.process: subprocess.Popen | None = None

    def start(self) -> "PgBouncer":
        self.process = subprocess.Popen(
            ["runuser", "-u", "postgres", "--", PGBOUNCER, str(self.root / "pgbouncer.ini")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        _wait_for_port(self.port, self.process, self.log)
        return self

    def url(self, direct_url: str) -> str:
        """`direct_url` (a database on the server behind) as reached through the pooler."""
        parts = urlsplit(direct_url)
        user = parts.username or "postgres"
        return urlunsplit(parts._replace(netloc=f"{user}@127.0.0.1:{self.port}"))

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # runuser passes it on
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)


class Cluster(PostgresServer):
    """A PostgreSQL 15 cluster in its own folder on a free port: trust auth on loopback, no
    SSL, no app role (PostgresServer's start, discard and query; its own init)."""

    start_timeout = 60

    def __init__(self, root: Path, settings: str = ""):
        super().__init__(root, free_port(), password="")
        self.settings = settings

    def init(self) -> "Cluster":
        done = as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                           "-A", "trust", "-E", "UTF8", "--no-sync", timeout=120)
        assert done.returncode == 0, done.stderr
        self._configure()
        with open(self.data / "pg_hba.conf", "a") as hba:
            hba.write("host replication postgres 127.0.0.1/32 trust\n")
        self.start()
        return self

    def _configure(self) -> None:
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                       f"unix_socket_directories = '{self.root}'\nfsync = off\n"
                       f"wal_level = replica\nmax_wal_senders = 5\n{self.settings}\n")

    def replica(self) -> "Cluster":
        """A streaming replica of this cluster (pg_basebackup -R), started."""
        root = _folder("deepref-replica-")
        replica = Cluster(root, self.settings)
        done = as_postgres(str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p",
                           str(self.port), "-U", "postgres", "-D", str(replica.data), "-R",
                           "-X", "stream", "--no-sync", "--checkpoint=fast", timeout=120)
        assert done.returncode == 0, done.stderr
        replica._configure()  # its own port and socket folder (the last line wins)
        replica.start()
        return replica

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"


def new_cluster(prefix: str, settings: str = "") -> Cluster:
    return Cluster(_folder(prefix), settings).init()


def sign_in(app, email: str, password_hash: str):
    """A test client signed in through the real /login form as a new admin `email`."""
    from deepref.models import User, UserRole

    with app.app_context():
        UserRole.create(role="admin", user=User.create(
            email=email, role="admin", password_hash=password_hash))
    client = app.test_client()
    token = TOKEN.search(client.get("/login").get_data(as_text=True)).group(1)
    response = client.post("/login", data={"email": email, "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


def csrf(client, page: str = "/admin/") -> str:
    response = client.get(page)
    assert response.status_code == 200, (page, response.status_code)
    return TOKEN.search(response.get_data(as_text=True)).group(1)
