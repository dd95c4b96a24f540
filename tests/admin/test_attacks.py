"""What an attacker (or an unlucky click) tried, each refused: the last admin removing
themselves, off-site or CR/LF return addresses, edits without their version."""

from __future__ import annotations

import pytest
from support import (
    ADMIN_ID, form_of, make_bundle, make_finetune, make_interaction, make_kyc, make_prompt,
    make_reference, make_session, make_user, post, text,
)

from deepref.models import AuditLog, Reference, User, UserRole


@pytest.mark.parametrize("change", ["demote", "deactivate"])
def test_the_last_admin_cannot_demote_or_deactivate_themselves(client, db, change):
    form = form_of(client, f"/admin/user/edit/?id={ADMIN_ID}")
    if change == "demote":
        form["role"] = ["seeker"]
    else:
        del form["is_active"]  # an unticked checkbox is not sent
    body = text(post(client, f"/admin/user/edit/?id={ADMIN_ID}", form))
    assert "This is the last active admin who can sign in" in body
    me = User.get_by_id(ADMIN_ID)
    assert me.role == "admin" and me.is_active and AuditLog.select().count() == 0


def test_the_last_admin_cannot_be_deleted(client, db):
    page = post(client, "/admin/user/delete/", {"id": str(ADMIN_ID), "url": "/admin/user/"},
                follow=True)
    assert "This is the last active admin who can sign in, so it cannot be deleted" in text(page)
    assert User.select().where(User.id == ADMIN_ID).exists()


def test_an_admin_can_be_demoted_while_another_remains(client, db, password_hash):
    other = make_user("second@example.com", role="admin", password_hash=password_hash)
    UserRole.create(user=other, role="admin")
    form = form_of(client, f"/admin/user/edit/?id={other.id}")
    response = post(client, f"/admin/user/edit/?id={other.id}", {**form, "role": ["seeker"]})
    assert response.status_code == 302
    assert User.get_by_id(other.id).role == "seeker"
    # Now the signed-in admin is the last one again.
    form = form_of(client, f"/admin/user/edit/?id={ADMIN_ID}")
    assert "last active admin" in text(post(client, f"/admin/user/edit/?id={ADMIN_ID}",
                                            {**form, "role": ["seeker"]}))


def test_demoting_a_user_who_never_could_sign_in_is_fine_without_other_admins(client, db):
    # An "admin" without a password cannot sign in: demoting them loses nothing.
    ghost = make_user("ghost@example.com", role="admin")
    form = form_of(client, f"/admin/user/edit/?id={ghost.id}")
    assert post(client, f"/admin/user/edit/?id={ghost.id}", {**form, "role": ["seeker"]}).status_code == 302


@pytest.mark.parametrize("target", [
    "/admin/reference/\r\nSet-Cookie: a=b", "/admin/\n", "http://evil.example/",
    "//evil.example/", "https:/evil.example", "javascript:alert(1)", "\\\\evil.example",
])
def test_return_addresses_must_be_pages_of_the_console(client, db, target):
    seeker = make_user()
    ref = make_reference(seeker)
    for path, args in (("/admin/reference/edit/", {"id": ref.id}), ("/admin/reference/new/", {}),
                       ("/admin/reference/details/", {"id": ref.id})):
        response = client.get(path, query_string={**args, "url": target})
        url = path
        assert response.status_code == 400, (url, target)
        assert "return address" in text(response)
    deleted = post(client, "/admin/reference/delete/", {"id": str(ref.id), "url": target})
    assert deleted.status_code == 400 and Reference.select().count() == 1


def test_a_forged_host_does_not_make_an_off_site_return_address_safe(client, db):
    seeker = make_user()
    ref = make_reference(seeker)
    client.get("/admin/")
    session = client.get_cookie("session")
    client.set_cookie("session", session.value, domain="evil.example")
    response = client.get(f"/admin/reference/edit/?id={ref.id}&url=http://evil.example/x",
                          headers={"Host": "evil.example"})
    assert response.status_code == 400


def editable_rows():
    """One row of every table the console edits, and the view that edits it."""
    seeker = make_user()
    session = make_session(seeker)
    return {
        "reference": make_reference(seeker),
        "bundle": make_bundle(seeker),
        "kycdocument": make_kyc(seeker),
        "user": seeker,
        "aiprompt": make_prompt(),
        "aisession": session,
        "aifinetunedataset": make_finetune(make_interaction(session, make_prompt("other-v1"))),
    }


def test_an_edit_without_its_version_is_refused_on_every_editable_view(client, db):
    for view, row in editable_rows().items():
        form = form_of(client, f"/admin/{view}/edit/?id={row.id}")
        assert form.pop("row_version"), view
        body = text(post(client, f"/admin/{view}/edit/?id={row.id}", form))
        assert "arrived without the version of the record" in body, view
        assert AuditLog.select().count() == 0, view


def test_two_editors_of_an_ai_session_do_not_overwrite_each_other(client, db):
    session = make_session(make_user())
    first = form_of(client, f"/admin/aisession/edit/?id={session.id}")
    second = form_of(client, f"/admin/aisession/edit/?id={session.id}")
    first["ended_at"] = ["2099-01-01T10:00:00"]
    assert post(client, f"/admin/aisession/edit/?id={session.id}", first).status_code == 302
    second["ended_at"] = ["2098-01-01T10:00:00"]
    body = text(post(client, f"/admin/aisession/edit/?id={session.id}", second))
    assert "Someone else changed this record after you opened it" in body
    assert type(session).get_by_id(session.id).ended_at.year == 2099


def test_a_session_never_edited_through_deepref_has_a_version_too(client, db):
    session = make_session(make_user())
    type(session)._meta.database.execute_sql("UPDATE ai_sessions SET updated_at = NULL")
    form = form_of(client, f"/admin/aisession/edit/?id={session.id}")
    assert form["row_version"] == ["not-updated-since-created"]
    form["ended_at"] = ["2099-01-01T10:00:00"]
    assert post(client, f"/admin/aisession/edit/?id={session.id}", form).status_code == 302
    assert type(session).get_by_id(session.id).updated_at is not None
