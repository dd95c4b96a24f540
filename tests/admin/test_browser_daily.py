"""A morning's work in a real browser (headless Chromium, the real CSP): the KYC queue,
native date inputs, history and revert, the dashboard's charts, the CSV download,
keyboard use, caching, and axe-core on every console page (0 critical, 0 serious)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from browser import EMAIL, OUTPUT, PASSWORD, is_csp_violation
from playwright.sync_api import expect

from deepref.models import AuditLog, BundleReference, KYCDocument, Reference, User
from deepref.models.fields import UTC, utcnow
from support import make_bundle, make_kyc, make_reference


def sign_in(page, server):
    page.goto(f"{server}/login")
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{server}/admin/")


def watch(page):
    """Page errors and CSP violations seen while the test runs."""
    seen = []
    page.on("pageerror", lambda exc: seen.append(str(exc)))
    page.on("console", lambda msg: is_csp_violation(msg.text) and seen.append(msg.text))
    return seen


def seeker():
    return User.get(User.email == "jane.seeker@example.com")


def test_kyc_approve_and_reject_from_the_queue(server, page):
    problems = watch(page)
    older = make_kyc(seeker(), document_type="passport", file_path="kyc/jane/passport.png",
                     created_at=utcnow() - dt.timedelta(days=3))
    make_kyc(seeker(), document_type="selfie", file_path="kyc/jane/selfie.png")
    sign_in(page, server)
    page.click("text=Review them, oldest first")
    rows = page.locator("table.model-list tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("kyc/jane/passport.png")
    expect(rows.first).to_contain_text("3 days")
    rows.first.locator("a[title='View record']").click()
    page.click("#approve")
    expect(page.locator(".alert-success")).to_contain_text("1 document approved.")
    assert KYCDocument.get_by_id(older.id).reviewed_by.email == EMAIL
    page.locator("table.model-list tbody tr").first.locator("a[title='View record']").click()
    page.click("#reject")
    page.click("#confirm-reject")  # no reason yet: the browser asks for it
    assert KYCDocument.get(KYCDocument.document_type == "selfie").status == "pending"
    page.fill("#reason", "The face is not visible.")
    page.click("#confirm-reject")
    expect(page.locator(".alert-success")).to_contain_text("1 document rejected.")
    selfie = KYCDocument.get(KYCDocument.document_type == "selfie")
    assert (selfie.status, selfie.rejection_reason) == ("rejected", "The face is not visible.")
    assert seeker().kyc_status == "rejected"
    assert problems == []


def test_dates_are_native_inputs_that_cover_nothing(server, page):
    problems = watch(page)
    ref = make_reference(seeker())
    sign_in(page, server)
    page.goto(f"{server}/admin/reference/edit/?id={ref.id}")
    field = page.locator("#expiry_date")
    assert field.get_attribute("type") == "datetime-local"
    expect(page.locator("label[for=expiry_date]")).to_contain_text("(UTC)")
    field.fill("2027-06-30T09:15:00")
    field.press("Escape")
    field.press("Tab")
    save = page.locator("input[type=submit][value='Save']")
    save.scroll_into_view_if_needed()
    box = save.bounding_box()
    top = page.evaluate("([x, y]) => document.elementFromPoint(x, y).value",
                        [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])
    assert top == "Save", "something covers the Save button"
    save.click()
    expect(page.locator(".alert-success")).to_contain_text("successfully saved")
    assert Reference.get_by_id(ref.id).expiry_date == dt.datetime(2027, 6, 30, 9, 15, tzinfo=UTC)
    # Filters take the same native input.
    page.goto(f"{server}/admin/reference/")
    page.click("text=Add Filter")
    page.click(".field-filters a.filter:has-text('Expires')")
    assert page.locator("table.filters input.filter-val").get_attribute("type") == "datetime-local"
    assert problems == []


def test_history_and_revert(server, page):
    problems = watch(page)
    ref = make_reference(seeker(), company="Acme")
    sign_in(page, server)
    page.goto(f"{server}/admin/reference/edit/?id={ref.id}")
    page.fill("#company", "Globex")
    page.click("input[type=submit][value='Save']")
    page.goto(f"{server}/admin/reference/details/?id={ref.id}")
    page.click("#history-link")
    entry = page.locator(".history-entry").first
    expect(entry).to_contain_text(f"Update by {EMAIL}")
    expect(entry).to_contain_text("Acme")
    expect(entry).to_contain_text("Globex")
    entry.locator(".revert-link").click()
    page.click("#confirm-revert")
    expect(page.locator(".alert-success")).to_contain_text("The change was reverted")
    expect(page.locator(".history-entry").first).to_contain_text("Revert by")
    assert Reference.get_by_id(ref.id).company == "Acme"
    assert AuditLog.select().count() == 2
    assert problems == []


def test_dashboard_charts(server, page):
    problems = watch(page)
    for status in ("verified", "verified", "pending"):
        make_reference(seeker(), status=status)
    make_kyc(seeker(), created_at=utcnow() - dt.timedelta(days=20))
    sign_in(page, server)
    for chart in ("chart-statuses", "chart-kyc-ages", "chart-ai-count", "chart-ai-rate",
                  "chart-ai-tokens"):
        expect(page.locator(f"svg#{chart}")).to_be_visible()
    expect(page.locator("svg#chart-kyc-ages rect.bar.warn")).to_have_count(1)
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "admin-dashboard.png"), full_page=True)
    assert problems == []


def test_keyboard_skip_link_first_field_and_visible_focus(server, page):
    ref = make_reference(seeker())
    sign_in(page, server)
    page.goto(f"{server}/admin/reference/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")  # the first thing in the page's content
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.goto(f"{server}/admin/reference/edit/?id={ref.id}")
    page.wait_for_load_state("load")
    expect(page.locator(".select2-container-active, :focus")).not_to_have_count(0)
    focused = page.evaluate("document.activeElement.closest('.form-group') !== null")
    assert focused, "the edit form starts in its first field"


def test_a_navigation_fetches_only_the_page(server, page, hits):
    sign_in(page, server)
    page.goto(f"{server}/admin/reference/")
    page.goto(f"{server}/admin/bundle/")
    hits["server"].take()
    page.goto(f"{server}/admin/reference/")
    page.wait_for_load_state("load")
    assert hits["server"].take() == ["/admin/reference/"]


def console_pages(server):
    """Every kind of console page, with data on it."""
    jane = seeker()
    ref = make_reference(jane, company="Acme")
    bundle = make_bundle(jane, title="Second bundle")
    BundleReference.create(bundle=bundle, reference=ref, position=1)
    doc = make_kyc(jane)
    Reference.update(company="Acme Corp").where(Reference.id == ref.id).execute()
    entry = AuditLog.create(action="update", table_name="references", row_id=str(ref.id),
                            changes={"company": ["Acme", "Acme Corp"]})
    pages = ["/admin/", "/logout", f"/admin/reference/history/?id={ref.id}",
             f"/admin/reference/revert/?entry={entry.id}",
             f"/admin/reference/delete/confirm/?id={ref.id}",
             f"/admin/kycdocument/reject/?id={doc.id}", "/admin/reference/?page=x"]
    rows = {"reference": ref.id, "bundle": bundle.id, "kycdocument": doc.id, "user": jane.id}
    for view in ("reference", "bundle", "kycqueue", "kycdocument", "user", "aiprompt",
                 "aisession", "aiinteraction", "aifinetunedataset", "auditlog"):
        pages.append(f"/admin/{view}/")
    for view, row_id in rows.items():
        pages += [f"/admin/{view}/new/", f"/admin/{view}/edit/?id={row_id}",
                  f"/admin/{view}/details/?id={row_id}"]
    return pages


def test_axe_finds_no_serious_or_critical_violation_on_any_console_page(server, page):
    axe, report, failures = Axe(), {}, []
    paths = ["/login (signed out)", *console_pages(server)]
    for path in paths:
        if path == "/admin/":
            sign_in(page, server)
        page.goto(server + path.split(" ")[0])
        page.wait_for_load_state("load")
        found = axe.run(page).response["violations"]
        report[path] = {v["id"]: [v["impact"], len(v["nodes"])] for v in found}
        failures += [(path, v["id"], v["impact"], v["nodes"][0]["target"]) for v in found
                     if v["impact"] in ("serious", "critical")]
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / "axe-report.json").write_text(json.dumps(report, indent=2))
    assert len(report) >= 25
    assert failures == [], failures


def test_csv_download_of_a_filtered_list(server, page):
    problems = watch(page)
    make_reference(seeker(), referrer_name="=cmd|' /C calc'!A0", status="verified")
    make_reference(seeker(), referrer_name="Pending Pat", status="pending")
    sign_in(page, server)
    page.goto(f"{server}/admin/reference/?flt0_status_equals=verified")
    with page.expect_download() as download:
        page.click("#export-csv")
    body = Path(download.value.path()).read_text()
    assert download.value.suggested_filename.startswith("reference-")
    assert "'=cmd|' /C calc'!A0" in body and "Pending Pat" not in body
    assert AuditLog.get().changes["__export"][1]["rows"] == 1
    assert problems == []


def test_lists_show_one_row_a_line_at_1400_pixels(server, page):
    long = "Extraordinarily Long Company Name International Holdings"
    for n in range(8):
        user = User.create(email=f"a.very.long.email.address.number.{n}@example-company.com",
                           first_name="Maximiliana", last_name="Vandenberghe-Oyelaran",
                           last_login_at=utcnow())
        ref = make_reference(user, referrer_name="Bartholomew Featherstonehaugh", company=long,
                             role="Vice President of Engineering Operations")
        bundle = make_bundle(user, title=f"{long} bundle for a senior role application {n}")
        BundleReference.create(bundle=bundle, reference=ref)
        make_kyc(user, file_path=f"kyc/{user.id}/proof_of_address_scan_{n}.png")
    sign_in(page, server)
    for view in ("reference", "bundle", "kycqueue", "kycdocument", "user"):
        page.goto(f"{server}/admin/{view}/")
        heights = page.eval_on_selector_all("table.model-list tbody tr",
                                            "rows => rows.map(r => r.getBoundingClientRect().height)")
        assert len(heights) >= 8 and max(heights) < 36, (view, heights)
        overflow = page.evaluate("(() => { const t = document.querySelector('.table-responsive');"
                                 " return t.scrollWidth - t.clientWidth; })()")
        assert overflow <= 0, (view, overflow)
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUTPUT / f"admin-list-{view}.png"))
