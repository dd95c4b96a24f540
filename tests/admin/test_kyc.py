"""KYC review as a workflow: the queue (oldest first, how long each waited), approve and
reject (single and bulk, a reason required), the reviewer and time set, the user's
kyc_status following the decision, the document openable where a URL is configured."""

from __future__ import annotations

import datetime as dt

import pytest
from support import ADMIN_ID, hours_ago, make_kyc, make_user, post, text

from deepref.admin.kyc_review import user_status
from deepref.models import AuditLog, KYCDocument, User


def review(client, ids, decision, reason=None, url="/admin/kycqueue/"):
    data = {"id": [str(i) for i in ids], "decision": decision, "url": url}
    if reason is not None:
        data["reason"] = reason
    return post(client, "/admin/kycdocument/review/", data)


def test_the_queue_lists_the_oldest_pending_first_with_its_wait(client, db):
    user = make_user()
    newest = make_kyc(user, file_path="kyc/new.png", created_at=hours_ago(2))
    oldest = make_kyc(user, file_path="kyc/old.png", created_at=hours_ago(80))
    make_kyc(user, file_path="kyc/done.png", status="verified", created_at=hours_ago(200))
    body = text(client.get("/admin/kycqueue/"))
    assert body.index("kyc/old.png") < body.index("kyc/new.png") and "kyc/done.png" not in body
    assert "3 days 8 h" in body and "2 h 0 min" in body
    assert "List (2)" in body
    assert oldest and newest


def test_approve_one_sets_reviewer_and_time_and_the_users_status(client, db):
    user = make_user(kyc_status="submitted")
    passport = make_kyc(user, document_type="passport")
    selfie = make_kyc(user, document_type="selfie", file_path="kyc/selfie.png")
    detail = text(client.get(f"/admin/kycdocument/details/?id={passport.id}"))
    assert 'id="approve"' in detail and 'id="reject"' in detail
    before = dt.datetime.now(dt.timezone.utc)
    assert review(client, [passport.id], "approve").status_code == 302
    doc = KYCDocument.get_by_id(passport.id)
    assert doc.status == "verified" and doc.reviewed_by_id == ADMIN_ID
    assert doc.verified_at >= before - dt.timedelta(seconds=1) and doc.rejection_reason is None
    assert User.get_by_id(user.id).kyc_status == "submitted"  # the selfie still waits
    review(client, [selfie.id], "approve")
    assert User.get_by_id(user.id).kyc_status == "verified"
    users_audit = AuditLog.get(AuditLog.table_name == "users")
    assert users_audit.changes["kyc_status"] == ["submitted", "verified"]


def test_reject_needs_a_reason_which_is_stored(client, db):
    user = make_user(kyc_status="submitted")
    doc = make_kyc(user)
    form = text(client.get(f"/admin/kycdocument/reject/?id={doc.id}&url=/admin/kycqueue/"))
    assert 'name="reason"' in form and "required" in form
    refused = review(client, [doc.id], "reject", "   ")
    assert refused.status_code == 400 and "Give the reason for the rejection" in text(refused)
    assert KYCDocument.get_by_id(doc.id).status == "pending" and AuditLog.select().count() == 0
    assert review(client, [doc.id], "reject", "The photo is blurred.").status_code == 302
    doc = KYCDocument.get_by_id(doc.id)
    assert (doc.status, doc.rejection_reason, doc.reviewed_by_id) == (
        "rejected", "The photo is blurred.", ADMIN_ID)
    assert User.get_by_id(user.id).kyc_status == "rejected"


def test_bulk_approve_and_reject_from_the_queue(client, db):
    users = [make_user(f"u{n}@example.com") for n in range(3)]
    docs = [make_kyc(u) for u in users]
    response = post(client, "/admin/kycqueue/action/", {
        "action": "approve", "rowid": [str(d.id) for d in docs[:2]], "url": "/admin/kycqueue/"},
        follow=True)
    assert "2 documents approved." in text(response)
    # Bulk reject asks for the reason first, then applies it to each.
    page = post(client, "/admin/kycqueue/action/", {
        "action": "reject", "rowid": [str(d.id) for d in docs], "url": "/admin/kycqueue/"})
    body = text(page)
    assert "Reject 3 KYC documents" in body and "already verified" in body
    done = review(client, [d.id for d in docs], "reject", "Expired document")
    assert done.status_code == 302
    flashed = text(client.get("/admin/kycqueue/"))
    assert "1 document rejected." in flashed and "2 had already been decided" in flashed
    assert [KYCDocument.get_by_id(d.id).status for d in docs] == ["verified", "verified", "rejected"]
    assert AuditLog.select().where((AuditLog.table_name == "kyc_documents")
                                   & (AuditLog.action == "bulk")).count() == 3  # one a document


def test_the_decision_fields_are_not_in_the_edit_form(client, db):
    doc = make_kyc(make_user())
    page = text(client.get(f"/admin/kycdocument/edit/?id={doc.id}"))
    for name in ("status", "reviewed_by", "verified_at", "rejection_reason"):
        assert f'name="{name}"' not in page


@pytest.mark.parametrize("documents, expected", [
    ([("passport", "verified"), ("selfie", "verified")], "verified"),
    ([("national_id", "verified"), ("selfie", "verified"), ("proof_of_address", "rejected")], "verified"),
    ([("passport", "verified"), ("selfie", "pending")], "submitted"),
    ([("passport", "rejected"), ("selfie", "verified")], "rejected"),
    ([("passport", "rejected"), ("passport", "pending"), ("selfie", "verified")], "submitted"),
    ([("passport", "verified")], "pending"),  # no selfie yet: unchanged
    ([], "pending"),
])
def test_the_users_kyc_status_rule(db, documents, expected):
    user = make_user(kyc_status="pending")
    for n, (kind, status) in enumerate(documents):
        make_kyc(user, document_type=kind, status=status, created_at=hours_ago(10 - n))
    assert user_status(user.id, user.kyc_status) == expected


def test_the_document_opens_where_a_url_is_configured(client, db, app):
    doc = make_kyc(make_user(), file_path="kyc/42/pass port.png")
    settings = app.config["DEEPREF"]
    assert "kyc/42/pass port.png" in text(client.get(f"/admin/kycdocument/details/?id={doc.id}"))
    import dataclasses
    app.config["DEEPREF"] = dataclasses.replace(
        settings, kyc_document_url="https://files.example.com/view?key={key}")
    try:
        body = text(client.get(f"/admin/kycdocument/details/?id={doc.id}"))
        queue = text(client.get("/admin/kycqueue/"))
    finally:
        app.config["DEEPREF"] = settings
    link = '<a href="https://files.example.com/view?key=kyc/42/pass%20port.png" target="_blank" rel="noopener noreferrer">'
    assert link in body and link in queue
