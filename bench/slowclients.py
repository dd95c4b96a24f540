#!/usr/bin/env python3
"""Slow clients: probe latency while slowloris, idle and slow-body clients attack,
against gunicorn alone and behind the shipped nginx (deploy/nginx.conf).

    python bench/slowclients.py                       # 16 of each, 20 s per attack
    python bench/slowclients.py --connections 32 --duration 30

Makes a migrated SQLite database in a temp folder, starts `gunicorn -c gunicorn.conf.py
wsgi:app` (2 workers x 4 threads by default) and nginx with deploy/nginx.conf (its
"site:" lines rewritten for the temp folder, random ports and a certificate made here),
then for each attack and each front (direct, nginx): starts --connections attackers and
probes GET /readyz every --interval seconds for --duration seconds. Reports each probe
series' median / p95 / max latency and how many probes failed (no answer within
--probe-timeout, or not 200). Needs nginx (scripts/provision-test installs it).

The attackers:
- slowloris: a request whose header lines arrive one every second, never finished;
- idle: a TCP connection that sends nothing;
- slow-body: a POST announcing 100 kB, whose body arrives 10 bytes a second.
Each reconnects when the server closes it, so the pressure lasts the whole attack.
tests/test_slow_clients.py uses these functions with a fixed number of probes.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NGINX = "/usr/sbin/nginx"
ATTACKS = ("slowloris", "idle", "slow-body")
HOST = "refs.example.com"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Where to connect ------------------------------------------------------------------------


@dataclass
class Front:
    """An address to attack and probe: gunicorn itself, or nginx over TLS."""

    name: str
    port: int
    tls: ssl.SSLContext | None = None

    def connect(self, timeout: float) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_hostname=HOST)
        return sock

    def probe(self, path: str = "/readyz", timeout: float = 30) -> tuple[int, float]:
        """(status, seconds) of one GET on a new connection."""
        started = time.monotonic()
        if self.tls is None:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        else:
            conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                               context=self.tls)
        try:
            conn.request("GET", path, headers={"Host": HOST, "Connection": "close"})
            response = conn.getresponse()
            response.read()
            return response.status, time.monotonic() - started
        finally:
            conn.close()


# Attackers -------------------------------------------------------------------------------


def _slowloris(sock: socket.socket, stop: threading.Event) -> None:
    sock.sendall(f"GET /readyz HTTP/1.1\r\nHost: {HOST}\r\n".encode())
    n = 0
    while not stop.wait(1.0):
        n += 1
        sock.sendall(f"X-Slow-{n}: {n}\r\n".encode())


def _idle(sock: socket.socket, stop: threading.Event) -> None:
    sock.settimeout(1.0)
    while not stop.is_set():
        try:
            if sock.recv(1) == b"":
                return  # the server closed it
        except (TimeoutError, socket.timeout):
            continue


def _slow_body(sock: socket.socket, stop: threading.Event) -> None:
    sock.sendall(f"POST /login HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: "
                 "application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n".encode())
    while not stop.wait(1.0):
        sock.sendall(b"email=aaaa")


_ATTACK = {"slowloris": _slowloris, "idle": _idle, "slow-body": _slow_body}


class Attack:
    """`count` attackers of one kind against `front`, each reconnecting when closed."""

    def __init__(self, kind: str, front: Front, count: int):
        self.kind, self.front, self.count = kind, front, count
        self.stop = threading.Event()
        self.connected = threading.Semaphore(0)
        self.connections = 0
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(count)]

    def _run(self) -> None:
        first = True
        while not self.stop.is_set():
            try:
                # The idle attacker connects at TCP level only: no TLS handshake either.
                front = Front(self.front.name, self.front.port,
                              None if self.kind == "idle" else self.front.tls)
                sock = front.connect(timeout=10)
            except OSError:
                if self.stop.wait(0.2):
                    return
                continue
            with self.lock:
                self.connections += 1
            if first:
                self.connected.release()
                first = False
            with contextlib.suppress(OSError), contextlib.closing(sock):
                _ATTACK[self.kind](sock, self.stop)
            self.stop.wait(0.1)

    def __enter__(self) -> "Attack":
        for thread in self.threads:
            thread.start()
        for _ in range(self.count):  # every attacker holds a connection
            self.connected.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=15)


# Servers -----------------------------------------------------------------------------------


def make_certificate(folder: Path) -> tuple[Path, Path, ssl.SSLContext]:
    """A CA and a certificate for HOST and 127.0.0.1: (cert, key, a client context)."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName(HOST), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    context = ssl.create_default_context(cafile=str(cert_path))
    return cert_path, key_path, context


