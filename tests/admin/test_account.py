"""Your own account (issue 10, point 4): change the password (others' sessions end), see
and end sessions, remove the second factor. Both backends, CSRF on."""

from __future__ import annotations

import lxml.html
from werkzeug.security import check_password_hash

from deepref import auth
from deepref.auth import second_factor
from deepref.models import AdminSession, AuditLog, User
from support import ADMIN_EMAIL, PASSWORD, make_user, post, text
from totp_support import code, enrol, password_step, signed_in, wrong_code

NEW_PASSWORD = "a brand new passphrase"


def other_session(app, user):
    """Another browser signed in as `user`."""
    other = app.test_client()
    with other.session_transaction() as session:
        session.update(auth.session_values(user))
    return other


def test_the_page_is_linked_from_the_navigation_and_lists_sessions(client, app, admin_user):
    other_session(app, admin_user)
    page = lxml.html.fromstring(text(client.get("/admin/")))
    assert page.get_element_by_id("signed-in-as").get("href") == "/admin/account/"
    body = text(client.get("/admin/account/"))
    assert "(this one)" in body and body.count('name="session"') == 2
    assert "No second factor" in body and "/admin/account/second-factor" in body


def test_the_page_needs_a_session(anon):
    response = anon.get("/admin/account/")
    assert response.status_code == 302 and "/login" in response.location
    assert anon.post("/admin/account/password", data={}).status_code == 302


def test_changing_the_password_ends_every_other_session(client, app, admin_user):
    other = other_session(app, admin_user)
    response = post(client, "/admin/account/password", {
        "current_password": PASSWORD, "new_password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD}, follow=True)
    assert "Your password is changed. 1 other session ended." in text(response)
    assert check_password_hash(User.get_by_id(admin_user.id).password_hash, NEW_PASSWORD)
    assert signed_in(client) and not signed_in(other)
    assert AdminSession.select().count() == 1
    entry = AuditLog.get()
    assert entry.changes == {"password_hash": ["***", "***"]} and entry.actor_email == ADMIN_EMAIL
    fresh = app.test_client()
    assert password_step(fresh, password=NEW_PASSWORD).status_code == 302 and signed_in(fresh)


def test_a_wrong_current_password_is_a_form_error(client, admin_user):
    before = User.get_by_id(admin_user.id).password_hash
    cases = [
        ({"current_password": "not it at all"}, "The current password is not correct."),
        ({"current_password": PASSWORD, "confirm_password": "something else entirely"},
         "The two new passwords are not the same."),
        ({"current_password": PASSWORD, "new_password": "short", "confirm_password": "short"},
         "The password must be at least 12 characters long."),
    ]
    for fields, message in cases:
        form = {"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD, **fields}
        response = post(client, "/admin/account/password", form)
        body = text(response)
        assert response.status_code == 200 and message in body, message
        assert 'aria-invalid="true"' in body
    assert User.get_by_id(admin_user.id).password_hash == before
    assert AuditLog.select().count() == 0


def test_guessing_the_current_password_is_throttled(client, admin_user):
    from deepref.auth import throttle

    for _ in range(throttle.LIMIT):
        post(client, "/admin/account/password", {"current_password": "guess",
                                                 "new_password": NEW_PASSWORD,
                                                 "confirm_password": NEW_PASSWORD})
    locked = post(client, "/admin/account/password", {
        "current_password": PASSWORD, "new_password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD})
    assert locked.status_code == 429 and "Too many failed sign-in attempts" in text(locked)
    assert check_password_hash(User.get_by_id(admin_user.id).password_hash, PASSWORD)


def test_ending_sessions(client, app, admin_user):
    other = other_session(app, admin_user)
    someone = make_user("other.admin@example.com", role="admin", password_hash="x")
    theirs = other_session(app, someone)
    mine_elsewhere = (AdminSession.select().where(AdminSession.user == admin_user.id)
                      .order_by(AdminSession.created_at.desc()).first())
    their_row = AdminSession.get(AdminSession.user == someone.id)
    # Another user's session: untouched.
    post(client, "/admin/account/sessions/end", {"session": str(their_row.id)})
    assert AdminSession.get_or_none(AdminSession.id == their_row.id) is not None
    response = post(client, "/admin/account/sessions/end", {"session": "not-an-id"}, follow=True)
    assert response.status_code == 200 and "had ended already" in text(response)
    ended = post(client, "/admin/account/sessions/end", {"session": str(mine_elsewhere.id)},
                 follow=True)
    assert "The session is ended" in text(ended)
    assert signed_in(client) and signed_in(theirs)
    assert not signed_in(other)
    here = AdminSession.get(AdminSession.user == admin_user.id)
    out = post(client, "/admin/account/sessions/end", {"session": str(here.id)})
    assert out.status_code == 302 and out.location.endswith("/login")
    assert not signed_in(client)


def test_removing_the_second_factor_needs_the_password_or_a_code(client, admin_user):
    secret, _ = enrol(admin_user)
    assert "unused recovery codes left" in text(client.get("/admin/account/"))
    for form, message in (({}, "Enter your current password or a code"),
                          ({"password": "wrong one"}, "The current password is not correct."),
                          ({"code": wrong_code(secret)}, "not valid")):
        response = post(client, "/admin/account/second-factor/remove", form)
        assert response.status_code == 200 and message in text(response), message
        assert second_factor.is_enrolled(admin_user)
    done = post(client, "/admin/account/second-factor/remove", {"code": code(secret)}, follow=True)
    assert "The second factor and its recovery codes are removed." in text(done)
    assert not second_factor.is_enrolled(admin_user)
    assert AuditLog.get().changes == {"second_factor": ["enrolled", "none"]}


def test_removing_with_the_password(client, admin_user):
    enrol(admin_user)
    post(client, "/admin/account/second-factor/remove", {"password": PASSWORD})
    assert not second_factor.is_enrolled(admin_user)
