"""Deletes follow the database's rules (CASCADE, SET NULL, NO ACTION), and the console says
beforehand what goes with a row."""

from __future__ import annotations

from support import (
    make_bundle, make_interaction, make_kyc, make_prompt, make_reference, make_session,
    make_user, post, text,
)

from deepref.models import (
    AIInteraction,
    AISession,
    AuditLog,
    Bundle,
    BundleReference,
    KYCDocument,
    Reference,
    User,
)


def test_deleting_a_reviewer_is_refused_and_nothing_is_deleted(client, db):
    applicant, reviewer = make_user("applicant@example.com"), make_user("reviewer@example.com")
    make_kyc(applicant, reviewed_by=reviewer, status="verified")
    make_kyc(applicant, reviewed_by=reviewer, status="rejected", document_type="selfie")
    make_reference(reviewer)
    confirm = text(client.get(f"/admin/user/delete/confirm/?id={reviewer.id}"))
    assert "The database will refuse this delete" in confirm
    assert "2 KYC documents (as reviewed by)" in confirm
    page = post(client, "/admin/user/delete/", {"id": str(reviewer.id)}, follow=True)
    assert "reviewed 2 KYC document(s), so they cannot be deleted" in text(page)
    assert User.select().where(User.id == reviewer.id).exists()
    assert KYCDocument.select().count() == 2 and Reference.select().count() == 1


def test_deleting_a_user_cascades_and_unlinks(client, db):
    seeker, referrer = make_user("seeker@example.com"), make_user("referrer@example.com")
    other = make_user("other@example.com")
    own = [make_reference(seeker), make_reference(seeker)]
    given = make_reference(other, referrer=referrer)
    bundle = make_bundle(seeker)
    for position, ref in enumerate(own):
        BundleReference.create(bundle=bundle, reference=ref, position=position)
    make_kyc(seeker)
    session = make_session(seeker)
    make_interaction(session, make_prompt())

    confirm = text(client.get(f"/admin/user/delete/confirm/?id={seeker.id}"))
    for line in ("2 references", "1 bundle", "2 references in bundles", "1 KYC document",
                 "1 AI session", "1 AI interaction"):
        assert f"<li>{line}" in confirm, line
    post(client, "/admin/user/delete/", {"id": str(seeker.id)})
    assert not User.select().where(User.id == seeker.id).exists()
    assert Reference.select().count() == 1 and Bundle.select().count() == 0
    assert BundleReference.select().count() == 0 and KYCDocument.select().count() == 0
    assert AISession.select().count() == 0 and AIInteraction.select().count() == 0
    entry = AuditLog.get(AuditLog.action == "delete")
    assert entry.changes["deleted_with_it"][0]["references"] == 2

    # A referrer's references stay, with the link to their account cleared (SET NULL).
    confirm = text(client.get(f"/admin/user/delete/confirm/?id={referrer.id}"))
    assert "1 reference (their referrer is cleared)" in confirm
    post(client, "/admin/user/delete/", {"id": str(referrer.id)})
    kept = Reference.get_by_id(given.id)
    assert kept.referrer_id is None and kept.referrer_name == "Rita Ref"


def test_a_row_nothing_refers_to(client, db):
    ref = make_reference(make_user())
    assert "only this record is deleted" in text(client.get(f"/admin/reference/delete/confirm/?id={ref.id}"))
    # The list's delete icon leads to that page, never straight to a delete.
    listing = text(client.get("/admin/reference/"))
    assert f"/admin/reference/delete/confirm/?id={ref.id}" in listing
    assert 'action="/admin/reference/delete/"' not in listing
    # Flask-Admin's bulk delete (recursive, no confirmation) is switched off.
    post(client, "/admin/reference/action/", {"action": "delete", "rowid": [str(ref.id)]})
    assert Reference.select().count() == 1
    post(client, "/admin/reference/delete/", {"id": str(ref.id)})
    page = post(client, "/admin/reference/delete/", {"id": str(ref.id)}, follow=True)
    assert "does not exist" in text(page)