def nginx_config(shipped: str, prefix: Path, https_port: int, http_port: int,
                 upstream_port: int, cert: Path, key: Path) -> str:
    """deploy/nginx.conf with its "site:" lines rewritten; every one must be found."""
    replacements = [
        (r"pid \S+;", f"pid {prefix}/nginx.pid;"),
        (r"error_log \S+ warn;", f"error_log {prefix}/error.log warn;"),
        (r"access_log \S+ deepref;", f"access_log {prefix}/access.log deepref;"),
        (r"client_body_temp_path \S+;", f"client_body_temp_path {prefix}/body;"),
        (r"proxy_temp_path \S+;", f"proxy_temp_path {prefix}/proxy;"),
        (r"server 127\.0\.0\.1:8000;", f"server 127.0.0.1:{upstream_port};"),
        (r"listen 80;", f"listen 127.0.0.1:{http_port};"),
        (r"listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;"),
        (r"ssl_certificate \S+;", f"ssl_certificate {cert};"),
        (r"ssl_certificate_key \S+;", f"ssl_certificate_key {key};"),
    ]
    if os.geteuid() != 0:  # only root can switch user; nginx would only warn
        replacements.append((r"user www-data;", ""))
    text = shipped
    for pattern, value in replacements:
        text, count = re.subn(pattern, value, text)
        assert count == 1, f"deploy/nginx.conf: {pattern!r} found {count} times"
    return text


