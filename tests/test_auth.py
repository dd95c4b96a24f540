"""Sign-in, the /admin gate, lockout, CSRF, security headers and the admin commands.

Every test runs on SQLite and PostgreSQL through the test client. Routes under
/admin/_authtest/ stand in for admin pages (the gate protects by path, so these are
guarded exactly like Flask-Admin's views).
"""

from __future__ import annotations

import datetime as dt
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit


import pytest
from flask import Blueprint, jsonify
from werkzeug.security import check_password_hash, generate_password_hash

from databases import database_of, empty_tables, module_env
from deepref import auth
from deepref import migrate as runner
from deepref.auth import throttle
from deepref.auth.admins import DEFAULT_ADMIN_EMAIL
from deepref.auth.views import REFUSED
from deepref.models import AdminSession, LoginAttempt, User, UserRole

PASSWORD = "correct horse battery"
LOCKED_TEXT = "Too many failed sign-in attempts"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
FLASK = Path(sys.executable).with_name("flask")


@pytest.fixture(scope="module")
def password_hash():
    """One real scrypt hash of PASSWORD, computed once (hashing is slow by design)."""
    return generate_password_hash(PASSWORD)


def add_stand_in_routes(app):
    """Routes under /admin that play the part of admin pages and ajax endpoints."""
    app.add_url_rule("/admin/_authtest/page", "authtest_page",
                     lambda: "secret page", methods=["GET", "POST"])
    app.add_url_rule("/admin/_authtest/lookup", "authtest_lookup",
                     lambda: jsonify(items=["secret"]))
    if "admin" not in app.blueprints:
        # What Flask-Admin mounts: its assets as the "admin" blueprint's static files.
        import flask_admin

        static = Path(flask_admin.__file__).parent / "static"
        app.register_blueprint(Blueprint("admin", __name__, static_folder=str(static),
                                         url_prefix="/admin", static_url_path="/static"))


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def backend(request):
    """Module-wide here: one database per backend for this file, emptied between tests."""
    return request.param


@pytest.fixture(scope="module")
def shared_env(backend, tmp_path_factory):
    """A migrated database for the whole module (creating one per test is slow)."""
    with module_env(backend, tmp_path_factory.mktemp("auth"), "deepref_test_auth") as env:
        yield env


@pytest.fixture
def auth_app(make_app, shared_env):
    """An app with CSRF on (as in production) and the stand-in admin routes, on the
    module's database, which is migrated and left empty afterwards."""
    app = make_app(shared_env, WTF_CSRF_ENABLED=True)
    db = database_of(app)
    runner.migrate(db, echo=lambda line: None)
    add_stand_in_routes(app)
    yield app
    empty_tables(db)


@pytest.fixture
def client(auth_app):
    return auth_app.test_client()


@pytest.fixture
def admin(auth_app, password_hash):
    user = User.create(email="boss@example.com", role="admin", password_hash=password_hash)
    UserRole.create(user=user, role="admin")
    return user


def csrf_token(client, page="/login"):
    response = client.get(page)
    assert response.status_code == 200, page
    return TOKEN.search(response.get_data(as_text=True)).group(1)


def login(client, email, password=PASSWORD, ip="127.0.0.1", **form):
    data = {"email": email, "password": password, "csrf_token": csrf_token(client), **form}
    return client.post("/login", data=data, environ_base={"REMOTE_ADDR": ip})


def signed_in(client) -> bool:
    return client.get("/admin/_authtest/page").status_code == 200


# The gate ------------------------------------------------------------------------------

ADMIN_URLS = [
    "/admin",
    "/admin/",
    "/admin/_authtest/page",
    "/admin/reference/",
    "/admin/reference/edit/?id=1&url=%2Fadmin%2Freference%2F",
    "/admin/reference/ajax/lookup/?name=seeker&query=a",
    "/admin/reference/export/csv/",
    "/admin/no-such-page",
]


