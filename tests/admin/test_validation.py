"""Bad input gets a form error on its field: never a 500, never a half-saved row, and the
typed values stay in the form."""

from __future__ import annotations

import pytest
from support import (
    make_bundle, make_finetune, make_interaction, make_prompt, make_reference, make_session,
    make_user, post, reference_form, refused, text, version,
)

from deepref.admin.base import AdminModelView
from deepref.models import AIPrompt, AISession, AuditLog, Bundle, Reference, User


REFERENCE_CASES = [
    ({"referrer_email": "not-an-email"}, "Enter a valid email address"),
    ({"status": "approved"}, "Not a valid choice"),
    ({"format": "hologram"}, "Not a valid choice"),
    ({"rcs_score": "100.01"}, "Enter a number from 0 to 100."),
    ({"rcs_score": "-1"}, "Enter a number from 0 to 100."),
    ({"rcs_score": "lots"}, "Not a valid decimal value"),
    ({"responses": "[1, 2]"}, "This must be a JSON object"),
    ({"responses": "{oops"}, "This is not valid JSON"),
    ({"company": "x" * 201}, "Field cannot be longer than 200 characters."),
    ({"referrer_name": ""}, "This field is required."),
    ({"submitted_at": "yesterday"}, "Enter a date and time in UTC, as YYYY-MM-DD HH:MM[:SS]"),
    ({"seeker": "3f2b5c9e-0000-4000-8000-000000000000"}, "Choose one from the suggestions"),
    ({"seeker": "junk"}, "Choose one from the suggestions"),
    ({"seeker": ""}, "Choose one from the suggestions"),
]


def test_reference_form_errors(client, db):
    seeker = make_user()
    for changes, message in REFERENCE_CASES:
        body = refused(post(client, "/admin/reference/new/", reference_form(seeker, **changes)), message)
        assert "Typed Company" in body or "company" in changes  # the typed input is kept
    assert Reference.select().count() == 0
    assert AuditLog.select().count() == 0


def test_other_enumerations_ranges_and_json(client, db):
    seeker = make_user()
    refused(post(client, "/admin/user/new/", {"email": "a@example.com", "role": "superuser",
                                              "kyc_status": "pending"}), "Not a valid choice")
    refused(post(client, "/admin/user/new/", {"email": "a@example.com", "role": "seeker",
                                              "kyc_status": "approved"}), "Not a valid choice")
    refused(post(client, "/admin/kycdocument/new/", {
        "user": str(seeker.id), "document_type": "visa", "status": "pending",
        "file_path": "k.png", "metadata": "{}"}), "Not a valid choice")
    refused(post(client, "/admin/kycdocument/new/", {
        "user": str(seeker.id), "document_type": "passport", "status": "pending",
        "file_path": "k.png", "metadata": '"text"'}), "This must be a JSON object")
    refused(post(client, "/admin/aiprompt/new/", {
        "prompt_id": "p1", "name": "P", "version": "1", "model_preference": "m",
        "system_prompt": "s", "user_prompt_template": "t", "metadata": "[]"}),
        "This must be a JSON object")
    example = make_finetune(make_interaction(make_session(seeker), make_prompt()))
    for score in ("0", "6"):
        refused(post(client, f"/admin/aifinetunedataset/edit/?id={example.id}", {
            "quality_score": score, "human_feedback": "", "row_version": version(example)}),
            "Enter a number from 1 to 5.")
    assert User.select().count() == 2 and Bundle.select().count() == 0
    assert AIPrompt.select().count() == 1


def test_session_cannot_end_before_it_started(client, db):
    session = make_session(make_user())
    body = refused(post(client, f"/admin/aisession/edit/?id={session.id}",
                        {"ended_at": "2000-01-01 00:00:00"}), "The end cannot be before the start")
    assert "2000-01-01 00:00:00" in body
    assert AISession.get_by_id(session.id).ended_at is None


def test_duplicates_are_reported_on_the_field(client, db):
    seeker = make_user("taken@example.com")
    make_bundle(seeker)
    make_prompt("coach-v1")
    refused(post(client, "/admin/user/new/", {"email": "Taken@Example.com", "role": "seeker",
                                              "kyc_status": "pending"}),
            "Another user already has this email address.")
    refused(post(client, "/admin/aiprompt/new/", {
        "prompt_id": "coach-v1", "name": "P", "version": "1", "model_preference": "m",
        "system_prompt": "s", "user_prompt_template": "t", "metadata": "{}"}),
        "Another prompt already has this prompt ID.")
    first, second = make_reference(seeker), make_reference(seeker)
    refused(post(client, "/admin/bundle/new/", {
        "seeker": str(seeker.id), "title": "B",
        "reference_links-0-reference": str(first.id), "reference_links-1-reference": str(first.id),
        "reference_links-2-reference": str(second.id)}),
        "A reference can be in a bundle only once.")
    assert User.select().count() == 2 and Bundle.select().count() == 1
    assert AIPrompt.select().count() == 1


