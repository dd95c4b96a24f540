#!/usr/bin/env python3
"""Load benchmark: a real gunicorn on the bench data set, driven by signed-in admins.

    python bench/load.py --database-url postgresql://user@host/deepref_bench [--duration 30]
    python bench/load.py --database-url ... --requests 200    # a fixed amount of work

Starts `gunicorn -c gunicorn.conf.py wsgi:app` (2 workers by default) on a free loopback
port against a database filled by bench/generate.py, signs in --clients sessions through
/login (CSRF token and all, like a browser), and each session mixes reference list
pages, full-text searches, detail views and edits (the edit form, then a save that
changes the `relationship` field): for --duration seconds, or, with --requests N, until
it has made its N requests, split among the kinds by --mix with at least one of each,
however slow the machine. Then it stops gunicorn and checks every acknowledged edit (the
save redirected) against the database.

Reports requests per second, median / p95 / p99 latency per kind of request, errors
(5xx, dropped connections, unexpected answers) and lost writes; exits 1 if there was
any 5xx, error or lost write. It writes to the database: an admin account
(bench-load@deepref.example.com, its password reset each run), the edited references'
`relationship`, and their audit_log rows.
"""

from __future__ import annotations

import contextlib
import html
import http.client
import json
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import click

ROOT = Path(__file__).resolve().parent.parent
ADMIN_EMAIL = "bench-load@deepref.example.com"
LIST = "/admin/reference/"
DEFAULT_MIX = "list=35,search=25,view=25,edit=15"
KINDS = ("list", "search", "view", "edit-form", "edit-save")


# HTTP ---------------------------------------------------------------------------------


class Forms(HTMLParser):
    """Every <form> of a page: its attributes and (name, value) pairs as a browser sends them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"attrs": a, "fields": []})
        elif not self.forms:
            return
        elif tag == "input" and a.get("name") and a.get("type", "text") not in (
                "submit", "button", "image", "file", "reset"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.forms[-1]["fields"].append((a["name"], a.get("value") or ""))
        elif tag == "select":
            self._select, self._options = a.get("name"), []
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea":
            self._textarea, self._text = a.get("name"), []

    def handle_data(self, data):
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "select" and self._select is not None:
            chosen = [v for v, selected in self._options if selected] or [
                v for v, _ in self._options[:1]]
            self.forms[-1]["fields"] += [(self._select, v) for v in chosen]
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            text = "".join(self._text)
            # A newline right after <textarea> is not part of the value (HTML spec).
            text = text.removeprefix("\r\n") if text.startswith("\r\n") else text.removeprefix("\n")
            self.forms[-1]["fields"].append((self._textarea, text))
            self._textarea = None


def forms_of(page: str) -> list[dict]:
    parser = Forms()
    parser.feed(page)
    return parser.forms


class Browser:
    """One signed-in session: a keep-alive connection and its cookies."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, form: list[tuple[str, str]] | None = None):
        """(status, location, body) of one request; reconnects once if the line dropped."""
        body = urlencode(form) if form is not None else None
        headers = {"Accept": "text/html"}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                text = response.read().decode("utf-8", "replace")
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                # An idle keep-alive connection the server closed: retry once. A request
                # that was sent may have been handled, so never retry a POST.
                if attempt == 2 or method != "GET":
                    raise
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        if response.headers.get("Connection", "").lower() == "close":
            self.close()
        return response.status, response.headers.get("Location", ""), text

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def sign_in(self, email: str, password: str) -> None:
        status, _, page = self.request("GET", "/login")
        login = next(f for f in forms_of(page) if f["attrs"].get("action") == "/login")
        fields = [(k, v) for k, v in login["fields"] if k not in ("email", "password")]
        status, location, _ = self.request(
            "POST", "/login", fields + [("email", email), ("password", password)])
        if status != 302 or urlsplit(location).path.startswith("/login"):
            raise click.ClickException(f"signing in as {email} failed (HTTP {status})")


