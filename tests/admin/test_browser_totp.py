"""Two-factor sign-in in a real browser (headless Chromium, the real CSP): set up an
authenticator app from the account page (the secret read off the page, codes computed
with pyotp), sign out, sign in with the password and then a code. axe-core checks the
new pages (0 critical, 0 serious)."""

from __future__ import annotations

import pyotp
from axe_playwright_python.sync_playwright import Axe
from browser import EMAIL, OUTPUT, PASSWORD, is_csp_violation
from playwright.sync_api import expect

from deepref.models import SecondFactor
from deepref.models.fields import utcnow


def fresh_code(secret: str) -> str:
    """A code for a step after the last one used (the enrolment's is refused as a replay)."""
    totp = pyotp.TOTP(secret)
    used = SecondFactor.get().last_used_step or 0
    step = max(totp.timecode(utcnow()), used + 1)
    return totp.at(step * totp.interval)


def serious(axe, tab) -> list:
    found = axe.run(tab).response["violations"]
    return [(tab.url, v["id"], v["nodes"][0]["target"]) for v in found
            if v["impact"] in ("serious", "critical")]


def test_set_up_a_second_factor_and_sign_in_with_it(server, page):
    problems, axe, failures = [], Axe(), []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda msg: is_csp_violation(msg.text) and problems.append(msg.text))

    page.goto(f"{server}/login")
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.click("#signed-in-as")
    expect(page).to_have_url(f"{server}/admin/account/")
    failures += serious(axe, page)
    page.click("#enrol-factor")
    expect(page.locator(".totp-qr svg")).to_be_visible()
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "admin-account-enrol.png"), full_page=True)
    failures += serious(axe, page)
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("#confirm-factor")
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    failures += serious(axe, page)

    page.click("button:has-text('Sign out')")
    expect(page).to_have_url(f"{server}/login")
    page.goto(f"{server}/admin/user/")
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{server}/login/code")
    failures += serious(axe, page)
    page.fill("#code", "000000" if fresh_code(secret) != "000000" else "111111")
    page.click("button[type=submit]")
    expect(page.locator("#code-error")).to_be_visible()
    page.fill("#code", fresh_code(secret))
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{server}/admin/user/")
    expect(page.locator("#signed-in-as")).to_have_text(EMAIL)
    page.goto(f"{server}/admin/account/")
    expect(page.locator("#factor-status")).to_contain_text("10 unused recovery codes left")
    page.screenshot(path=str(OUTPUT / "admin-account.png"), full_page=True)
    assert failures == [], failures
    assert problems == [], problems
