#!/usr/bin/env python3
"""SQLite writers: concurrent console editors on the embedded default, under gunicorn.

    python bench/sqlite_writers.py                      # 8 editors for 30 s
    python bench/sqlite_writers.py --saves 25           # a fixed amount of work instead

Makes a new SQLite file in a temp folder (migrated, one admin, one reference per
editor), starts `gunicorn -c gunicorn.conf.py wsgi:app` (2 workers x 4 threads by
default) on it, signs in --editors sessions through /login, and each saves its own
reference's edit form over and over (a new `relationship` each time): every save reads
the row's version, then writes the row and its audit row in one transaction. Then it
stops gunicorn and counts:

- refusals: saves answered with the form again (e.g. "the database is busy");
- lost writes: acknowledged saves (redirected) whose value or audit row is missing.

Exits 1 on any refusal, error or lost write.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

import click
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent
ADMIN_EMAIL = "bench-writers@deepref.example.com"
LIST = "/admin/reference/"


def _load_bench():
    """bench/load.py: its Browser, form parser and gunicorn helpers."""
    if "bench_load" not in sys.modules:
        spec = importlib.util.spec_from_file_location("bench_load", ROOT / "load.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["bench_load"] = module
        spec.loader.exec_module(module)
    return sys.modules["bench_load"]


def prepare(env: dict[str, str], editors: int, password: str) -> list[str]:
    """Migrate the file, set the admin, make one reference per editor; their ids."""
    from deepref import create_app
    from deepref import migrate as runner
    from deepref.auth.admins import set_admin
    from deepref.db import database
    from deepref.models import Reference, User

    app = create_app({"ENV": env})
    with app.app_context():
        db = database.obj
        runner.migrate(db, echo=lambda line: None)
        admin, _ = set_admin(ADMIN_EMAIL, password)
        seeker = User.create(email="seeker@bench.example.com")
        ids = [str(Reference.create(seeker=seeker, referrer_name=f"Referrer {n}",
                                    referrer_email=f"r{n}@bench.example.com",
                                    company="Acme", role="Engineer", relationship="v0").id)
               for n in range(editors)]
        db.shut()
    return ids


class Tally:
    """What the editors saw, shared between their threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acknowledged: dict[str, list[str]] = {}
        self.refusals: Counter = Counter()
        self.errors: Counter = Counter()
        self.seconds: list[float] = []


def edit_loop(port: int, password: str, reference_id: str, tally: Tally,
              saves: int | None, deadline_box: list, ready: threading.Barrier) -> None:
    """Sign in, then save this reference's form `saves` times (or until the deadline)."""
    load = _load_bench()
    browser = load.Browser(port)
    browser.sign_in(ADMIN_EMAIL, password)
    ready.wait()
    path = f"{LIST}edit/?{urlencode({'id': reference_id, 'url': LIST})}"
    done = 0
    acknowledged = tally.acknowledged.setdefault(reference_id, [])
    while (done < saves) if saves is not None else (time.monotonic() < deadline_box[0]):
        done += 1
        value = f"v{done}-{secrets.token_hex(3)}"
        try:
            status, _, page = browser.request("GET", path)
            form = next(f for f in load.forms_of(page)
                        if "admin-form" in f["attrs"].get("class", ""))
            fields = [(k, value if k == "relationship" else v) for k, v in form["fields"]]
            started = time.monotonic()
            status, _, page = browser.request("POST", path, fields)
            seconds = time.monotonic() - started
        except Exception as exc:  # noqa: BLE001 - counted, the run goes on
            with tally.lock:
                tally.errors[type(exc).__name__] += 1
            browser.close()
            continue
        with tally.lock:
            tally.seconds.append(seconds)
            if status == 302:
                acknowledged.append(value)
            elif status >= 500:
                tally.errors[f"HTTP {status}"] += 1
            else:
                tally.refusals[load._alert(page)] += 1
    browser.close()