# The load -----------------------------------------------------------------------------


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    acknowledged: dict[str, str] = field(default_factory=dict)  # reference id -> value
    rejected: Counter = field(default_factory=Counter)
    warm_up: int = 0  # requests before the measured period: checked, not timed
    measure_from: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, seconds: float, status: int | str, problem: str | None = None):
        with self.lock:
            if time.monotonic() - seconds < self.measure_from:
                self.warm_up += 1
            else:
                self.latencies[kind].append(seconds)
            self.statuses[status] += 1
            if problem:
                self.errors[f"{kind}: {problem}"] += 1

    def problem(self, kind: str, text: str) -> None:
        with self.lock:
            self.errors[f"{kind}: {text}"] += 1


@dataclass
class Plan:
    port: int
    password: str
    clients: int
    mix: list[tuple[str, int]]
    terms: list[str]
    ids: list[str]
    run: str  # marks this run's edits
    seed: int
    requests: int | None = None  # per session, instead of a deadline
    measure_from: float = 0.0
    deadline: float = 0.0


def shares(mix: list[tuple[str, int]], total: int) -> dict[str, int]:
    """`total` requests split among the kinds by weight, at least one of each weighted kind.

    One each first, the rest in proportion to the weights (largest remainders round up).
    An edit counts as one request here, though it is two (the form, then the save).
    """
    weights = {kind: weight for kind, weight in mix if weight > 0}
    counts = dict.fromkeys(weights, 1)
    rest, whole = total - len(weights), sum(weights.values())
    exact = {kind: rest * weight / whole for kind, weight in weights.items()}
    for kind, value in exact.items():
        counts[kind] += int(value)
    by_remainder = sorted(exact, key=lambda kind: exact[kind] - int(exact[kind]), reverse=True)
    for kind in by_remainder[:total - sum(counts.values())]:
        counts[kind] += 1
    return counts


def kinds_to_ask(plan: Plan, rng: random.Random):
    """The kinds of request one session makes, in order: until the deadline, or its share."""
    kinds, weights = zip(*plan.mix)
    if plan.requests is None:
        while time.monotonic() < plan.deadline:
            yield rng.choices(kinds, weights)[0]
        return
    while time.monotonic() < plan.measure_from:  # warm-up: by time, and not counted
        yield rng.choices(kinds, weights)[0]
    work = [kind for kind, n in shares(plan.mix, plan.requests).items() for _ in range(n)]
    rng.shuffle(work)
    yield from work


def run_client(number: int, plan: Plan, results: Results, ready: threading.Barrier) -> None:
    browser = Browser(plan.port)
    rng = random.Random(f"{plan.seed}-{number}")  # same --seed, same sequence of requests
    try:
        browser.sign_in(ADMIN_EMAIL, plan.password)
    except (OSError, http.client.HTTPException, click.ClickException, StopIteration) as exc:
        results.problem("sign-in", str(exc) or type(exc).__name__)
        ready.wait()
        return
    ready.wait()  # the last one to arrive sets the clock
    # Each client edits its own references, so no two sessions edit one row at once.
    mine = plan.ids[number::plan.clients] or plan.ids
    edits = 0
    for kind in kinds_to_ask(plan, rng):
        if kind == "list":
            timed(browser, results, "list", "GET", f"{LIST}?page={rng.randrange(50)}")
        elif kind == "search":
            timed(browser, results, "search", "GET",
                  f"{LIST}?{urlencode({'search': rng.choice(plan.terms)})}")
        elif kind == "view":
            timed(browser, results, "view", "GET",
                  f"{LIST}details/?id={rng.choice(plan.ids)}")
        else:
            edits += 1
            edit(browser, results, mine[edits % len(mine)], f"bench {plan.run} {number}-{edits}")
    browser.close()


def timed(browser, results, kind, method, path, form=None, expect=200):
    """One request, recorded; its (status, location, body), or None if it failed."""
    started = time.monotonic()
    try:
        status, location, body = browser.request(method, path, form)
    except (OSError, http.client.HTTPException) as exc:
        results.record(kind, time.monotonic() - started, "dropped", type(exc).__name__)
        return None
    seconds = time.monotonic() - started
    problem = None
    if status >= 500:
        problem = f"HTTP {status}"
    elif status == 302 and urlsplit(location).path.startswith("/login"):
        problem = "signed out"
    elif status != expect and not (kind == "edit-save" and status == 200):
        problem = f"HTTP {status}"
    results.record(kind, seconds, status, problem)
    return None if problem else (status, location, body)


