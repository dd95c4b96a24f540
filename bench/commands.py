"""How fast `flask db status`, `doctor` and `check` start and answer on an up-to-date
database: the median wall time of N real subprocesses, on a migrated SQLite file and on a
migrated PostgreSQL database (created for the run and dropped afterwards).

    .venv/bin/python bench/commands.py                     # this checkout
    .venv/bin/python bench/commands.py --source /tmp/old   # another checkout of deepref
                                                           # (e.g. `git archive main`), same venv

Run by hand, never by `make test`: figures go in notes (bench/README.md).
"""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
COMMANDS = (("status",), ("doctor",), ("check",))


# `flask` with deepref imported from the first sys.path entry: the venv's editable install
# of this checkout (a finder on sys.meta_path) would otherwise win over PYTHONPATH.
LAUNCH = ("import sys; sys.path.insert(0, sys.argv.pop(1)); sys.meta_path[:] = [f for f in "
          "sys.meta_path if '__editable__' not in getattr(f, '__module__', '')]; "
          "sys.argv[0] = 'flask'; from flask.cli import main; main()")


def flask(source: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """`flask --app deepref ...` with deepref imported from `source`."""
    return subprocess.run([sys.executable, "-c", LAUNCH, str(source), "--app", "deepref", *args],
                          cwd=source, env=env, capture_output=True, text=True)


def environment(source: Path, url: str) -> dict[str, str]:
    keys = {"SECRET_KEY": secrets.token_urlsafe(32),
            "PROMPT_ENCRYPTION_KEYS": Fernet.generate_key().decode()}
    return {"PATH": os.environ.get("PATH", ""), "DATABASE_URL": url, **keys}


def median_seconds(source: Path, env: dict[str, str], args: tuple[str, ...], runs: int):
    """The median (wall, CPU) seconds of `runs` runs, or None when the command does not
    exist there. CPU time (user + system) says less about a loaded machine's queue."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        result = flask(source, env, "db", *args)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if "No such command" in result.stderr:
            return None
    return statistics.median(walls), statistics.median(cpus)


def bench(source: Path, backend: str, url: str, runs: int) -> dict:
    env = environment(source, url)
    migrated = flask(source, env, "db", "migrate")
    if migrated.returncode != 0:
        sys.exit(f"{backend}: `flask db migrate` failed: {migrated.stderr.strip()}")
    for args in COMMANDS:  # once unmeasured: byte-code caches written, files in the page cache
        flask(source, env, "db", *args)
    return {" ".join(args): median_seconds(source, env, args, runs) for args in COMMANDS}


def postgres_database():
    name = f"deepref_bench_commands_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(POSTGRES_URL)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    return admin, name, urlunsplit(urlsplit(POSTGRES_URL)._replace(path=f"/{name}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=ROOT, help="a deepref checkout")
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    source = options.source.resolve()
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        results["sqlite"] = bench(source, "sqlite", f"sqlite:///{folder}/bench.sqlite3",
                                  options.runs)
    admin, name, url = postgres_database()
    try:
        results["postgres"] = bench(source, "postgres", url, options.runs)
    finally:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    print(f"deepref from {source}, median of {options.runs} runs:")
    for backend, figures in results.items():
        for command, seconds in figures.items():
            shown = "no such command" if seconds is None else (
                f"{seconds[0]:.2f} s wall, {seconds[1]:.2f} s CPU")
            print(f"  {backend:8} flask db {command:7} {shown}")


if __name__ == "__main__":
    main()