def test_anonymous_html_requests_to_admin_are_sent_to_login(client):
    for url in ADMIN_URLS:
        response = client.get(url, headers={"Accept": "text/html,*/*;q=0.8"})
        assert response.status_code == 302, url
        location = urlsplit(response.location)
        assert location.path == "/login" and parse_qs(location.query)["next"] == [url], url
        assert "secret" not in response.get_data(as_text=True)
    response = client.post("/admin/_authtest/page", data={"x": "1"})
    assert response.status_code == 302 and response.location.startswith("/login?next=")


def test_anonymous_scripted_requests_to_admin_get_401_json(client):
    for url in ADMIN_URLS:
        for headers in ({"X-Requested-With": "XMLHttpRequest"}, {"Accept": "application/json"}):
            response = client.get(url, headers=headers)
            assert response.status_code == 401, (url, headers)
            assert response.get_json() == {"error": "login required"}


def test_only_admin_static_assets_are_public(client, admin):
    asset = client.get("/admin/static/vendor/jquery.min.js")
    assert asset.status_code == 200 and b"jQuery" in asset.data
    asset.close()
    for url in ("/admin/staticx/vendor/jquery.min.js", "/admin/_authtest/page?/admin/static/"):
        assert client.get(url).status_code == 302, url
    login(client, admin.email)
    assert client.get("/admin/_authtest/lookup").get_json() == {"items": ["secret"]}


def test_pages_outside_admin_stay_public(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/login").status_code == 200


# Signing in ----------------------------------------------------------------------------

def test_admin_signs_in_and_lands_on_next(client, admin):
    before = dt.datetime.now(dt.timezone.utc)
    response = login(client, "  BOSS@example.com ", next="/admin/_authtest/page?x=1")
    assert response.status_code == 302
    assert response.location == "/admin/_authtest/page?x=1"
    assert client.get("/admin/_authtest/page").get_data(as_text=True) == "secret page"
    assert User.get_by_id(admin.id).last_login_at >= before.replace(microsecond=0)
    with client.application.test_request_context():
        assert auth.current_user() is None  # a request without the cookie
    with client.session_transaction() as session:
        assert set(session) >= {"session_token"} and "user_id" not in session
    assert [row.user_id for row in AdminSession.select()] == [admin.id]


def test_signed_in_user_is_current_user(auth_app, admin):
    with auth_app.test_request_context():
        from flask import session

        session.update(auth.session_values(admin))
        assert auth.current_user().id == admin.id


def test_wrong_password_and_unknown_email_get_the_same_answer(client, admin):
    wrong = login(client, admin.email, "not the password!")
    unknown = login(client, "nobody@example.com")
    for response in (wrong, unknown):
        assert response.status_code == 200
        assert REFUSED in response.get_data(as_text=True)
    assert not signed_in(client)


@pytest.mark.parametrize("change", [{"is_active": False}, {"role": "seeker"},
                                    {"password_hash": None}])
def test_only_active_admins_with_a_password_can_sign_in(client, admin, change):
    User.update(**change).where(User.id == admin.id).execute()
    response = login(client, admin.email)
    assert REFUSED in response.get_data(as_text=True)
    assert not signed_in(client)


def test_signing_in_starts_a_new_session(client, admin):
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    login(client, admin.email)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session.permanent


@pytest.mark.parametrize("change", [{"is_active": False}, {"role": "employer"}])
def test_admin_deactivated_or_demoted_mid_session_is_signed_out(client, admin, change):
    login(client, admin.email)
    assert signed_in(client)
    User.update(**change).where(User.id == admin.id).execute()
    response = client.get("/admin/_authtest/page")
    assert response.status_code == 302 and response.location.startswith("/login")
    User.update(is_active=True, role="admin").where(User.id == admin.id).execute()
    assert not signed_in(client), "the session must have been ended, not just paused"


def test_password_reset_ends_existing_sessions(client, admin, auth_app):
    login(client, admin.email)
    assert signed_in(client)
    result = auth_app.test_cli_runner().invoke(
        args=["create-admin", admin.email, "--password-stdin"], input="another long password\n")
    assert result.exit_code == 0, result.output
    assert not signed_in(client)


# Lockout -------------------------------------------------------------------------------

def assert_locked(response):
    assert response.status_code == 429
    text = response.get_data(as_text=True)
    assert LOCKED_TEXT in text and REFUSED not in text
    assert 0 < int(response.headers["Retry-After"]) <= 15 * 60
    return text


def test_five_failures_for_one_email_lock_it_even_with_the_right_password(client, admin):
    for attempt in range(5):
        response = login(client, admin.email, "wrong password!", ip=f"10.0.0.{attempt}")
        assert response.status_code == 200
    text = assert_locked(login(client, admin.email, ip="10.9.9.9"))
    assert not signed_in(client)
    # An unknown email locked the same way reads the same: nothing tells it doesn't exist.
    for attempt in range(5):  # what the view records for each refusal
        throttle.record_failure("ghost@example.com", f"10.1.0.{attempt}")
    ghost = assert_locked(login(client, "ghost@example.com", ip="10.9.9.8"))
    same = [TOKEN.sub("", page) for page in (ghost.replace("ghost@example.com", admin.email), text)]
    assert same[0] == same[1]
    # Other emails from other addresses are not affected.
    assert login(client, "else@example.com", ip="10.2.0.1").status_code == 200


def test_a_parallel_burst_gets_no_more_than_five_guesses(auth_app, admin):
    import threading

    clients = [auth_app.test_client() for _ in range(12)]
    forms = [{"email": admin.email, "password": f"guess {n}", "csrf_token": csrf_token(c)}
             for n, c in enumerate(clients)]
    start, statuses = threading.Barrier(len(clients)), []

    def attempt(client, form, n):
        start.wait()
        response = client.post("/login", data=form, environ_base={"REMOTE_ADDR": f"10.7.0.{n}"})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=attempt, args=(c, f, n))
               for n, (c, f) in enumerate(zip(clients, forms))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(statuses) == [200] * 5 + [429] * 7
    assert LoginAttempt.select().count() == 5


