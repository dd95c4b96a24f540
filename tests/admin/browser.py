"""Real-browser fixtures: the app served over HTTP on loopback (werkzeug, threaded) over
SQLite, and Debian's headless Chromium driven by Playwright, reporting CSP violations."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from werkzeug.security import generate_password_hash
from werkzeug.serving import make_server

from databases import TEST_KEYS, database_of
from deepref import create_app
from deepref import migrate as runner
from deepref.models import User, UserRole
from support import make_bundle, make_finetune, make_interaction, make_prompt, make_session

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
EMAIL, PASSWORD = "browser-admin@example.com", "a long browser passphrase"
TIMEOUT_MS = 10_000
# Reports every CSP violation on the console, whatever the browser logs itself.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => console.error(
  `CSP violation: ${e.violatedDirective} blocked ${e.blockedURI} (${e.sample})`));
"""


class Hits:
    """Counts the requests that reach the server, by path (a cached asset never does)."""

    def __init__(self, app):
        self.paths: list[str] = []
        inner = app.wsgi_app

        def counted(environ, start_response):
            self.paths.append(environ.get("PATH_INFO", ""))
            return inner(environ, start_response)

        app.wsgi_app = counted

    def take(self) -> list[str]:
        taken, self.paths = self.paths, []
        return taken


@pytest.fixture
def hits():
    return {}


@pytest.fixture
def server(tmp_path, hits):
    """The app served over HTTP on 127.0.0.1; yields its base URL."""
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/browser.sqlite3", **TEST_KEYS}
    app = create_app({"ENV": env, "INSTANCE_PATH": str(tmp_path / "instance")})
    hits["server"] = Hits(app)
    database = database_of(app)
    runner.migrate(database, echo=lambda line: None)
    UserRole.create(role="admin", user=User.create(
        email=EMAIL, role="admin", password_hash=generate_password_hash(PASSWORD)))
    jane = User.create(email="jane.seeker@example.com")
    make_bundle(jane, title="Jane's bundle")
    make_finetune(make_interaction(make_session(jane), make_prompt()))
    database.close()
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.port}"
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
        httpd.server_close()
        if not database.is_closed():
            database.close()


@pytest.fixture
def page():
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is needed (apt-get install chromium)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(TIMEOUT_MS)
            page.add_init_script(REPORT_CSP_VIOLATIONS)
            _settle_after_clicks(page)
            yield page
        finally:
            browser.close()


def _settle_after_clicks(page) -> None:
    """After a click, wait for the page it led to (if any) to finish loading its scripts,
    as a person would: on a busy machine the next click could otherwise land before
    form.js or select2 are ready, which says nothing about the console."""
    click = page.click

    def click_and_settle(*args, **kwargs):
        click(*args, **kwargs)
        page.wait_for_load_state()

    page.click = click_and_settle


def is_csp_violation(text: str) -> bool:
    return text.startswith(("CSP violation", "Refused to")) or "Content Security Policy" in text
