#!/usr/bin/env python3
"""Server connections at peak during a gunicorn reload under load.

    python bench/connections.py --server-url postgresql://postgres@127.0.0.1:5432/postgres \
        [--workers 2] [--threads 8] [--pool-max 16] [--pool-min 16] [--hold 1.0] [--runs 3]

Per run: a new database on that server (dropped afterwards), migrated by a real gunicorn
(gunicorn.conf.py, the tests' deploy_app for its /test/slow route); workers x threads
clients each loop on a request that holds a database connection for --hold seconds;
after 2 x clients answers, SIGHUP; once every old worker is gone and the new ones have
answered as many again, the load stops. A sampler counts the app's sessions on its
database in pg_stat_activity all along. Reports the median peak (and each run's) against
the bound GUNICORN_WORKERS x DATABASE_POOL_MAX, and any answer that was not a 200.

The URL's role must be able to CREATE DATABASE; the app connects with the same role.
Leave room on the server: a run may need up to the bound (plus the sampler).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from deploy_support import Gunicorn  # noqa: E402  (tests/ is on the path only now)


def run_once(server_url: str, args) -> tuple[int, list]:
    name = f"deepref_bench_conn_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(server_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DATABASE_URL": url,
           "DATABASE_MIGRATIONS_RUN": "true", "SECRET_KEY": secrets.token_urlsafe(32),
           "PROMPT_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
           "GUNICORN_WORKERS": str(args.workers), "GUNICORN_THREADS": str(args.threads),
           "DATABASE_POOL_MAX": str(args.pool_max), "DATABASE_POOL_MIN": str(args.pool_min),
           "DATABASE_POOL_TIMEOUT": "60"}
    log = Path(tempfile.mkstemp(prefix="bench-connections-", suffix=".log")[1])
    server = Gunicorn(env, log)
    try:
        server.start()
        return load_and_reload(server, admin, name, args)
    finally:
        server.stop()
        log.unlink(missing_ok=True)
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def load_and_reload(server, admin, name: str, args) -> tuple[int, list]:
    clients = args.workers * args.threads
    stop, answered, bad, peak = threading.Event(), [0], [], [0]
    lock = threading.Lock()

    def sample():
        with admin.cursor() as cur:
            while not stop.is_set():
                cur.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                            "AND application_name LIKE 'deepref%%'", (name,))
                peak[0] = max(peak[0], cur.fetchone()[0])

    def client():
        while not stop.is_set():
            try:
                status = server.get_json(f"/test/slow?seconds={args.hold}", timeout=120).status
            except OSError as exc:
                status = type(exc).__name__
            with lock:
                answered[0] += 1
                if status != 200:
                    bad.append(status)

    threads = [threading.Thread(target=sample)] + [
        threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    try:
        wait(lambda: answered[0] >= 2 * clients)
        old = server.worker_pids()
        os.kill(server.process.pid, signal.SIGHUP)
        wait(lambda: not (server.worker_pids() & old)
             and len(server.worker_pids()) == args.workers)
        done = answered[0]
        wait(lambda: answered[0] >= done + 2 * clients)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    return peak[0], bad


def wait(condition, limit: float = 600) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("bench/connections.py: gave up waiting (see the gunicorn log)")
        time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server-url", required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--pool-max", type=int, default=16)
    parser.add_argument("--pool-min", type=int, default=16)
    parser.add_argument("--hold", type=float, default=1.0,
                        help="seconds each request holds its connection")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    bound = args.workers * args.pool_max
    peaks, bad = [], []
    for number in range(1, args.runs + 1):
        with contextlib.suppress(KeyboardInterrupt):
            peak, failed = run_once(args.server_url, args)
            peaks.append(peak)
            bad += failed
            print(f"run {number}: {peak} connections at peak", flush=True)
    print(f"median peak during a reload under load: {statistics.median(peaks):g} connections "
          f"(runs: {peaks}); bound GUNICORN_WORKERS x DATABASE_POOL_MAX = {bound}; "
          f"answers other than 200: {len(bad)}")


if __name__ == "__main__":
    main()