class Servers:
    """gunicorn (SQLite, migrated) and nginx in front of it, in `folder`."""

    def __init__(self, folder: Path, workers: int = 2, threads: int = 4, **env: str):
        self.folder = folder
        self.gunicorn_port, self.https_port, self.http_port = (free_port() for _ in range(3))
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                    "HOME": os.environ.get("HOME", "/"),
                    "DATABASE_URL": f"sqlite:///{folder / 'deepref.sqlite3'}",
                    "SECRET_KEY": secrets.token_urlsafe(32),
                    "PROMPT_ENCRYPTION_KEYS": _fernet_key(),
                    "DATABASE_MIGRATIONS_RUN": "true", "PROXY_FIX_HOPS": "1",
                    "GUNICORN_BIND": f"127.0.0.1:{self.gunicorn_port}",
                    "GUNICORN_WORKERS": str(workers), "GUNICORN_THREADS": str(threads),
                    **env}
        self.processes: list[subprocess.Popen] = []
        self.log_files: list = []
        self.tls: ssl.SSLContext | None = None

    @property
    def direct(self) -> Front:
        return Front("direct", self.gunicorn_port)

    @property
    def nginx(self) -> Front:
        return Front("nginx", self.https_port, self.tls)

    def start(self) -> "Servers":
        try:
            self._start_gunicorn()
            self._start_nginx()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_gunicorn(self) -> None:
        log = open(self.folder / "gunicorn.log", "w")
        self.log_files.append(log)
        self.processes.append(subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"),
             "wsgi:app"], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True))
        self._wait(self.direct, "gunicorn.log")

    def _start_nginx(self) -> None:
        prefix = self.folder / "nginx"
        prefix.mkdir()
        for folder in (self.folder, prefix):
            folder.chmod(0o755)  # nginx's workers (www-data) create temp files under it
        cert, key, self.tls = make_certificate(prefix)
        conf = prefix / "nginx.conf"
        conf.write_text(nginx_config((ROOT / "deploy" / "nginx.conf").read_text(), prefix,
                                     self.https_port, self.http_port, self.gunicorn_port,
                                     cert, key))
        log = open(prefix / "stderr.log", "w")
        self.log_files.append(log)
        self.processes.append(subprocess.Popen(
            [NGINX, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        self._wait(self.nginx, "nginx/stderr.log")

    def _wait(self, front: Front, log: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self.processes):
                raise RuntimeError(f"a server exited:\n{self.log(log)}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                if front.probe(timeout=5)[0] == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"{front.name} did not answer:\n{self.log(log)}")

    def log(self, name: str) -> str:
        path = self.folder / name
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        for log in self.log_files:
            log.close()


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


# The benchmark ---------------------------------------------------------------------------


def probe_series(front: Front, duration: float, interval: float, timeout: float) -> dict:
    """Probe every `interval` s for `duration` s: how many were answered 200, how fast."""
    seconds, failed = [], 0
    deadline = time.monotonic() + duration
    while time.monotonic() < deadline:
        try:
            status, took = front.probe(timeout=timeout)
        except (OSError, http.client.HTTPException):
            status, took = None, None
        if status == 200:
            seconds.append(took)
        else:
            failed += 1
        time.sleep(interval)
    ordered = sorted(seconds) or [float("nan")]
    return {"probes": len(seconds) + failed, "answered": len(seconds), "failed": failed,
            "median_ms": round(statistics.median(ordered) * 1000, 1),
            "p95_ms": round(ordered[max(math.ceil(0.95 * len(ordered)) - 1, 0)] * 1000, 1),
            "max_ms": round(ordered[-1] * 1000, 1)}


def main() -> None:
    import click

    @click.command()
    @click.option("--connections", default=16, show_default=True, help="Attackers per attack.")
    @click.option("--duration", default=20.0, show_default=True, help="Seconds per attack.")
    @click.option("--interval", default=0.25, show_default=True, help="Seconds between probes.")
    @click.option("--probe-timeout", default=10.0, show_default=True,
                  help="A probe unanswered this long counts as failed.")
    @click.option("--workers", default=2, show_default=True)
    @click.option("--threads", default=4, show_default=True)
    @click.option("--json", "json_path", type=click.Path(dir_okay=False))
    def run(connections, duration, interval, probe_timeout, workers, threads, json_path):
        """Probe latency under slow clients, gunicorn alone and behind nginx."""
        if not shutil.which(NGINX):
            raise click.ClickException(f"{NGINX} is missing: run scripts/provision-test")
        report = {"connections": connections, "duration_s": duration, "workers": workers,
                  "threads": threads, "load_average": list(os.getloadavg()), "runs": []}
        with tempfile.TemporaryDirectory(prefix="deepref-slow-") as folder:
            servers = Servers(Path(folder), workers, threads).start()
            try:
                for front in (servers.nginx, servers.direct):
                    row = {"front": front.name, "attack": "none",
                           **probe_series(front, min(duration, 5), interval, probe_timeout)}
                    report["runs"].append(row)
                    click.echo(json.dumps(row))
                    for kind in ATTACKS:
                        with Attack(kind, front, connections) as attack:
                            row = {"front": front.name, "attack": kind,
                                   **probe_series(front, duration, interval, probe_timeout)}
                        row["attacker_connections"] = attack.connections
                        report["runs"].append(row)
                        click.echo(json.dumps(row))
                        # Let gunicorn's threads come free before the next attack.
                        servers._wait(servers.direct, "gunicorn.log")
            finally:
                servers.stop()
        if json_path:
            Path(json_path).write_text(json.dumps(report, indent=2) + "\n")

    run()


if __name__ == "__main__":
    main()
