"""The console's read-only "Database" page: revisions and when they were applied, pending
ones, drift, doctor's findings, the migration lock; through the test client on both
backends, and once in a real browser."""

from __future__ import annotations

from browser import EMAIL, PASSWORD, is_csp_violation
from playwright.sync_api import expect

from deepref import migrate as runner
from support import text


def test_the_page_lists_revisions_and_says_all_is_well(client, db):
    body = text(client.get("/admin/database/"))
    for name in runner.available():
        assert f'<th scope="row">{name}</th>' in body
    assert "doctor: nothing needs action." in body
    assert "None: the database matches the models." in body
    assert "Free: no migration is running or waiting." in body
    assert f"({len(runner.available())} applied, 0 pending)" in body


def test_the_page_shows_drift_as_doctor_does(client, db):
    db.execute_sql("CREATE TABLE stray_table (id integer)")
    try:
        body = text(client.get("/admin/database/"))
    finally:
        db.execute_sql("DROP TABLE stray_table")
    assert "doctor: 1 finding(s) need action." in body
    assert "unexpected table stray_table (in the database, not in the models)" in body


def test_the_page_is_for_signed_in_admins_only(anon):
    response = anon.get("/admin/database/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_page_in_a_browser(server, page):
    seen = []
    page.on("pageerror", lambda exc: seen.append(str(exc)))
    page.on("console", lambda msg: is_csp_violation(msg.text) and seen.append(msg.text))
    page.goto(f"{server}/login")
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{server}/admin/")
    page.click("nav >> text=Database")
    expect(page).to_have_url(f"{server}/admin/database/")
    expect(page.locator("h1")).to_have_text("Database")
    expect(page.locator("#revisions tbody tr")).to_have_count(len(runner.available()))
    expect(page.locator("#doctor-title")).to_have_text("doctor: nothing needs action.")
    assert seen == []