def edit(browser, results, reference_id, value):
    """Open the edit form, change `relationship`, save; remember it if acknowledged."""
    path = f"{LIST}edit/?{urlencode({'id': reference_id, 'url': LIST})}"
    got = timed(browser, results, "edit-form", "GET", path)
    if got is None:
        return
    form = next((f for f in forms_of(got[2]) if "admin-form" in f["attrs"].get("class", "")),
                None)
    if form is None:
        results.problem("edit-form", "the edit page has no form")
        return
    fields = [(k, value if k == "relationship" else v) for k, v in form["fields"]]
    saved = timed(browser, results, "edit-save", "POST", path, fields, expect=302)
    if saved is None:
        return
    if saved[0] == 302:
        with results.lock:
            results.acknowledged[reference_id] = value
    else:  # the form came back: refused (validation, or the row changed meanwhile)
        with results.lock:
            results.rejected[_alert(saved[2])] += 1


def _alert(page: str) -> str:
    """Why a saved form came back: its first field error, else its flashed message."""
    for marker in ('class="form-text text-danger', 'class="alert'):
        start = page.find(marker)
        if start >= 0:
            text = re.sub(r"<[^>]+>|&times;|×", " ", page[page.find(">", start) + 1:
                                                      page.find("</div>", start)])
            return html.unescape(" ".join(text.split()))[:160]
    return "the form came back without a message"


# Set-up, gunicorn, verification -------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(database_url: str, env: dict[str, str], password: str, rng: random.Random):
    """Check the data set, (re)set the bench admin; sample references and search terms."""
    from deepref import create_app
    from deepref import migrate as runner
    from deepref.auth.admins import set_admin
    from deepref.db import database

    app = create_app({"ENV": env})
    db = database.obj
    try:
        with app.app_context():
            pending = [s.name for s in runner.status(db) if not s.applied_at]
            if pending:
                raise click.ClickException(
                    f"{len(pending)} revision(s) pending: run `flask db migrate` first")
            count = db.execute_sql('SELECT count(*) FROM (SELECT 1 FROM "references" '
                                   "LIMIT 1000) AS r").fetchone()[0]
            if count < 1000:
                raise click.ClickException(
                    "fewer than 1,000 references: fill the database with bench/generate.py")
            set_admin(ADMIN_EMAIL, password)
            rows = db.execute_sql(
                'SELECT id, company, role FROM "references" TABLESAMPLE SYSTEM (1) '
                "REPEATABLE (%s) LIMIT 4000", (rng.randrange(1 << 30),)).fetchall()
    finally:
        _close(db)
    ids = [str(r[0]) for r in rows]
    terms = sorted({r[1].split()[0] for r in rows} | {r[2].split()[-1] for r in rows})
    rng.shuffle(ids)
    return ids, terms


def _close(db) -> None:
    if not db.is_closed():
        db.close()
    if hasattr(db, "close_all"):
        db.close_all()