def test_five_failures_from_one_address_lock_it(client, admin):
    for attempt in range(5):
        login(client, f"user{attempt}@example.com", "wrong password!", ip="192.0.2.7")
    assert_locked(login(client, admin.email, ip="192.0.2.7"))
    assert login(client, admin.email, ip="192.0.2.8").status_code == 302


def test_lockout_ends_with_the_window(client, admin):
    for attempt in range(5):
        throttle.record_failure(admin.email, "127.0.0.1")
    assert_locked(login(client, admin.email))
    assert_locked(login(client, admin.email))
    assert LoginAttempt.select().count() == 5, "attempts while locked are not counted"
    earlier = dt.datetime.now(dt.timezone.utc) - throttle.WINDOW + dt.timedelta(seconds=30)
    LoginAttempt.update(attempted_at=earlier).execute()
    assert_locked(login(client, admin.email))  # 30 more seconds to wait
    LoginAttempt.update(attempted_at=earlier - dt.timedelta(seconds=31)).execute()
    assert login(client, admin.email).status_code == 302
    assert signed_in(client)


def test_old_attempts_are_pruned(client, admin):
    old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)
    LoginAttempt.create(email="old@example.com", ip="10.0.0.1", attempted_at=old)
    login(client, admin.email, "wrong password!")
    assert [a.email for a in LoginAttempt.select()] == [admin.email]


def device_cookie(response):
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("deepref_device=")]
    return cookies[0] if cookies else None


def test_a_stranger_cannot_lock_an_admin_out_of_a_known_browser(client, auth_app, admin):
    # The admin signs in once from this browser: it becomes a known device.
    response = login(client, admin.email, ip="198.51.100.1")
    cookie = device_cookie(response)
    assert cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/login" in cookie
    sign_out(client)
    # Someone who knows the email fails on purpose from elsewhere, again and again.
    for attempt in range(8):
        login(auth_app.test_client(), admin.email, "wrong password!", ip=f"203.0.113.{attempt}")
    # A new browser is locked out; the admin's own browser, from a new address, is not.
    assert_locked(login(auth_app.test_client(), admin.email, ip="198.51.100.2"))
    assert login(client, admin.email, ip="198.51.100.3").status_code == 302
    assert signed_in(client)