def test_a_database_refusal_is_a_plain_sentence(client, db, monkeypatch):
    """If the pre-check misses a duplicate (a race), the database's error is translated."""
    monkeypatch.setattr(AdminModelView, "_check_unique", lambda self, form: True)
    make_user("taken@example.com")
    body = refused(post(client, "/admin/user/new/", {"email": "taken@example.com",
                                                     "role": "seeker", "kyc_status": "pending"}),
                   "Another user already has this email address.")
    assert "UNIQUE" not in body and "uq_users_email" not in body and "duplicate key" not in body
    assert User.select().count() == 2 and AuditLog.select().count() == 0


def test_prompt_with_interactions_cannot_be_deleted(client, db):
    prompt = make_prompt()
    make_interaction(make_session(make_user()), prompt)
    page = post(client, "/admin/aiprompt/delete/", {"id": str(prompt.id)}, follow=True)
    body = text(page)
    assert "1 recorded AI interaction(s), so it cannot be deleted" in body
    assert "Deactivate it instead" in body
    assert AIPrompt.select().count() == 1 and AuditLog.select().count() == 0
    confirm = text(client.get(f"/admin/aiprompt/delete/confirm/?id={prompt.id}"))
    assert "The database will refuse this delete" in confirm and "1 AI interaction" in confirm


def test_stale_edit_is_reported_and_can_then_overwrite(client, db):
    seeker = make_user()
    ref = make_reference(seeker, company="Original")
    loaded = version(ref)
    Reference.update(company="Changed by a colleague").where(Reference.id == ref.id).execute()
    body = refused(post(client, f"/admin/reference/edit/?id={ref.id}",
                        reference_form(seeker, company="Mine", row_version=loaded)),
                   "Someone else changed this record after you opened it")
    assert 'value="Mine"' in body
    assert Reference.get_by_id(ref.id).company == "Changed by a colleague"
    # The form now carries the current version: saving it again overwrites, knowingly.
    current = version(ref)
    assert f'value="{current}"' in body
    response = post(client, f"/admin/reference/edit/?id={ref.id}",
                    reference_form(seeker, company="Mine", row_version=current))
    assert response.status_code == 302
    assert Reference.get_by_id(ref.id).company == "Mine"


def test_edit_of_a_row_deleted_meanwhile(client, db):
    seeker = make_user()
    ref = make_reference(seeker)
    loaded = version(ref)
    Reference.delete().where(Reference.id == ref.id).execute()
    page = post(client, f"/admin/reference/edit/?id={ref.id}",
                reference_form(seeker, row_version=loaded), follow=True)
    assert "deleted by someone else while you were editing it" in text(page)
    assert Reference.select().count() == 0


@pytest.mark.parametrize("path", [
    "/admin/reference/edit/?id=not-a-uuid", "/admin/reference/details/?id=1",
    "/admin/bundle/delete/confirm/?id=%27%3B--", "/admin/user/edit/?id=",
    "/admin/reference/?flt0_created_greater_than=soon", "/admin/reference/?page=999&search=nothing",
    "/admin/reference/ajax/lookup/?name=seeker&query=%25_%5C", "/admin/bundle/ajax/lookup/?name=nope",
])
def test_odd_urls_never_fail(client, db, path):
    response = client.get(path, follow_redirects=True)
    assert response.status_code in (200, 404), (path, response.status_code)


def test_an_undecryptable_prompt_is_reported_not_a_500(client, db):
    prompt = make_prompt("broken-v1")
    db.execute_sql("UPDATE ai_prompts SET system_prompt = 'not a fernet token'")
    page = client.get(f"/admin/aiprompt/edit/?id={prompt.id}", follow_redirects=True)
    assert page.status_code == 200
    assert "cannot be edited here" in text(page) and "broken-v1" in text(page)
    assert "broken-v1" in text(client.get("/admin/aiprompt/"))  # the list never decrypts


def test_a_lost_connection_while_saving_is_said_plainly(client, db, monkeypatch):
    import peewee as pw

    from deepref.admin import trail

    seeker = make_user()

    def lost(*args, **kwargs):
        raise pw.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(trail.AuditLog, "create", lost)
    body = refused(post(client, "/admin/reference/new/", reference_form(seeker)),
                   "this change may not have been saved")
    assert "server closed" not in body and "Typed Company" in body
    assert Reference.select().count() == 0