def start_gunicorn(env: dict[str, str], port: int, log_path: Path) -> subprocess.Popen:
    log = open(log_path, "w")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"),
         "wsgi:app"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise click.ClickException(f"gunicorn exited; see {log_path}")
        with contextlib.suppress(OSError):
            status, _, _ = Browser(port).request("GET", "/readyz")
            if status == 200:
                return process
        time.sleep(0.2)
    stop(process)
    raise click.ClickException(f"gunicorn did not become ready; see {log_path}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def lost_writes(env: dict[str, str], acknowledged: dict[str, str]) -> list[str]:
    """Acknowledged edits whose value is not in the database."""
    from deepref import create_app
    from deepref.db import database

    create_app({"ENV": env})
    db = database.obj
    try:
        ids = list(acknowledged)
        found = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            found.update((str(i), v) for i, v in db.execute_sql(
                'SELECT id, relationship FROM "references" WHERE id::text = ANY(%s)',
                (chunk,)).fetchall())
    finally:
        _close(db)
    return [i for i, value in acknowledged.items() if found.get(i) != value]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def summary(results: Results, seconds: float, lost: list[str]) -> dict:
    everything = [s for kind in KINDS for s in results.latencies.get(kind, [])]
    five_xx = sum(n for status, n in results.statuses.items()
                  if isinstance(status, int) and status >= 500)
    row = lambda values: {  # noqa: E731
        "requests": len(values), "rps": round(len(values) / seconds, 1),
        "median_ms": round(statistics.median(values) * 1000, 1) if values else None,
        "p95_ms": round(percentile(values, 0.95) * 1000, 1) if values else None,
        "p99_ms": round(percentile(values, 0.99) * 1000, 1) if values else None,
    }
    return {
        "seconds": round(seconds, 1), "warm_up_requests": results.warm_up,
        "all": row(everything),
        "kinds": {kind: row(results.latencies.get(kind, [])) for kind in KINDS},
        "statuses": {str(k): v for k, v in sorted(results.statuses.items(), key=str)},
        "http_5xx": five_xx, "errors": dict(results.errors),
        "edits_acknowledged": len(results.acknowledged),
        "edits_refused": dict(results.rejected), "lost_writes": len(lost),
    }


def show(report: dict, settings: str) -> None:
    click.echo(f"\n{settings}; {report['seconds']} s on {report['cpus']} CPU(s), load average "
               f"afterwards {report['load_average_after']}\n")
    click.echo(f"  {'request':<11}{'count':>8}{'rps':>8}{'median':>10}{'p95':>10}{'p99':>10}")
    for name, row in [*report["kinds"].items(), ("all", report["all"])]:
        if row["requests"]:
            click.echo(f"  {name:<11}{row['requests']:>8}{row['rps']:>8}"
                       f"{row['median_ms']:>8} ms{row['p95_ms']:>7} ms{row['p99_ms']:>7} ms")
    click.echo(f"\n  HTTP statuses (warm-up included): {report['statuses']}")
    click.echo(f"  5xx: {report['http_5xx']}   errors: {sum(report['errors'].values())}"
               + "".join(f"\n    {k}: {v}" for k, v in report["errors"].items()))
    click.echo(f"  edits acknowledged: {report['edits_acknowledged']}   refused: "
               f"{sum(report['edits_refused'].values())}"
               + "".join(f"\n    {k}: {v}" for k, v in report["edits_refused"].items()))
    click.echo(f"  lost writes: {report['lost_writes']}")


def parse_mix(ctx, param, value: str) -> list[tuple[str, int]]:
    try:
        mix = [(k.strip(), int(w)) for k, w in (part.split("=") for part in value.split(","))]
    except ValueError:
        raise click.BadParameter("expected kind=weight,... e.g. " + DEFAULT_MIX) from None
    unknown = {k for k, _ in mix} - {"list", "search", "view", "edit"}
    if unknown or any(w < 0 for _, w in mix) or not sum(w for _, w in mix):
        raise click.BadParameter(f"kinds are list, search, view, edit with weights >= 0 "
                                 f"(not all 0); e.g. {DEFAULT_MIX}")
    return mix


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--database-url", required=True, metavar="URL",
              help="postgresql://... of a database filled by bench/generate.py.")
@click.option("--duration", type=click.FloatRange(1, 3600),
              help="Seconds of measured load.  [default: 30, unless --requests]")
@click.option("--requests", type=click.IntRange(1, 1_000_000), metavar="N",
              help="Instead of --duration: each session makes N measured requests, split "
                   "among the kinds by --mix with at least one of each (an edit counts as "
                   "one), then stops; the run ends when every session is done.")
@click.option("--warm-up", "warm_up", type=click.FloatRange(0, 600), default=5,
              show_default=True, help="Seconds of load before the measured period.")
@click.option("--clients", type=click.IntRange(1, 256), default=8, show_default=True,
              help="Concurrent signed-in sessions.")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True)
