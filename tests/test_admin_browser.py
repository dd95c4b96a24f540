"""The console in a real browser: Debian's headless Chromium driven by Playwright, against
a real HTTP server (werkzeug, threaded, on a free loopback port) over SQLite.

Sign in, create a reference (choosing its seeker through the type-ahead lookup), find it
by search, edit it, delete it through the confirmation page, sign out. A screenshot of
the references list is saved in test-output/.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright
from werkzeug.security import generate_password_hash
from werkzeug.serving import make_server

import conftest
from deepref import create_app
from deepref import migrate as runner
from deepref.models import AuditLog, Reference, User

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
OUTPUT = Path(__file__).resolve().parent.parent / "test-output"
EMAIL, PASSWORD = "browser-admin@example.com", "a long browser passphrase"
TIMEOUT_MS = 10_000


@pytest.fixture
def server(tmp_path):
    """The app served over HTTP on 127.0.0.1; yields its base URL."""
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/browser.sqlite3", **conftest.TEST_KEYS}
    app = create_app({"ENV": env, "INSTANCE_PATH": str(tmp_path / "instance")})
    database = app.extensions["deepref_db"]
    runner.migrate(database, echo=lambda line: None)
    User.create(email=EMAIL, role="admin", password_hash=generate_password_hash(PASSWORD))
    User.create(email="jane.seeker@example.com")
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
            yield page
        finally:
            browser.close()


def test_sign_in_create_search_edit_delete_sign_out(server, page):
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # Anonymous: sent to the sign-in page; sign in.
    page.goto(f"{server}/admin/reference/")
    expect(page).to_have_url(f"{server}/login?next=/admin/reference/")
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{server}/admin/reference/")
    expect(page.locator("#signed-in-as")).to_have_text(EMAIL)

    # Create: the seeker is chosen by typing part of the email into the lookup.
    page.click("text=Create")
    page.click("#s2id_seeker a")
    page.fill("#select2-drop input.select2-input", "jane")
    page.click(".select2-result-label:has-text('jane.seeker@example.com')")
    page.fill("#referrer_name", "Rita Browser")
    page.fill("#referrer_email", "rita@initech.example")
    page.fill("#company", "Initech Browsers")
    page.fill("#role", "Head of QA")
    page.select_option("#status", "submitted")
    page.fill("#rcs_score", "88")
    page.click("input[type=submit][value='Save']")
    expect(page.locator(".alert-success")).to_contain_text("successfully created")
    ref = Reference.get(Reference.company == "Initech Browsers")
    assert ref.seeker.email == "jane.seeker@example.com" and ref.status == "submitted"

    # Find it by search.
    page.fill("input[name=search]", "initech")
    page.keyboard.press("Enter")
    expect(page.locator("table.model-list")).to_contain_text("Rita Browser")
    expect(page.locator("table.model-list")).to_contain_text("jane.seeker@example.com")

    # Edit it.
    page.click(f"a[href*='/admin/reference/edit/?id={ref.id}']")
    page.fill("#company", "Initech Browsers Ltd")
    page.click("input[type=submit][value='Save']")
    expect(page.locator(".alert-success")).to_contain_text("successfully saved")
    assert Reference.get_by_id(ref.id).company == "Initech Browsers Ltd"
    expect(page.locator("table.model-list")).to_contain_text("Initech Browsers Ltd")

    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "admin-references-list.png"), full_page=True)

    # Delete it, through the page that says what goes with it.
    page.click(f"a[href*='/admin/reference/delete/confirm/?id={ref.id}']")
    expect(page.locator("#delete-alone")).to_be_visible()
    page.click("#confirm-delete")
    expect(page.locator(".alert-success")).to_contain_text("successfully deleted")
    assert not Reference.select().where(Reference.id == ref.id).exists()
    assert [e.action for e in AuditLog.select().order_by(AuditLog.created_at)] == [
        "create", "update", "delete"]

    # Sign out.
    page.click("text=Sign out")
    expect(page).to_have_url(f"{server}/login")
    page.goto(f"{server}/admin/")
    expect(page).to_have_url(f"{server}/login?next=/admin/")
    assert errors == [], errors