def lost_writes(env: dict[str, str], acknowledged: dict[str, list[str]]) -> int:
    """Acknowledged saves missing: a reference whose value is not its last save, or
    fewer audit rows than saves."""
    from deepref import create_app
    from deepref.db import database
    from deepref.models import AuditLog, Reference

    app = create_app({"ENV": env})
    lost = 0
    with app.app_context():
        for reference_id, values in acknowledged.items():
            row = Reference.get_by_id(reference_id)
            if values and row.relationship != values[-1]:
                lost += 1
            audited = AuditLog.select().where(AuditLog.row_id == reference_id,
                                              AuditLog.action == "update").count()
            lost += max(len(values) - audited, 0)
        database.obj.shut()
    return lost


def run(editors: int, workers: int, threads: int, duration: float, saves: int | None,
        folder: Path) -> dict:
    """One benchmark run in `folder`; the report as a dict."""
    load = _load_bench()
    password = secrets.token_urlsafe(18)
    port = load.free_port()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/"),
           "DATABASE_URL": f"sqlite:///{folder / 'deepref.sqlite3'}",
           "SECRET_KEY": secrets.token_urlsafe(32),
           "PROMPT_ENCRYPTION_KEYS": Fernet.generate_key().decode(), "GUNICORN_BIND": f"127.0.0.1:{port}",
           "GUNICORN_WORKERS": str(workers), "GUNICORN_THREADS": str(threads)}
    ids = prepare(env, editors, password)
    process = load.start_gunicorn(env, port, folder / "gunicorn.log")
    tally = Tally()
    deadline_box = [0.0]
    ready = threading.Barrier(editors, action=lambda: deadline_box.__setitem__(
        0, time.monotonic() + duration))
    try:
        runners = [threading.Thread(target=edit_loop, daemon=True, args=(
            port, password, ids[n], tally, saves, deadline_box, ready)) for n in range(editors)]
        for runner in runners:
            runner.start()
        for runner in runners:
            runner.join()
        elapsed = max(time.monotonic() - (deadline_box[0] - duration), 0.001)
    finally:
        load.stop(process)
    acknowledged = sum(len(v) for v in tally.acknowledged.values())
    seconds = sorted(tally.seconds) or [0.0]
    return {
        "editors": editors, "workers": workers, "threads": threads,
        "saves_tried": len(tally.seconds) + sum(tally.errors.values()),
        "saves_acknowledged": acknowledged,
        "refusals": sum(tally.refusals.values()), "refusal_messages": dict(tally.refusals),
        "errors": dict(tally.errors), "lost_writes": lost_writes(env, tally.acknowledged),
        "saves_per_second": round(acknowledged / elapsed, 1),
        "save_ms_median": round(statistics.median(seconds) * 1000, 1),
        "save_ms_p95": round(seconds[max(math.ceil(0.95 * len(seconds)) - 1, 0)] * 1000, 1),
        "busy_log_lines": (folder / "gunicorn.log").read_text().count("database is locked"),
    }


@click.command()
@click.option("--editors", default=8, show_default=True, help="Concurrent signed-in editors.")
@click.option("--workers", default=2, show_default=True, help="gunicorn workers.")
@click.option("--threads", default=4, show_default=True, help="Threads per worker.")
@click.option("--duration", default=30.0, show_default=True, help="Seconds of saving.")
@click.option("--saves", type=click.IntRange(1), help="Saves per editor instead of --duration.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write the report.")
def main(editors, workers, threads, duration, saves, json_path):
    """Concurrent editors on the SQLite default under gunicorn: refusals, lost writes."""
    with tempfile.TemporaryDirectory(prefix="deepref-writers-") as folder:
        report = run(editors, workers, threads, duration, saves, Path(folder))
    for key, value in report.items():
        click.echo(f"{key}: {value}")
    if json_path:
        Path(json_path).write_text(json.dumps(report, indent=2) + "\n")
    if report["refusals"] or report["errors"] or report["lost_writes"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