@click.option("--threads", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Threads per gunicorn worker.")
@click.option("--mix", callback=parse_mix, default=DEFAULT_MIX, show_default=True,
              help="Relative weights of the kinds of requests.")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--json", "json_path", type=click.Path(dir_okay=False, writable=True),
              help="Also write the figures to this file.")
def main(database_url, duration, requests, warm_up, clients, workers, threads, mix, seed,
         json_path):
    """Drive a real gunicorn with signed-in sessions; report throughput, latency, errors."""
    from cryptography.fernet import Fernet

    if duration is not None and requests is not None:
        raise click.UsageError("--duration and --requests exclude each other: choose one")
    if requests is None:
        duration = 30.0 if duration is None else duration
    elif requests < (kinds := sum(w > 0 for _, w in mix)):
        raise click.BadParameter(f"at least {kinds}, one of each kind in --mix",
                                 param_hint="--requests")

    from deepref.config import ConfigError, load_settings, read_environment

    rng = random.Random(seed)
    password = secrets.token_urlsafe(24)
    port = free_port()
    base = read_environment()
    env = {
        **base, "DATABASE_URL": database_url,
        "SECRET_KEY": base.get("SECRET_KEY") or secrets.token_urlsafe(48),
        "PROMPT_ENCRYPTION_KEYS": base.get("PROMPT_ENCRYPTION_KEYS")
        or Fernet.generate_key().decode(),
        "DATABASE_MIGRATIONS_RUN": "false", "SESSION_COOKIE_SECURE": "false",
        "PROXY_FIX_HOPS": "0", "DATABASE_POOL_MAX": str(max(2 * threads, 4)),
        "DATABASE_POOL_MIN": str(min(threads, 4)),
        "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": str(workers),
        "GUNICORN_THREADS": str(threads), "GUNICORN_ACCESS_LOG": "",
    }
    try:
        settings = load_settings(env, ROOT / "instance").database
    except ConfigError as exc:
        raise click.ClickException(exc.message) from None
    if settings.engine != "postgresql":
        raise click.ClickException("the load benchmark runs against PostgreSQL only")
    click.echo(f"Preparing {settings.describe()}...")
    ids, terms = prepare(database_url, env, password, rng)
    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"deepref-load-{port}.log"
    click.echo(f"Starting gunicorn ({workers} workers x {threads} threads) on port {port}...")
    process = start_gunicorn(env, port, log_path)
    results = Results()
    try:
        plan = Plan(port, password, clients, mix, terms, ids, secrets.token_hex(3), seed,
                    requests)

        def go():  # run by the last session to sign in, before any starts its load
            results.measure_from = plan.measure_from = time.monotonic() + warm_up
            plan.deadline = results.measure_from + (duration or 0)

        ready = threading.Barrier(clients, action=go)
        runners = [threading.Thread(target=run_client, args=(n, plan, results, ready),
                                    daemon=True) for n in range(clients)]
        load = (f"{requests} measured requests per session" if requests
                else f"{duration:g} s of measured load")
        click.echo(f"Signing in {clients} sessions; then {warm_up:g} s of warm-up and "
                   f"{load}...")
        for runner in runners:
            runner.start()
        for runner in runners:
            runner.join()
        # Measured time: from the end of the warm-up until the last session finished.
        elapsed = max(time.monotonic() - plan.measure_from, 0.001)
    finally:
        stop(process)
    lost = lost_writes(env, results.acknowledged)
    report = summary(results, elapsed, lost)
    report["requests_per_session"] = requests
    report["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    report["cpus"] = os.cpu_count()
    show(report, f"gunicorn {workers} workers x {threads} threads, {clients} clients"
                 + (f" x {requests} requests" if requests else "")
                 + f", mix {','.join(f'{k}={w}' for k, w in mix)}")
    if json_path:
        Path(json_path).write_text(json.dumps(report, indent=2) + "\n")
    click.echo(f"gunicorn log: {log_path}")
    if report["http_5xx"] or report["errors"] or lost:
        sys.exit(1)


if __name__ == "__main__":
    main()