def sign_out(client):
    client.post("/logout", data={"csrf_token": csrf_token(client, "/logout")})


def test_a_known_browser_still_gets_only_five_guesses_per_address(client, auth_app, admin):
    login(client, admin.email, ip="198.51.100.1")
    sign_out(client)
    for attempt in range(5):
        assert login(client, admin.email, "wrong password!", ip="198.51.100.9").status_code == 200
    assert_locked(login(client, admin.email, ip="198.51.100.9"))


def test_a_password_reset_forgets_known_browsers(client, auth_app, admin):
    login(client, admin.email, ip="198.51.100.1")
    sign_out(client)
    for attempt in range(5):
        throttle.record_failure(admin.email, f"203.0.113.{attempt}")
    User.update(password_hash=generate_password_hash("another long password")).where(
        User.id == admin.id).execute()
    assert_locked(login(client, admin.email, "another long password", ip="198.51.100.4"))


def test_a_forged_device_cookie_is_not_a_known_browser(client, admin):
    for attempt in range(5):
        throttle.record_failure(admin.email, f"203.0.113.{attempt}")
    client.set_cookie("deepref_device", "eyJlbWFpbCI6ImJvc3NAZXhhbXBsZS5jb20ifQ.forged.sig",
                      path="/login")
    assert_locked(login(client, admin.email, ip="198.51.100.5"))


# Logout --------------------------------------------------------------------------------

def test_logout_asks_then_signs_out(client, admin):
    assert client.get("/logout").location == "/login"
    login(client, admin.email)
    page = client.get("/logout")
    assert page.status_code == 200 and admin.email in page.get_data(as_text=True)
    assert client.post("/logout").status_code == 400  # no CSRF token: refused
    assert signed_in(client)
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/logout")})
    assert response.status_code == 302 and response.location == "/login"
    assert "You are signed out." in client.get("/login").get_data(as_text=True)
    assert not signed_in(client)


def copy_of_cookie(client, auth_app):
    """A second client holding the same session cookie, as a thief would."""
    other = auth_app.test_client()
    cookie = client.get_cookie(auth_app.config.get("SESSION_COOKIE_NAME", "session"))
    other.set_cookie(cookie.key, cookie.value)
    return other


def test_a_copied_cookie_dies_with_the_sign_out(client, admin, auth_app):
    login(client, admin.email)
    thief = copy_of_cookie(client, auth_app)
    assert signed_in(thief)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/logout")})
    assert not signed_in(thief)
    assert AdminSession.select().count() == 0


def test_each_sign_in_is_its_own_session(client, admin, auth_app):
    login(client, admin.email)
    laptop = auth_app.test_client()
    login(laptop, admin.email)
    assert AdminSession.select().count() == 2
    laptop.post("/logout", data={"csrf_token": csrf_token(laptop, "/logout")})
    assert signed_in(client) and not signed_in(laptop)


@pytest.mark.parametrize("column, age", [("last_seen_at", dt.timedelta(hours=8, minutes=1)),
                                         ("created_at", dt.timedelta(hours=24, minutes=1))])
def test_sessions_end_when_idle_or_old_whatever_the_cookie_says(client, admin, column, age):
    login(client, admin.email)
    then = dt.datetime.now(dt.timezone.utc) - age
    AdminSession.update({getattr(AdminSession, column): then}).execute()
    assert not signed_in(client)
    assert AdminSession.select().count() == 0


def test_a_demoted_admins_sessions_stay_ended_after_re_promotion(client, admin, auth_app):
    login(client, admin.email)
    thief = copy_of_cookie(client, auth_app)
    User.update(role="seeker").where(User.id == admin.id).execute()
    assert not signed_in(client)  # the first request after the demotion ends the session
    User.update(role="admin").where(User.id == admin.id).execute()
    assert not signed_in(thief)


def test_oversized_request_bodies_are_refused_unread(client):
    from deepref import MAX_REQUEST_BYTES

    response = client.post("/login", data=b"x" * (MAX_REQUEST_BYTES + 1),
                           content_type="application/octet-stream")
    assert response.status_code == 413


