"""Every write through the console leaves one audit row, in the same transaction."""

from __future__ import annotations

import datetime as dt

from support import (
    ADMIN_EMAIL, make_finetune, make_interaction, make_prompt, make_reference, make_session,
    make_user, post, text, version,
)

from deepref.admin import trail
from deepref.models import AuditLog, Reference, User
from deepref.models.fields import utcnow

PROMPT_FORM = {"prompt_id": "coach-v9", "name": "Coach", "version": "1.0.0",
               "model_preference": "claude-sonnet-4-5", "is_active": "y",
               "system_prompt": "Top secret instructions", "user_prompt_template": "Hi {x}",
               "metadata": "{}"}


def only_entry(**where) -> AuditLog:
    rows = list(AuditLog.select().where(*[getattr(AuditLog, k) == v for k, v in where.items()]))
    assert len(rows) == 1, rows
    return rows[0]


def test_create_update_delete_are_recorded_with_who_when_and_values(client, db, admin_user):
    seeker = make_user()
    started = utcnow() - dt.timedelta(seconds=5)
    form = {"seeker": str(seeker.id), "referrer": "", "referrer_name": "Rita", "referrer_email":
            "rita@acme.example", "company": "Acme", "role": "CTO", "format": "text",
            "status": "pending", "responses": "{}", "rcs_score": "50"}
    assert post(client, "/admin/reference/new/", form).status_code == 302
    ref = Reference.get()
    created = only_entry(action="create")
    assert (created.user_id, created.actor_email) == (admin_user.id, ADMIN_EMAIL)
    assert (created.table_name, created.row_id) == ("references", str(ref.id))
    assert created.created_at >= started
    assert created.changes["company"] == [None, "Acme"]
    assert created.changes["seeker"] == [None, str(seeker.id)]

    response = post(client, f"/admin/reference/edit/?id={ref.id}", {
        **form, "status": "verified", "rcs_score": "75.5", "row_version": version(ref)})
    assert response.status_code == 302
    updated = only_entry(action="update")
    assert updated.changes == {"status": ["pending", "verified"], "rcs_score": [50.0, 75.5]}

    # Saving without changes writes nothing and records nothing.
    post(client, f"/admin/reference/edit/?id={ref.id}", {
        **form, "status": "verified", "rcs_score": "75.5", "row_version": version(ref)})
    assert AuditLog.select().where(AuditLog.action == "update").count() == 1

    post(client, "/admin/reference/delete/", {"id": str(ref.id)})
    deleted = only_entry(action="delete")
    assert deleted.row_id == str(ref.id) and deleted.changes["company"] == ["Acme", None]

    listing = text(client.get("/admin/auditlog/?flt0_action_equals=update"))
    assert "verified" in listing and ADMIN_EMAIL in listing and "Acme" not in listing


def test_secrets_are_masked(client, db, admin_user):
    assert post(client, "/admin/aiprompt/new/", PROMPT_FORM).status_code == 302
    entry = only_entry(action="create", table_name="ai_prompts")
    assert entry.changes["system_prompt"] == [None, "***"]
    prompt_id = entry.row_id
    post(client, f"/admin/aiprompt/edit/?id={prompt_id}", {
        **PROMPT_FORM, "system_prompt": "New secret words", "row_version": version_of_prompt(prompt_id)})
    changed = only_entry(action="update", table_name="ai_prompts")
    assert changed.changes == {"system_prompt": ["***", "***"]}

    user = make_user("leaving@example.com", password_hash="scrypt:fake-hash-value")
    post(client, "/admin/user/delete/", {"id": str(user.id)})
    gone = only_entry(action="delete", table_name="users")
    assert gone.changes["password_hash"] == ["***", None]
    raw = db.execute_sql("SELECT changes FROM audit_log").fetchall()
    assert not any("secret" in str(r[0]).lower() or "fake-hash" in str(r[0]) for r in raw)


def version_of_prompt(prompt_id):
    from deepref.models import AIPrompt

    return AIPrompt.get_by_id(prompt_id).updated_at.isoformat()


def test_a_failed_write_leaves_no_audit_row(client, db, monkeypatch):
    seeker = make_user()
    ref = make_reference(seeker)

    def refuse(*args, **kwargs):
        raise RuntimeError("audit store unavailable")

    # The audit row fails after the row itself was written: both are rolled back.
    monkeypatch.setattr(trail.AuditLog, "create", refuse)
    response = post(client, f"/admin/reference/edit/?id={ref.id}", {
        "seeker": str(seeker.id), "referrer_name": "Someone Else", "referrer_email": "r@x.example",
        "company": "Acme", "role": "CTO", "format": "text", "status": "pending",
        "responses": "{}", "row_version": version(ref)})
    assert response.status_code == 200
    assert "nothing was saved" in text(response)
    assert Reference.get_by_id(ref.id).referrer_name == "Rita Ref"
    monkeypatch.undo()
    # A refused delete (NO ACTION) records nothing either.
    make_reference(seeker)
    reviewer = make_user("reviewer@example.com")
    from support import make_kyc

    make_kyc(seeker, reviewed_by=reviewer)
    post(client, "/admin/user/delete/", {"id": str(reviewer.id)})
    assert AuditLog.select().count() == 0
    assert User.select().where(User.id == reviewer.id).exists()


def test_bulk_actions_record_each_row(client, db):
    session = make_session(make_user())
    prompt = make_prompt()
    rows = [make_finetune(make_interaction(session, prompt)) for _ in range(2)]
    post(client, "/admin/aifinetunedataset/action/",
         {"action": "include", "rowid": [str(r.id) for r in rows]})
    entries = list(AuditLog.select().where(AuditLog.action == "bulk"))
    assert sorted(e.row_id for e in entries) == sorted(str(r.id) for r in rows)
    assert all(e.changes == {"included_in_training": [False, True]} for e in entries)
