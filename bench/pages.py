#!/usr/bin/env python3
"""Benchmark the admin console's pages through a real HTTP server on PostgreSQL.

    python bench/pages.py --database-url postgresql://postgres@127.0.0.1/deepref_bench

Serves the app with werkzeug on a free loopback port (in a thread of this process),
signs in as a benchmark admin (created or reset in that database: the only write), then
requests each page --runs times after --warmup untimed runs, and reports per page the
median and p95 wall time seen by the HTTP client and the number of SQL statements the
page ran. Statements are counted by wrapping this process's database object, so the
application itself carries no counting code. Finally it EXPLAINs the search and list
queries it saw, to show which indexes serve them.

Targets (issue 4): every list page in a constant number of queries, search through
ix_references_fts, no COUNT(*) over the big tables, median list/search page < 100 ms.
"""

from __future__ import annotations

import http.cookiejar
import logging
import re
import secrets
import statistics
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import click

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.fernet import Fernet  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from deepref import create_app  # noqa: E402
from deepref.auth.admins import set_admin  # noqa: E402
from deepref.db import database  # noqa: E402
from deepref.config import ConfigError, read_environment  # noqa: E402

BENCH_ADMIN = "bench-admin@deepref.example.com"
TARGET_MS = 100
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class StatementCounter:
    """Counts (and keeps) the statements run by one database object, per request."""

    def __init__(self, database):
        self.database = database
        self.statements: list[tuple[str, object]] = []
        self._original = database.execute_sql
        database.execute_sql = self._execute

    def _execute(self, sql, params=None, *args, **kwargs):
        self.statements.append((sql, params))
        return self._original(sql, params, *args, **kwargs)

    def take(self) -> list[tuple[str, object]]:
        taken, self.statements = self.statements, []
        return taken


class CpuClock:
    """CPU time the app spends in each request (the server thread's own time): robust to
    other processes competing for the machine, unlike wall time."""

    def __init__(self, app):
        self.spent: list[float] = []
        inner = app.wsgi_app

        def timed(environ, start_response):
            start = time.thread_time()
            try:
                return list(inner(environ, start_response))
            finally:
                self.spent.append((time.thread_time() - start) * 1000)

        app.wsgi_app = timed

    def take(self) -> list[float]:
        taken, self.spent = self.spent, []
        return taken