# CSRF ----------------------------------------------------------------------------------

def test_state_changing_requests_without_a_csrf_token_are_refused(client, admin):
    response = client.post("/login", data={"email": admin.email, "password": PASSWORD})
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "did not come from this site" in text and "Traceback" not in text
    assert not signed_in(client)
    login(client, admin.email)
    token = csrf_token(client, "/logout")
    for method in ("post", "put", "patch", "delete"):
        call = getattr(client, method)
        assert call("/admin/_authtest/page").status_code in (400, 405), method
        assert call("/admin/_authtest/page", data={"csrf_token": "forged"}).status_code in (400, 405)
    assert client.post("/admin/_authtest/page", data={"csrf_token": token}).status_code == 200
    assert client.post("/admin/_authtest/page", headers={"X-CSRFToken": token}).status_code == 200
    scripted = client.post("/admin/_authtest/page", headers={"X-Requested-With": "XMLHttpRequest"})
    assert scripted.status_code == 400 and "error" in scripted.get_json()


# Headers and cookies -------------------------------------------------------------------

def test_security_headers_on_every_response(client):
    for response in (client.get("/login"), client.get("/healthz"), client.get("/admin/"),
                     client.get("/no-such-page"), client.post("/login")):
        headers = response.headers
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "object-src 'none'" in csp and "http" not in csp
        # No inline event handlers or javascript: URLs, even in CSP level 2 browsers.
        assert "script-src-attr 'none'" in csp
        assert "unsafe-inline" not in csp.split("style-src")[0] and "unsafe-hashes" not in csp
    assert client.get("/admin/").headers["Cache-Control"] == "no-store"


def test_csp_nonce_is_fresh_per_request_and_matches_the_page(auth_app):
    auth_app.add_url_rule("/nonce", "nonce", lambda: auth.csp_nonce())
    client = auth_app.test_client()
    first, second = client.get("/nonce"), client.get("/nonce")
    assert first.data != second.data
    for response in (first, second):
        csp = response.headers["Content-Security-Policy"]
        scripts = next(d for d in csp.split("; ") if d.startswith("script-src "))
        assert f"'nonce-{response.get_data(as_text=True)}'" in scripts.split()
    plain = client.get("/login").headers["Content-Security-Policy"]
    assert "'nonce-" not in plain  # no script on the page, no nonce to allow one


def session_cookie(response):
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert len(cookies) == 1
    return cookies[0]


def test_session_cookie_is_httponly_and_samesite_lax(client, admin):
    cookie = session_cookie(login(client, admin.email))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    assert "Secure" not in cookie


def test_session_cookie_is_secure_when_configured(make_app, shared_env, admin):
    app = make_app({**shared_env, "SESSION_COOKIE_SECURE": "true"}, WTF_CSRF_ENABLED=True)
    assert "Secure" in session_cookie(login(app.test_client(), admin.email))


