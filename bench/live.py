#!/usr/bin/env python3
"""Live-traffic benchmark: what does a migration do to reads and writes of 1M references?

    python bench/live.py --database-url postgresql://user@host/deepref_bench_live \
        [--scenario index ...] [--runs 3] [--writer-interval-ms 20] [--json FILE]

Against a database filled by bench/generate.py, each scenario is a real revision
(bench/live_scenarios/NAME.py) applied by the real `flask db migrate`, in a subprocess,
from a temp copy of migrations/ with the scenario added as the next revision. Meanwhile
a writer updates one random reference by id every --writer-interval-ms and a reader
reads one (each on its own autocommit connection, application_name bench-writer /
bench-reader), and both time every statement. After each run `flask db rollback` undoes
the scenario, `flask db status` on the repository's own migrations must exit 0, and
"references" is vacuumed (VACUUM FULL when over 10% of its rows are dead, e.g. after a
scenario that updated every row; autovacuum may be off) and a CHECKPOINT taken, so every
run starts from the same compact table.

A scenario template may define SETUP and TEARDOWN (SQL run before its first run and after
its last, untimed) and HOLD_READ_SECONDS (a third connection, bench-holder, keeps a read
transaction on "references" open that long, from just before the migration).

Reports, per scenario, the medians over --runs of: the migration's wall time; for the
writer and the reader, the longest single statement, the longest gap between completed
statements, and over the statements due during the migration (one every interval,
counting those a stuck statement held back: see `measure`) p50 and p99 latency and how
many waited over 200 ms. Writes to the database: `updated_at` of random references.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import click
import psycopg2
import psycopg2.errors

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = Path(__file__).resolve().parent / "live_scenarios"
LAUNCHER = Path(__file__).resolve().parent / "_flask.py"
MIGRATIONS = ROOT / "migrations"
ORDER = ("baseline", "index", "index_safe", "not_null_default", "not_null_default_sql",
         "not_null_default_safe", "foreign_key", "foreign_key_safe", "backfill", "backfill_safe",
         "blocked_alter")
SLOW = 0.200  # a statement slower than this counts as stalled
LEAD_IN = 1.0  # seconds of traffic before the migration starts, and after it ends
SAMPLE = 5000  # reference ids picked up front
WRITE = 'UPDATE "references" SET updated_at = now() WHERE id = %s'
READ = 'SELECT * FROM "references" WHERE id = %s'
RECORDED = re.compile(r"^(\d{3})_bench_(\w+)$")
MEASURES = ("max_ms", "gap_ms", "p50_ms", "p99_ms", "over_200ms")


class BenchError(click.ClickException):
    """A run failed; the scenario was rolled back (exit 1, one line)."""


# Scenarios ----------------------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    path: Path
    summary: str
    setup: list[str] = field(default_factory=list)
    teardown: list[str] = field(default_factory=list)
    hold_seconds: float = 0.0

    def revision(self, number: int) -> str:
        return f"{number:03d}_bench_{self.name}"


def scenario_names() -> list[str]:
    found = sorted(p.stem for p in SCENARIOS.glob("*.py") if not p.stem.startswith("_"))
    return [n for n in ORDER if n in found] + [n for n in found if n not in ORDER]


def load_scenario(name: str) -> Scenario:
    path = SCENARIOS / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"live_scenario_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return Scenario(name, path, (module.__doc__ or name).strip().splitlines()[0],
                    list(getattr(module, "SETUP", [])), list(getattr(module, "TEARDOWN", [])),
                    float(getattr(module, "HOLD_READ_SECONDS", 0)))


def next_number() -> int:
    numbers = [int(p.name[:3]) for p in MIGRATIONS.glob("[0-9][0-9][0-9]_*.py")]
    return max(numbers, default=0) + 1


def revisions_folder(scenario: Scenario, revision: str) -> Path:
    """A temp copy of migrations/ with the scenario added as `revision`."""
    folder = Path(tempfile.mkdtemp(prefix="deepref-live-"))
    for path in MIGRATIONS.glob("*.py"):
        shutil.copy2(path, folder / path.name)
    shutil.copy2(scenario.path, folder / f"{revision}.py")
    return folder


# Traffic ------------------------------------------------------------------------------


class Traffic(threading.Thread):
    """One connection running `sql` on a random id every `interval` s, timing each."""

    def __init__(self, connect, name: str, sql: str, ids: list[str], interval: float):
        super().__init__(name=name, daemon=True)
        self.connect, self.sql, self.ids, self.interval = connect, sql, ids, interval
        self.ops: list[tuple[float, float, bool]] = []  # (start, end, succeeded)
        self.stopping = threading.Event()
        self.started_ok = threading.Event()
        self.conn = None
        self.failure: str | None = None

    def run(self):
        rng = random.Random(self.name)
        try:
            self.conn = self.connect(self.name)
            self.conn.autocommit = True
            cur = self.conn.cursor()
            cur.execute("SET statement_timeout = '1h'")  # a stall is what we measure
            due = time.monotonic()
            while not self.stopping.is_set():
                if self.stopping.wait(max(0.0, due - time.monotonic())):
                    break
                start = time.monotonic()
                try:
                    cur.execute(self.sql, (rng.choice(self.ids),))
                    if cur.description:
                        cur.fetchall()
                    ok = True
                except psycopg2.Error:
                    if self.conn.closed:
                        raise
                    ok = False
                end = time.monotonic()
                self.ops.append((start, end, ok))
                self.started_ok.set()
                due = max(due + self.interval, end)  # a stalled statement skips its ticks
        except psycopg2.Error as exc:
            if not self.stopping.is_set():
                self.failure = first_line(exc)
        finally:
            self.started_ok.set()
            if self.conn is not None:
                self.conn.close()

    def stop(self, abort: bool = False) -> None:
        self.stopping.set()
        if abort and self.conn is not None and not self.conn.closed:
            try:
                self.conn.cancel()
            except psycopg2.Error:
                pass
        self.join(timeout=30)


class Holder(threading.Thread):
    """A read transaction on "references" kept open for `seconds` (then rolled back)."""

    def __init__(self, connect, seconds: float):
        super().__init__(name="bench-holder", daemon=True)
        self.connect, self.seconds = connect, seconds
        self.holding = threading.Event()
        self.release = threading.Event()
        self.failure: str | None = None

    def run(self):
        try:
            conn = self.connect(self.name)
            try:
                conn.cursor().execute('SELECT id FROM "references" LIMIT 1')
                self.holding.set()
                self.release.wait(self.seconds)
                conn.rollback()
            finally:
                conn.close()
        except psycopg2.Error as exc:
            self.failure = first_line(exc)
        finally:
            self.holding.set()

    def stop(self) -> None:
        self.release.set()
        self.join(timeout=30)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(ops: list[tuple[float, float, bool]], begin: float, end: float,
            interval: float) -> dict:
    """Latencies of the statements due during [begin, end], and the longest gap there.

    The writer and reader are one connection each: while a statement is stuck, the ones
    due every `interval` after it are not sent (coordinated omission). Live traffic does
    not wait its turn, so each skipped tick counts as a statement sent on time that
    would have finished when the stuck one did (`end - tick`), as HdrHistogram corrects.
    The JSON keeps the figures of the statements actually sent too (`sent_*`).
    """
    during = [(s, e, ok) for s, e, ok in ops if s <= end and e >= begin]
    sent = [e - s for s, e, _ in during]
    due = [e - tick for s, e, _ in during
           for tick in (s + k * interval for k in range(int((e - s) / interval) + 1))
           if tick <= end]
    ends = sorted(e for _, e, _ in ops)
    gaps = [b - a for a, b in zip(ends, ends[1:]) if b >= begin and a <= end]
    ms = lambda seconds: round(seconds * 1000, 1)  # noqa: E731
    figures = lambda waits, prefix="": {  # noqa: E731
        f"{prefix}p50_ms": ms(percentile(waits, 0.50)) if waits else None,
        f"{prefix}p99_ms": ms(percentile(waits, 0.99)) if waits else None,
        f"{prefix}over_200ms": sum(1 for w in waits if w > SLOW),
    }
    return {
        "statements": len(during), "errors": sum(1 for *_, ok in during if not ok),
        "max_ms": ms(max(sent)) if sent else None, "gap_ms": ms(max(gaps)) if gaps else None,
        **figures(due), "due": len(due), **figures(sent, "sent_"),
    }


# The runs -----------------------------------------------------------------------------


@dataclass
class Bench:
    url: str
    where: str
    env: dict[str, str]
    interval: float
    ids: list[str] = field(default_factory=list)

    def connect(self, application_name: str = "bench-live"):
        return psycopg2.connect(self.url, application_name=application_name, connect_timeout=5)

    def sql(self, statement: str, params=()) -> list[tuple]:
        conn = self.connect()
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(statement, params)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()

    def flask(self, folder: Path, *args: str, check: bool = True) -> tuple[int, str]:
        """Run `flask ARGS` on the app reading revisions from `folder`: (exit code, output)."""
        process = subprocess.Popen(
            [sys.executable, str(LAUNCHER), str(folder), *args], cwd=folder, env=self.env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            output, _ = process.communicate()
        except BaseException:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            raise
        if check and process.returncode:
            last = (output.strip().splitlines() or ["no output"])[-1]
            raise BenchError(f"`flask {' '.join(args)}` exited {process.returncode}: {last}")
        return process.returncode, output

    def recorded_bench_revisions(self) -> list[str]:
        rows = self.sql("SELECT name FROM migratehistory WHERE name ~ '^[0-9]{3}_bench_' "
                        "ORDER BY id")
        return [name for (name,) in rows]

    def tidy(self) -> str:
        """Vacuum "references" (FULL if over 10% of its rows are dead), then CHECKPOINT."""
        began = time.monotonic()
        live, dead = self.sql("SELECT n_live_tup, n_dead_tup FROM pg_stat_user_tables "
                              "WHERE relid = '\"references\"'::regclass")[0]
        full = dead > 0.1 * max(live, 1)
        self.sql(f'VACUUM ({"FULL, " if full else ""}ANALYZE) "references"')
        try:
            self.sql("CHECKPOINT")
        except psycopg2.errors.InsufficientPrivilege:
            pass
        return f"{'vacuum full' if full else 'vacuum'} {time.monotonic() - began:.1f} s"

    def verify_clean(self) -> None:
        code, output = self.flask(MIGRATIONS, "db", "status", check=False)
        if code:
            raise BenchError(f"`flask db status` exited {code} after the rollback: "
                             f"{(output.strip().splitlines() or [''])[-1]}")

    def undo_leftovers(self) -> list[str]:
        """Roll back bench revisions an interrupted run left applied, and run every TEARDOWN."""
        undone = []
        for name in reversed(self.recorded_bench_revisions()):
            match = RECORDED.match(name)
            if not match or match.group(2) not in scenario_names():
                raise BenchError(f"{self.where} has a bench revision {name} this checkout "
                                 "cannot roll back")
            folder = revisions_folder(load_scenario(match.group(2)), name)
            try:
                self.flask(folder, "db", "rollback")
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            undone.append(name)
        for name in scenario_names():  # idempotent: a column SETUP left, for instance
            for statement in load_scenario(name).teardown:
                self.sql(statement)
        return undone


def run_once(bench: Bench, scenario: Scenario, revision: str) -> dict:
    """Apply the scenario under traffic, roll it back, and measure."""
    folder = revisions_folder(scenario, revision)
    writer = Traffic(bench.connect, "bench-writer", WRITE, bench.ids, bench.interval)
    reader = Traffic(bench.connect, "bench-reader", READ, bench.ids, bench.interval)
    holder = Holder(bench.connect, scenario.hold_seconds) if scenario.hold_seconds else None
    applied = False
    load = os.getloadavg()[0]
    try:
        for thread in (writer, reader):
            thread.start()
            thread.started_ok.wait(30)
        time.sleep(LEAD_IN)
        for thread in (writer, reader):
            if thread.failure or not thread.ops:
                raise BenchError(f"{thread.name}: {thread.failure or 'no statement completed'}")
        if holder:
            holder.start()
            holder.holding.wait(30)
            if holder.failure:
                raise BenchError(f"bench-holder: {holder.failure}")
        begin = time.monotonic()
        applied = True  # from here on, assume it may have committed
        bench.flask(folder, "db", "migrate")
        end = time.monotonic()
        time.sleep(LEAD_IN)
        for thread in (writer, reader):
            thread.stop()
            if thread.failure:
                raise BenchError(f"{thread.name}: {thread.failure}")
        if holder:
            holder.stop()
        began = time.monotonic()
        bench.flask(folder, "db", "rollback")
        applied = False
        rollback_s = time.monotonic() - began
        bench.verify_clean()
    finally:
        for thread in (writer, reader):
            thread.stop(abort=True)
        if holder:
            holder.stop()
        if applied and revision in bench.recorded_bench_revisions():
            bench.flask(folder, "db", "rollback", check=False)
        shutil.rmtree(folder, ignore_errors=True)
    return {"migration_s": round(end - begin, 2), "rollback_s": round(rollback_s, 2),
            "tidy": bench.tidy(), "load_average_1m": round(load, 2),
            "writer": measure(writer.ops, begin, end, bench.interval),
            "reader": measure(reader.ops, begin, end, bench.interval)}


def medians(runs: list[dict]) -> dict:
    def med(values):
        values = [v for v in values if v is not None]
        return round(statistics.median(values), 1) if values else None

    result = {"migration_s": round(statistics.median(r["migration_s"] for r in runs), 2)}
    for side in ("writer", "reader"):
        result[side] = {m: med([r[side][m] for r in runs]) for m in MEASURES}
    return result


def run_scenario(bench: Bench, scenario: Scenario, runs: int, revision: str) -> dict:
    results = []
    try:
        for statement in scenario.teardown + scenario.setup:
            bench.sql(statement)
        if scenario.setup:
            bench.tidy()
        for number in range(1, runs + 1):
            result = run_once(bench, scenario, revision)
            results.append(result)
            w, r = result["writer"], result["reader"]
            click.echo(f"  {scenario.name} run {number}/{runs}: migrate {result['migration_s']} s; "
                       f"writes max {w['max_ms']} ms, {w['over_200ms']} over 200 ms; "
                       f"reads max {r['max_ms']} ms; rollback {result['rollback_s']} s, "
                       f"{result['tidy']}")
    finally:
        for statement in scenario.teardown:
            bench.sql(statement)
        if scenario.teardown:
            bench.tidy()
    return {"summary": scenario.summary, "revision": revision, "runs": results,
            "median": medians(results)}


# Output -------------------------------------------------------------------------------


def show(report: dict) -> None:
    heads = ["migration s", *(f"{s} {m}" for s in ("W", "R") for m in
                             ("max ms", "gap ms", "p50", "p99", ">200ms"))]
    click.echo(f"\nMedians of {report['runs']} run(s), {report['references']:,} references, "
               f"writer and reader every {report['interval_ms']:g} ms; "
               f"{report['cpus']} CPUs, load average {report['load_average_before']} before, "
               f"{report['load_average_after']} after.\n")
    click.echo(f"  {'scenario':<22}" + "".join(f"{h:>11}" for h in heads))
    for name, result in report["scenarios"].items():
        m = result["median"]
        cells = [m["migration_s"]] + [m[s][k] for s in ("writer", "reader") for k in MEASURES]
        click.echo(f"  {name:<22}" + "".join(f"{'-' if c is None else c:>11}" for c in cells))
    click.echo("\n  W = writer (UPDATE one reference by id), R = reader (SELECT one by id); "
               "max = longest statement, gap = longest time between two completed statements; "
               "p50, p99 and >200ms over the statements due during the migration, one every "
               "interval, including those held back behind a stuck one.")


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def prepare(database_url: str) -> Bench:
    from cryptography.fernet import Fernet

    from deepref.config import ConfigError, load_settings, read_environment

    base = read_environment()
    env = {**base, "DATABASE_URL": database_url, "DATABASE_MIGRATIONS_RUN": "false",
           "SECRET_KEY": base.get("SECRET_KEY") or secrets.token_urlsafe(48),
           "PROMPT_ENCRYPTION_KEYS": base.get("PROMPT_ENCRYPTION_KEYS")
           or Fernet.generate_key().decode()}
    try:
        settings = load_settings(env, ROOT / "instance").database
    except ConfigError as exc:
        raise click.UsageError(exc.message) from None
    if settings.engine != "postgresql":
        raise click.UsageError("the live benchmark runs against PostgreSQL only")
    bench = Bench(database_url, settings.describe(), env, 0.0)
    try:
        bench.sql("SELECT 1")
    except psycopg2.Error as exc:
        message = first_line(exc)
        if settings.password:
            message = message.replace(settings.password, "***")
        raise click.ClickException(f"cannot connect to {bench.where}: {message}") from None
    return bench


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--database-url", required=True, metavar="URL",
              help="postgresql://... of a database filled by bench/generate.py.")
@click.option("--scenario", "names", multiple=True, type=click.Choice(scenario_names()),
              help="Run this scenario (repeatable; default: all, in the order listed).")
@click.option("--runs", type=click.IntRange(1, 50), default=3, show_default=True,
              help="Runs per scenario; the table shows medians.")
@click.option("--writer-interval-ms", "interval_ms", type=click.FloatRange(1, 10_000),
              default=20, show_default=True,
              help="Writer and reader each run one statement this often.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, writable=True),
              help="Also write every run's figures to this file (e.g. bench/results/live.json).")
def main(database_url, names, runs, interval_ms, json_path):
    """Measure how much each migration scenario stalls live reads and writes."""
    bench = prepare(database_url)
    bench.interval = interval_ms / 1000
    names = list(dict.fromkeys(names)) or scenario_names()
    try:
        if bench.sql("SELECT to_regclass('migratehistory') IS NULL "
                     "OR to_regclass('\"references\"') IS NULL")[0][0]:
            raise click.ClickException(
                f"{bench.where} is not a deepref database: make one with "
                "bench/generate.py --database-url URL --migrate")
        for name in bench.undo_leftovers():
            click.echo(f"Rolled back {name}, left applied by an interrupted run.")
        bench.verify_clean()
        bench.tidy()
        count = bench.sql('SELECT count(*) FROM "references"')[0][0]
        if count < 100:
            raise click.ClickException(f"{bench.where} has {count} references: fill it with "
                                       "bench/generate.py --migrate first")
        bench.ids = [str(i) for (i,) in bench.sql(
            'SELECT id FROM "references" ORDER BY random() LIMIT %s', (SAMPLE,))]
        attnum = bench.sql("SELECT max(attnum) FROM pg_attribute "
                           "WHERE attrelid = '\"references\"'::regclass")[0][0]
        if attnum > 1500:
            click.echo(f"Warning: \"references\" has used {attnum} of PostgreSQL's 1,600 "
                       "column slots (every run adds and drops a column): regenerate soon.")
        report = {
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "database": bench.where, "references": count, "runs": runs,
            "interval_ms": interval_ms, "cpus": os.cpu_count(),
            "server": bench.sql("SHOW server_version")[0][0],
            "load_average_before": [round(x, 2) for x in os.getloadavg()], "scenarios": {},
        }
        revision = next_number()
        click.echo(f"{bench.where}: {count:,} references; scenarios {', '.join(names)}; "
                   f"{runs} run(s) each.")
        for name in names:
            scenario = load_scenario(name)
            report["scenarios"][name] = run_scenario(
                bench, scenario, runs, scenario.revision(revision))
    except KeyboardInterrupt:
        left = bench.undo_leftovers()
        raise click.ClickException(
            "interrupted; " + (f"rolled back {', '.join(left)}" if left else
                               "nothing of the scenario is left applied")) from None
    except psycopg2.Error as exc:
        raise BenchError(f"{bench.where}: {first_line(exc)}") from None
    report["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    report["attnum"] = attnum
    show(report)
    if json_path:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(json_path).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
