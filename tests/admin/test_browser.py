"""The console in a real browser: Debian's headless Chromium driven by Playwright, against
a real HTTP server (werkzeug, threaded, on a free loopback port) over SQLite.

Sign in, add a filter, create a reference (choosing its seeker through the type-ahead
lookup), find it by search, edit it, add a reference row to a bundle, run a bulk action
(cancelled, then confirmed), delete through the confirmation page, sign out. A screenshot
of the references list is saved in test-output/.

The whole run is under the real Content-Security-Policy (no inline event handlers, no
javascript: URLs): any violation the browser reports fails the test.
"""

from __future__ import annotations

import re

from browser import EMAIL, OUTPUT, PASSWORD, is_csp_violation
from playwright.sync_api import expect

from deepref.models import AIFinetuneDataset, AuditLog, Reference

def test_sign_in_create_search_edit_delete_sign_out(server, page):
    errors, violations, dialogs = [], [], []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: is_csp_violation(msg.text) and violations.append(msg.text))

    # Anonymous: sent to the sign-in page; sign in.
    page.goto(f"{server}/admin/reference/")
    expect(page).to_have_url(f"{server}/login?next=/admin/reference/")
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{server}/admin/reference/")
    expect(page.locator("#signed-in-as")).to_have_text(EMAIL)

    # Filter: the dropdown's item adds a filter row, Apply puts it in the URL.
    page.click("text=Add Filter")
    page.click(".field-filters a.filter:has-text('Status')")
    expect(page.locator("table.filters tr")).to_have_count(1)
    page.click("#filter_form button[type=submit]")
    expect(page).to_have_url(re.compile(r"flt\d+_status_equals="))
    page.goto(f"{server}/admin/reference/")

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

    # Bundle edit: the inline "Add" button adds a reference row; its remove link asks first.
    page.goto(f"{server}/admin/bundle/")
    page.click("table.model-list a[title='Edit record']")
    rows = page.locator("#reference_links .inline-field-list > .inline-field")
    expect(rows).to_have_count(0)
    page.click("#reference_links-button")
    expect(rows).to_have_count(1)
    # Its lookup offers only the bundle's seeker's references: the seeker goes with it.
    page.click("#reference_links .inline-field .select2-choice")
    with page.expect_request(lambda request: "/ajax/lookup/" in request.url) as lookup:
        page.keyboard.type("Ac")  # lookups start at two characters
    assert "seeker=" in lookup.value.url and "name=reference_links-reference" in lookup.value.url
    page.keyboard.press("Escape")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#reference_links .inline-remove-field")
    expect(rows).to_have_count(0)

    # Bulk action on fine-tune datasets: cancelled, nothing changes; confirmed, it runs.
    page.goto(f"{server}/admin/aifinetunedataset/")
    page.check("input.action-checkbox")
    for answer in ("dismiss", "accept"):
        page.once("dialog", lambda dialog, answer=answer: (
            dialogs.append(dialog.message), getattr(dialog, answer)()))
        page.click("text=With selected")
        page.click("a[data-model-action='include']")
        if answer == "dismiss":
            expect(page.locator("input.action-checkbox")).to_be_checked()
            assert not AIFinetuneDataset.get().included_in_training
    expect(page.locator(".alert-success")).to_contain_text("1 example(s) included in training")
    assert AIFinetuneDataset.get().included_in_training
    assert dialogs == ["Include the selected examples in training?"] * 2

    # Sign out.
    page.click("text=Sign out")
    expect(page).to_have_url(f"{server}/login")
    page.goto(f"{server}/admin/")
    expect(page).to_have_url(f"{server}/login?next=/admin/")
    assert errors == [], errors
    assert violations == [], violations
