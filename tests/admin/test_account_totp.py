"""Two-factor sign-in (issue 10, point 3): enrolment, the code step after the password,
wrong, replayed and recovery codes, the lockout, TOTP_REQUIRED_FOR_ADMINS, and
`flask create-admin EMAIL --reset-second-factor`. Both backends, CSRF on."""

from __future__ import annotations

import dataclasses
import re

import pyotp
import pytest

from deepref.auth import second_factor, throttle
from deepref.auth.session import SECOND_STEP
from deepref.models import (
    AdminSession, AuditLog, LoginAttempt, RecoveryCode, SecondFactor, User,
)
from support import ADMIN_EMAIL, post, text, token
from totp_support import code, code_step, enrol, password_step, signed_in, wrong_code

SECRET = re.compile(r'id="totp-secret">([A-Z2-7 ]+)<')
RECOVERY = re.compile(r"<li[^>]*>([a-z2-9]{5}-[a-z2-9]{5})</li>")


def test_enrolment_takes_effect_only_after_a_valid_code(client, admin_user, db):
    page = client.get("/admin/account/second-factor")
    body = text(page)
    assert page.status_code == 200 and "<svg" in body and 'class="segno"' in body
    secret = SECRET.search(body).group(1).replace(" ", "")
    assert client.get("/admin/account/second-factor").status_code == 200  # same secret again
    assert SECRET.search(text(client.get("/admin/account/second-factor"))).group(1).replace(
        " ", "") == secret
    assert not second_factor.is_enrolled(admin_user)

    refused = post(client, "/admin/account/second-factor", {"code": wrong_code(secret)})
    assert refused.status_code == 200 and "not valid" in text(refused)
    assert not second_factor.is_enrolled(admin_user)

    shown = post(client, "/admin/account/second-factor", {"code": code(secret)})
    codes = RECOVERY.findall(text(shown))
    assert len(codes) == 10 and len(set(codes)) == 10
    assert second_factor.is_enrolled(admin_user)
    # Stored encrypted (Fernet), recovery codes hashed: neither is readable in the database.
    raw = db.execute_sql("SELECT secret FROM second_factors").fetchone()[0]
    assert raw.startswith("gAAAA") and secret not in raw
    hashes = [r.code_hash for r in RecoveryCode.select()]
    assert len(hashes) == 10 and not any(c.replace("-", "") in h for c in codes for h in hashes)
    entry = AuditLog.get(AuditLog.table_name == "users")
    assert entry.changes == {"second_factor": ["none", "enrolled"]}
    assert entry.actor_email == ADMIN_EMAIL and entry.row_id == str(admin_user.id)
    history = text(client.get(f"/admin/user/history/?id={admin_user.id}"))
    assert "Second factor" in history and "enrolled" in history
    revert = client.get(f"/admin/user/revert/?entry={entry.id}")
    assert "changed a secret (Second factor)" in text(revert)
    # Enrolled: the page sends back to the account; the codes are never shown again.
    again = client.get("/admin/account/second-factor")
    assert again.status_code == 302 and again.location.endswith("/admin/account/")
    assert not RECOVERY.findall(text(client.get("/admin/account/")))


def test_sign_in_asks_for_the_code_after_the_password(anon, admin_user):
    secret, _ = enrol(admin_user)
    first = password_step(anon, next_url="/admin/reference/")
    assert first.status_code == 302 and first.location.endswith("/login/code")
    # Not signed in yet: no session row, /admin still sends to /login.
    assert AdminSession.select().count() == 0 and not signed_in(anon)
    assert "/login/code" in anon.get("/login/code").request.path
    done = code_step(anon, code(secret))
    assert done.status_code == 302 and done.location.endswith("/admin/reference/")
    assert signed_in(anon) and AdminSession.select().count() == 1
    assert anon.get("/login/code").location.endswith("/admin/")  # signed in already


def test_a_wrong_code_is_refused_and_counted(anon, admin_user):
    secret, _ = enrol(admin_user)
    password_step(anon)
    refused = code_step(anon, wrong_code(secret))
    assert refused.status_code == 200 and "not valid" in text(refused)
    assert not signed_in(anon)
    assert throttle.retry_after(ADMIN_EMAIL, "127.0.0.1") == 0
    assert LoginAttempt.select().where(LoginAttempt.email == ADMIN_EMAIL).count() == 1
    assert code_step(anon, code(secret)).status_code == 302 and signed_in(anon)


def test_a_replayed_code_is_refused(anon, admin_user, app):
    secret, _ = enrol(admin_user)
    used = code(secret)
    password_step(anon)
    assert code_step(anon, used).status_code == 302 and signed_in(anon)
    other = app.test_client()  # someone who saw the code, with the password
    password_step(other)
    replay = code_step(other, used)
    assert replay.status_code == 200 and "used already" in text(replay)
    assert not signed_in(other)
    assert not second_factor.check_code(admin_user, used)


def test_a_recovery_code_signs_in_once(anon, admin_user, app):
    _, codes = enrol(admin_user)
    password_step(anon)
    assert code_step(anon, codes[3].upper().replace("-", " ")).status_code == 302
    assert signed_in(anon)
    assert second_factor.remaining_recovery_codes(admin_user) == 9
    other = app.test_client()
    password_step(other)
    again = code_step(other, codes[3])
    assert again.status_code == 200 and not signed_in(other)
    assert second_factor.remaining_recovery_codes(admin_user) == 9