def test_session_cookie_is_secure_over_https(client, admin):
    # Over HTTPS, Flask-WTF also checks that the Referer is this site.
    https = {"base_url": "https://localhost", "headers": {"Referer": "https://localhost/login"}}
    token = TOKEN.search(client.get("/login", **https).get_data(as_text=True)).group(1)
    response = client.post("/login", **https, data={
        "email": admin.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert "Secure" in session_cookie(response)
    token = TOKEN.search(client.get("/logout", **https).get_data(as_text=True)).group(1)
    foreign = client.post("/logout", base_url="https://localhost", data={"csrf_token": token},
                          headers={"Referer": "https://evil.example/"})
    assert foreign.status_code == 400  # a valid token, sent from another site
    assert client.post("/logout", **https, data={"csrf_token": token}).status_code == 302


# Redirects -----------------------------------------------------------------------------

EVIL_TARGETS = [
    "https://evil.example/", "//evil.example/", "/\\evil.example/", "\\\\evil.example",
    "/\t/evil.example/", "/\n/evil.example", "javascript:alert(1)", "http:/evil.example",
    "admin/", "",
]


def test_next_cannot_send_the_user_to_another_site(client, admin):
    response = login(client, admin.email, next="//evil.example/")
    assert response.status_code == 302 and response.location == "/admin/"
    for target in EVIL_TARGETS:  # signed in, /login sends on to `next` too
        response = client.get("/login", query_string={"next": target})
        assert response.location == "/admin/", target
    local = client.get("/login", query_string={"next": "/admin/x?y=1"})
    assert local.location == "/admin/x?y=1"


def test_only_trusted_hosts_are_answered(make_app, shared_env, admin):
    app = make_app({**shared_env, "TRUSTED_HOSTS": "admin.example.com,.corp.example"},
                   WTF_CSRF_ENABLED=True)
    client = app.test_client()
    assert client.get("/login", headers={"Host": "admin.example.com"}).status_code == 200
    assert client.get("/login", headers={"Host": "eu.corp.example:8443"}).status_code == 200
    evil = client.get("/admin/reference/edit/?id=1&url=http://evil.example/",
                      headers={"Host": "evil.example"})
    assert evil.status_code == 400 and "evil.example" not in evil.headers.get("Location", "")


def test_a_forwarded_host_is_checked_too(make_app, shared_env, admin):
    app = make_app({**shared_env, "TRUSTED_HOSTS": "admin.example.com", "PROXY_FIX_HOPS": "1"})
    client = app.test_client()
    ok = client.get("/login", headers={"Host": "admin.example.com",
                                       "X-Forwarded-Host": "admin.example.com"})
    assert ok.status_code == 200
    forged = client.get("/login", headers={"Host": "admin.example.com",
                                           "X-Forwarded-Host": "evil.example"})
    assert forged.status_code == 400


@pytest.mark.parametrize("value", ["evil.example/path", "http://a.example", "a b", "a.example:80"])
def test_trusted_hosts_must_be_host_names(make_app, shared_env, value):
    from deepref.config import ConfigError

    with pytest.raises(ConfigError, match="TRUSTED_HOSTS"):
        make_app({**shared_env, "TRUSTED_HOSTS": value})


# Commands ------------------------------------------------------------------------------

def create_admin(app, *args, stdin=""):
    return app.test_cli_runner().invoke(args=["create-admin", *args], input=stdin)


def test_create_admin_creates_a_user_who_can_sign_in(auth_app, client):
    result = create_admin(auth_app, " New.Admin@Example.com", "--password-stdin",
                          stdin="a long enough password\n")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Created admin new.admin@example.com."
    user = User.get(User.email == "new.admin@example.com")
    assert (user.role, user.is_active) == ("admin", True)
    assert check_password_hash(user.password_hash, "a long enough password")
    assert user.password_hash.startswith("scrypt:")
    assert login(client, user.email, "a long enough password").status_code == 302


def test_create_admin_resets_and_promotes_an_existing_user(auth_app, client, password_hash):
    User.create(email="ref@example.com", role="referrer", is_active=False,
                password_hash=password_hash)
    result = create_admin(auth_app, "ref@example.com", "--password-stdin",
                          stdin="brand new password 1\nsecond line ignored\n")
    assert result.exit_code == 0, result.output
    assert "brand new password" not in result.output
    assert result.output.strip() == (
        "Updated ref@example.com: reset the password, changed the role from referrer to "
        "admin, re-activated the account, granted the console role admin.")
    assert User.select().where(User.email == "ref@example.com").count() == 1
    assert REFUSED in login(client, "ref@example.com", PASSWORD).get_data(as_text=True)
    assert login(client, "ref@example.com", "brand new password 1").status_code == 302


BAD_INPUT = [
    (["a@example.com", "--password-stdin"], "too short\n",
     "Error: the password must be at least 12 characters long"),
    (["a@example.com", "--password-stdin"], "", "Error: --password-stdin: no password"),
    (["not-an-email", "--password-stdin"], "a long enough password\n",
     "Error: 'not-an-email' is not a valid email address"),
    (["a@example.com"], "", "Error: no terminal to ask for the password on"),
]


def test_create_admin_refuses_bad_input_in_one_line(auth_app):
    for args, stdin, message in BAD_INPUT:
        result = create_admin(auth_app, *args, stdin=stdin)
        assert result.exit_code == 2, args
        assert result.output.startswith(message) and result.output.count("\n") == 1, args
    assert User.select().count() == 0


def test_create_admin_on_an_unmigrated_database_says_so(make_app, env):
    app = make_app(env)
    result = create_admin(app, "a@example.com", "--password-stdin",
                          stdin="a long enough password\n")
    assert result.exit_code == 1
    # SQLite: the file does not exist yet (only `flask db migrate` creates it).
    assert result.output.startswith(("Error: database", "Error: no database at"))
    assert "run `flask db migrate` first" in result.output and "Traceback" not in result.output


def test_ensure_admin_creates_one_admin_once_on_sqlite(auth_app, client, backend):
    runner_cli = auth_app.test_cli_runner()
    first = runner_cli.invoke(args=["ensure-admin"])
    assert first.exit_code == 0, first.output
    if backend == "postgres":
        assert "does nothing on PostgreSQL" in first.output
        assert User.select().count() == 0
        return
    password = re.search(r"password: (\S+)", first.output).group(1)
    assert DEFAULT_ADMIN_EMAIL in first.output and len(password) >= 20
    second = runner_cli.invoke(args=["ensure-admin"])
    assert second.exit_code == 0 and password not in second.output
    assert "nothing to do" in second.output
    assert User.select().count() == 1
    assert login(client, DEFAULT_ADMIN_EMAIL, password).status_code == 302


def test_ensure_admin_does_nothing_when_an_admin_exists(auth_app, admin):
    result = auth_app.test_cli_runner().invoke(args=["ensure-admin"])
    assert result.exit_code == 0 and "password:" not in result.output
    assert User.select().count() == 1


def read_until(fd, text, timeout=20.0):
    seen, deadline = b"", time.monotonic() + timeout
    while text.encode() not in seen:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise AssertionError(f"waited for {text!r}, got {seen!r}")
        try:
            chunk = os.read(fd, 1024)
        except OSError:  # the child closed the terminal
            chunk = b""
        if not chunk:
            raise AssertionError(f"process ended before {text!r}; got {seen!r}")
        seen += chunk
    return seen.decode()


def test_create_admin_prompts_twice_without_echo(auth_app, shared_env, tmp_path, backend):
    """The real command in a real terminal: hidden prompt with confirmation."""
    if backend == "postgres":
        return  # the prompt does not depend on the database; once is enough
    child_env = {**os.environ, **shared_env, "FLASK_APP": "deepref"}
    controller, terminal = pty.openpty()
    process = subprocess.Popen([str(FLASK), "create-admin", "typed@example.com"],
                               stdin=terminal, stdout=terminal, stderr=terminal,
                               cwd=tmp_path, env=child_env, close_fds=True)
    os.close(terminal)
    try:
        read_until(controller, "Password:")
        os.write(controller, b"typed in a terminal\n")
        read_until(controller, "Repeat for confirmation:")
        os.write(controller, b"typed in a terminal\n")
        output = read_until(controller, "Created admin typed@example.com.")
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(controller)
    assert "typed in a terminal" not in output
    user = User.get(User.email == "typed@example.com")
    assert check_password_hash(user.password_hash, "typed in a terminal")


# Revisions 005 and 006 -----------------------------------------------------------------

def test_sign_in_revisions_roll_back_and_reapply(auth_app):
    db = database_of(auth_app)
    undone = runner.rollback(db, to="004", echo=lambda line: None)
    assert {"005_login_attempts", "006_admin_sessions"} <= set(undone)
    assert not {"login_attempts", "admin_sessions"} & set(db.get_tables())
    assert "users" in db.get_tables()
    assert set(runner.migrate(db, echo=lambda line: None)) == set(undone)
    indexes = {i.name for i in db.get_indexes("login_attempts")}
    assert {"ix_login_attempts_email_attempted_at", "ix_login_attempts_ip_attempted_at",
            "ix_login_attempts_attempted_at"} <= indexes
    assert "uq_admin_sessions_token_hash" in {i.name for i in db.get_indexes("admin_sessions")}