class Browser:
    """A cookie-keeping HTTP client (what a signed-in admin's browser sends)."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> tuple[int, str]:
        with self.opener.open(self.base + path, timeout=60) as response:
            return response.status, response.read().decode()

    def sign_in(self, email: str, password: str) -> None:
        _, page = self.get("/login")
        data = urllib.parse.urlencode({"email": email, "password": password,
                                       "csrf_token": TOKEN.search(page).group(1)}).encode()
        with self.opener.open(self.base + "/login", data=data, timeout=60) as response:
            if not response.url.endswith("/admin/"):
                raise click.ClickException("could not sign in as the benchmark admin")


def pages(database) -> dict[str, str]:
    """The pages to measure, with real values from the benchmark data."""
    company = database.execute_sql(  # a whole company name: a few hundred references
        'SELECT company FROM "references" GROUP BY company HAVING count(*) BETWEEN 200 AND 800 '
        "ORDER BY company LIMIT 1").fetchone()
    word = database.execute_sql(  # one word of the most common company: thousands of rows
        'SELECT split_part(company, \' \', 1) FROM "references" GROUP BY company '
        "ORDER BY count(*) DESC LIMIT 1").fetchone()
    bundle = database.execute_sql(
        "SELECT bundle_id FROM bundle_references GROUP BY bundle_id "
        "ORDER BY count(*) DESC LIMIT 1").fetchone()
    email = database.execute_sql("SELECT email FROM users ORDER BY created_at LIMIT 1 OFFSET 777").fetchone()
    kyc_queue = database.execute_sql(  # the review queue is a view of its own since issue 12
        "SELECT 1 FROM pg_class WHERE relname = 'ix_kyc_documents_status_created_at'").fetchone()
    if not company or not word or not bundle or not email:
        raise click.ClickException("the database has no benchmark data: run bench/generate.py first")
    quote = urllib.parse.quote_plus
    return {
        "dashboard": "/admin/",
        "references, page 1": "/admin/reference/",
        "references, page 1,000": "/admin/reference/?page=999",
        f"references, search company {company[0]!r}": f"/admin/reference/?search={quote(company[0])}",
        f"references, search word {word[0]!r}": f"/admin/reference/?search={quote(word[0])}",
        "references, filter status=verified": "/admin/reference/?flt0_status_equals=verified",
        "references, filter seeker email": f"/admin/reference/?flt0_seeker_email_equals={quote(email[0])}",
        "bundle edit page": f"/admin/bundle/edit/?id={bundle[0]}",
        "bundles, page 1": "/admin/bundle/",
        "users, search email": f"/admin/user/?search={quote(email[0].split('@')[0])}",
        "KYC, pending": "/admin/kycdocument/?flt0_status_equals=pending",
        "AI interactions, page 1": "/admin/aiinteraction/",
        "AI interactions, failed": "/admin/aiinteraction/?flt0_success_equals=0",
        "audit log": "/admin/auditlog/",
        **({"KYC review queue": "/admin/kycqueue/"} if kyc_queue else {}),
    }


def measure(browser, counter, clock, path, warmup, runs) -> dict:
    for _ in range(warmup):
        browser.get(path)
    times, counts, size, cpu = [], set(), 0, []
    for _ in range(runs):
        counter.take()
        clock.take()
        start = time.perf_counter()
        status, body = browser.get(path)
        times.append((time.perf_counter() - start) * 1000)
        cpu.extend(clock.take())
        if status != 200:
            raise click.ClickException(f"{path} answered {status}")
        counts.add(len(counter.take()))
        size = len(body.encode())
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return {"median": statistics.median(times), "p95": p95, "queries": sorted(counts),
            "kb": size / 1024, "cpu": statistics.median(cpu)}


def raw_sql_ms(database_url, statements, runs) -> float:
    """Median time of a page's statements replayed through plain psycopg2 (no app)."""
    import psycopg2

    conn = psycopg2.connect(database_url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            times = []
            for _ in range(runs + 3):
                start = time.perf_counter()
                for sql, params in statements:
                    cur.execute(sql, params)
                    if cur.description is not None:
                        cur.fetchall()
                times.append((time.perf_counter() - start) * 1000)
        return statistics.median(times[3:])
    finally:
        conn.close()


def plans(database, statements) -> list[str]:
    """For each statement a page ran after the sign-in check: its plan's scans, briefly."""
    found = []
    for sql, params in statements[1:]:
        if sql.startswith("EXPLAIN"):
            found.append(f"  (planner row estimate, no scan)\n    {sql[:110]}...")
            continue
        rows = database.execute_sql(f"EXPLAIN {sql}", params).fetchall()
        nodes = [r[0].strip(" ->") for r in rows if re.search(r"Scan|Sort|Aggregate|Limit", r[0])]
        nodes = [re.sub(r"\s+\(cost=.*", "", n) for n in nodes]
        found.append(f"  {' > '.join(nodes)}\n    {sql[:110]}{'...' if len(sql) > 110 else ''}")
    return found


def full_counts(statements) -> list[str]:
    """COUNT statements with no WHERE clause: an exact count of a whole table."""
    return [s for s, _ in statements if re.search(r"\bCOUNT\(", s, re.I) and " WHERE " not in s]


@click.command()
@click.option("--database-url", required=True, help="PostgreSQL URL of a generated bench database.")
@click.option("--runs", default=20, show_default=True, help="Timed requests per page.")
@click.option("--warmup", default=3, show_default=True, help="Untimed requests per page first.")
def main(database_url, runs, warmup):
    """Median / p95 time and SQL statements per admin page, over real HTTP."""
    env = {k: v for k, v in read_environment(None).items()
           if k in ("SECRET_KEY", "PROMPT_ENCRYPTION_KEYS")}
    env.setdefault("SECRET_KEY", secrets.token_urlsafe(32))
    env.setdefault("PROMPT_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    try:
        app = create_app({"ENV": {"DATABASE_URL": database_url, **env},
                          "INSTANCE_PATH": str(Path.cwd() / "instance")})
    except ConfigError as exc:
        raise click.ClickException(exc.message) from None
    db = database.obj
    if not db.is_postgres:
        raise click.ClickException("the page benchmark needs PostgreSQL")
    password = secrets.token_urlsafe(24)
    with app.app_context():
        set_admin(BENCH_ADMIN, password)
        targets = pages(db)
    db.close()

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    clock = CpuClock(app)
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    counter = StatementCounter(db)
    try:
        browser = Browser(f"http://127.0.0.1:{server.port}")
        browser.sign_in(BENCH_ADMIN, password)
        rows = [(name, measure(browser, counter, clock, path, warmup, runs)) for name, path in targets.items()]
        seen = {}
        for name in targets:
            counter.take()
            browser.get(targets[name])
            seen[name] = counter.take()
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()

    raw = {name: raw_sql_ms(database_url, seen[name], runs) for name in targets}
    width = max(len(name) for name, _ in rows)
    click.echo(f"{'page':<{width}}  median ms  p95 ms  SQL statements  raw SQL ms  ratio   KB"
               "  app CPU ms")
    for name, row in rows:
        queries = "-".join(str(q) for q in (row["queries"][0], row["queries"][-1])) \
            if len(row["queries"]) > 1 else str(row["queries"][0])
        click.echo(f"{name:<{width}}  {row['median']:9.1f}  {row['p95']:6.1f}  {queries:>14}"
                   f"  {raw[name]:10.2f}  {row['median'] / raw[name]:5.1f}  {row['kb']:5.1f}"
                   f"  {row['cpu']:10.1f}")
    lists = [row for name, row in rows if name != "dashboard" and "edit" not in name]
    slow = [name for name, row in rows if row["median"] >= TARGET_MS and "edit" not in name]
    click.echo(f"\nmedian of list/search pages: {statistics.median(r['median'] for r in lists):.1f} ms "
               f"(target < {TARGET_MS} ms each; over: {', '.join(slow) or 'none'})")
    with app.app_context():
        db.connect(reuse_if_open=True)
        for name, statements in seen.items():
            if not (name.startswith("references") or name == "dashboard"):
                continue
            click.echo(f"\n== {name}: {len(statements)} statements, "
                       f"{len(full_counts(statements))} whole-table COUNT")
            for plan in plans(db, statements):
                click.echo(plan)
        db.close()


if __name__ == "__main__":
    main()
