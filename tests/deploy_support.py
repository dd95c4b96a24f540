"""Deployment test support: a PostgreSQL server the tests control, and real gunicorns.

The fixtures over these are in deploy_fixtures.py.

The server runs as the `postgres` user (initdb and pg_ctl refuse root) in a temporary
directory, with `ssl = on` and a CA and certificate made here. pg_hba lets the app's
role in only over SSL (hostssl, password); the `postgres` superuser gets in without
SSL from loopback, for the tests' own setup and checks.
"""

from __future__ import annotations

import datetime as dt
import http.client
import ipaddress
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg2
from cryptography import x509
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

PG_BIN = Path("/usr/lib/postgresql/15/bin")
ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
APP_USER = "deepref_app"


def free_port() -> int:
    """A TCP port on loopback nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Certificates -------------------------------------------------------------------------


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(key, path: Path) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def make_ca(directory: Path, name: str):
    """A self-signed CA: (its key, its certificate), the certificate written to name.crt."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name)).issuer_name(_name(name))
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    (directory / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert


def make_server_cert(directory: Path, ca_key, ca_cert) -> None:
    """server.crt / server.key for 127.0.0.1 and localhost, signed by the CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost")).issuer_name(ca_cert.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    (directory / "server.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key, directory / "server.key")


# PostgreSQL ---------------------------------------------------------------------------


def as_postgres(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run a PostgreSQL program as the postgres user (initdb and pg_ctl refuse root)."""
    return subprocess.run(["runuser", "-u", "postgres", "--", *args],
                          capture_output=True, text=True, timeout=timeout)


@dataclass
class PostgresServer:
    """A PostgreSQL 15 server in `root`, on `port`, that tests may stop and start."""

    root: Path
    port: int
    password: str
    start_timeout = 30  # seconds pg_ctl waits for the server to accept connections

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def right_ca(self) -> Path:
        return self.root / "certs" / "deepref-test-ca.crt"

    @property
    def wrong_ca(self) -> Path:
        return self.root / "certs" / "some-other-ca.crt"

    def init(self) -> None:
        certs = self.root / "certs"
        certs.mkdir()
        ca_key, ca_cert = make_ca(certs, "deepref-test-ca")
        make_ca(certs, "some-other-ca")
        make_server_cert(certs, ca_key, ca_cert)
        shutil.chown(certs / "server.key", "postgres")
        done = as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                           "-A", "trust", "-E", "UTF8", "--no-sync")
        assert done.returncode == 0, done.stderr
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.root}'\n"
                f"ssl = on\nssl_cert_file = '{certs / 'server.crt'}'\n"
                f"ssl_key_file = '{certs / 'server.key'}'\n"
                "fsync = off\nmax_connections = 100\n"
                # A session whose client died (e.g. a SIGKILLed `flask db migrate` in a
                # long statement) ends within a second instead of at the statement's end
                # (PostgreSQL 14+; recommended in docs/deploy.md).
                "client_connection_check_interval = 1000\n"
            )
        (self.data / "pg_hba.conf").write_text(
            "local all all trust\n"
            "host all postgres 127.0.0.1/32 trust\n"
            f"hostssl all {APP_USER} 127.0.0.1/32 scram-sha-256\n"
        )
        self.start()
        with self.admin() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE ROLE {APP_USER} LOGIN PASSWORD %s", (self.password,))

    def start(self) -> None:
        done = as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l",
                           str(self.root / "server.log"), "-w", "-t", str(self.start_timeout),
                           "start", timeout=self.start_timeout + 30)
        assert done.returncode == 0, done.stdout + done.stderr

    def stop(self) -> None:
        """A fast shutdown: sessions are terminated, open transactions rolled back."""
        done = as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast",
                           "-w", "-t", "30", "stop")
        assert done.returncode == 0, done.stdout + done.stderr

    def discard(self) -> None:
        """Stop at once (whatever state the tests left it in) and delete everything."""
        if (self.data / "postmaster.pid").exists():
            as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                        "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def is_running(self) -> bool:
        return as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data),
                           "status").returncode == 0

    def admin(self, dbname: str = "postgres"):
        """A superuser connection (autocommit) for setup and checks."""
        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres",
                                dbname=dbname, sslmode="disable", connect_timeout=5)
        conn.autocommit = True
        return conn

    def query(self, sql: str, params=(), dbname: str = "postgres") -> list[tuple]:
        conn = self.admin(dbname)
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()

    def create_database(self) -> str:
        name = f"deepref_deploy_{uuid.uuid4().hex[:10]}"
        self.query(f'CREATE DATABASE "{name}" OWNER {APP_USER}')
        return name

    def drop_database(self, name: str) -> None:
        if self.is_running():
            self.query(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def app_connections(self, dbname: str) -> int:
        """Sessions of the app's role on `dbname` (what pool limits are about)."""
        return self.query("SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                          "AND usename = %s", (dbname, APP_USER))[0][0]

    def env(self, dbname: str, **extra: str) -> dict[str, str]:
        """The environment of a deepref process using `dbname` as the app's role."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/root"),
            "DATABASE_HOST": "127.0.0.1",
            "DATABASE_PORT": str(self.port),
            "DATABASE_NAME": dbname,
            "DATABASE_USER": APP_USER,
            "DATABASE_PASSWORD": self.password,
            "DATABASE_SSL": "true",
            "SECRET_KEY": secrets.token_urlsafe(32),
            "PROMPT_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        }
        env.update(extra)
        return env


def bench_load():
    """bench/load.py as a module: its Browser signs in and submits forms like a browser."""
    import importlib.util

    if "bench_load" not in sys.modules:
        spec = importlib.util.spec_from_file_location("bench_load", ROOT / "bench" / "load.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["bench_load"] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
    return sys.modules["bench_load"]


# gunicorn -----------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: dict
    body: str

    def json(self):
        return json.loads(self.body)


class Gunicorn:
    """`gunicorn -c gunicorn.conf.py APP` as a subprocess on a free loopback port."""

    def __init__(self, env: dict[str, str], log_path: Path, app: str = "deploy_app:build()"):
        self.port = free_port()
        self.env = {**env, "GUNICORN_BIND": f"127.0.0.1:{self.port}"}
        self.app = app
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self, wait: bool = True) -> "Gunicorn":
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"),
             "--pythonpath", f"{ROOT},{ROOT / 'tests'}", self.app],
            cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if wait:
            self.wait_until_serving()
        return self

    def wait_until_serving(self, timeout: float = 30) -> None:
        """Until /healthz answers and every worker has warmed its pool."""
        deadline = time.monotonic() + timeout
        workers = int(self.env.get("GUNICORN_WORKERS", "2"))
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"gunicorn exited:\n{self.log()}"
            try:
                if self.get("/healthz").status == 200 and len(self.worker_pids()) == workers \
                        and self.log().count("database connection(s) warm") >= workers:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"gunicorn did not start:\n{self.log()}")

    def request(self, method: str, path: str, headers: dict | None = None,
                body: str | None = None, timeout: float = 30) -> Response:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body,
                         headers={"Connection": "close", **(headers or {})})
            response = conn.getresponse()
            return Response(response.status, dict(response.getheaders()),
                            response.read().decode())
        finally:
            conn.close()

    def get(self, path: str, **kwargs) -> Response:
        return self.request("GET", path, **kwargs)

    def get_json(self, path: str, **kwargs) -> Response:
        return self.request("GET", path, headers={"Accept": "application/json"}, **kwargs)

    def post_json(self, path: str, **kwargs) -> Response:
        return self.request("POST", path, headers={"Accept": "application/json"}, **kwargs)

    def worker_pids(self) -> set[int]:
        """The master's live children (its workers)."""
        pids = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid and fields[0] != "Z":
                pids.add(int(stat.parent.name))
        return pids

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if getattr(self, "_log", None):
            self._log.close()