def test_codes_are_throttled_like_passwords(anon, admin_user):
    secret, _ = enrol(admin_user)
    password_step(anon)
    for _ in range(throttle.LIMIT):
        assert code_step(anon, wrong_code(secret)).status_code == 200
    locked = code_step(anon, code(secret))
    assert locked.status_code == 429 and "Too many failed sign-in attempts" in text(locked)
    assert int(locked.headers["Retry-After"]) > 0 and not signed_in(anon)
    # The password form is locked by the same count.
    assert password_step(anon).status_code == 429


def test_the_code_step_needs_csrf_and_a_recent_password(anon, admin_user):
    secret, _ = enrol(admin_user)
    assert anon.get("/login/code").status_code == 302  # no password given yet
    password_step(anon)
    no_token = anon.post("/login/code", data={"code": code(secret)})
    assert no_token.status_code == 400 and not signed_in(anon)
    with anon.session_transaction() as session:
        pending = dict(session["second_step"])
        pending["at"] -= SECOND_STEP.total_seconds() + 1
        session["second_step"] = pending
    late = code_step_without_page(anon, code(secret))
    assert late.status_code == 302 and late.location.endswith("/login")
    assert not signed_in(anon) and AdminSession.select().count() == 0


def code_step_without_page(client, value):
    """Post the code with a valid token (read from /login, as the code page has expired)."""
    return client.post("/login/code", data={"code": value, "csrf_token": token(client, "/login")})


@pytest.fixture
def required(app, monkeypatch):
    settings = dataclasses.replace(app.config["DEEPREF"], totp_required_for_admins=True)
    monkeypatch.setitem(app.config, "DEEPREF", settings)


def test_required_for_admins_sends_an_admin_to_enrol_and_nowhere_else(anon, admin_user,
                                                                         required):
    first = password_step(anon, next_url="/admin/reference/")
    assert first.status_code == 302
    for url in ("/admin/", "/admin/reference/", "/admin/account/", "/admin/user/"):
        response = anon.get(url)
        assert response.status_code == 302, url
        assert response.location.endswith("/admin/account/second-factor"), url
    scripted = anon.get("/admin/reference/", headers={"Accept": "application/json"})
    assert scripted.status_code == 403
    refused = anon.post("/admin/user/delete/", data={"id": str(admin_user.id),
                                                     "csrf_token": token(anon, "/admin/account/second-factor")})
    assert refused.status_code == 302 and User.get_or_none(User.id == admin_user.id)
    page = text(anon.get("/admin/account/second-factor"))
    secret = SECRET.search(page).group(1).replace(" ", "")
    confirmed = anon.post("/admin/account/second-factor", data={
        "code": code(secret), "csrf_token": token(anon, "/admin/account/second-factor")})
    assert len(RECOVERY.findall(text(confirmed))) == 10
    assert signed_in(anon)


def test_not_required_for_other_users_or_when_off(anon, admin_user, app, required):
    assert not second_factor.must_enrol(admin_user, False)
    admin_user.role = "seeker"
    assert not second_factor.must_enrol(admin_user, True)


def test_reset_second_factor_from_the_cli(app, admin_user, client):
    enrol(admin_user)
    assert signed_in(client)
    cli = app.test_cli_runner()
    result = cli.invoke(args=["create-admin", ADMIN_EMAIL.upper(), "--reset-second-factor"])
    assert result.exit_code == 0, result.output
    assert "Removed the second factor and recovery codes of admin@example.com" in result.output
    assert "signed out 1 session(s)" in result.output
    assert not second_factor.is_enrolled(admin_user) and RecoveryCode.select().count() == 0
    assert SecondFactor.select().count() == 0 and not signed_in(client)
    entry = AuditLog.get(AuditLog.table_name == "users")
    assert entry.changes == {"second_factor": ["enrolled", "none"]} and entry.user is None
    assert User.get_by_id(admin_user.id).password_hash == admin_user.password_hash
    again = cli.invoke(args=["create-admin", ADMIN_EMAIL, "--reset-second-factor"])
    assert again.exit_code == 0 and "has no second factor: nothing to do" in again.output
    unknown = cli.invoke(args=["create-admin", "nobody@example.com", "--reset-second-factor"])
    assert unknown.exit_code == 2 and "there is no user nobody@example.com" in unknown.output
    assert "Traceback" not in unknown.output


def test_codes_of_the_next_step_are_accepted_once(admin_user, db):
    """Clock drift: a code one step ahead is accepted, once."""
    secret, _ = enrol(admin_user)
    totp = pyotp.TOTP(secret)
    factor = second_factor.enrolled_factor(admin_user)
    ahead = totp.at((totp.timecode(factor.created_at) + 1) * totp.interval)
    assert second_factor.check_code(admin_user, ahead)
    assert not second_factor.check_code(admin_user, ahead)


def test_an_undecryptable_secret_refuses_codes_without_an_error(anon, admin_user, db):
    secret, _ = enrol(admin_user)
    db.execute_sql("UPDATE second_factors SET secret = 'not a fernet token'")
    password_step(anon)
    refused = code_step(anon, code(secret))
    assert refused.status_code == 200 and "not valid" in text(refused) and not signed_in(anon)


def test_rotating_the_key_re_encrypts_second_factor_secrets(app, admin_user, db):
    from cryptography.fernet import Fernet

    from deepref import crypto
    from deepref.cli.prompts import reencrypt

    secret, _ = enrol(admin_user)
    old = crypto.cipher()
    new_key = Fernet.generate_key().decode()
    keys = [new_key, *app.config["DEEPREF"].prompt_encryption_keys]
    crypto.bind(crypto.PromptCipher(keys))
    try:
        assert reencrypt(SecondFactor.secret) == (1, 1)
        crypto.bind(crypto.PromptCipher([new_key]))  # the old key gone
        assert SecondFactor.get().secret == secret
        assert second_factor.check_code(admin_user, code(secret))
    finally:
        crypto.bind(old)
