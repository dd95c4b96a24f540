"""Create, edit and delete through each writable view, checking the rows in the database."""

from __future__ import annotations

from support import (
    make_finetune, make_interaction, make_prompt, make_reference, make_session, make_user,
    post, text, version,
)

from deepref.models import (
    AIFinetuneDataset,
    AIPrompt,
    AISession,
    Bundle,
    BundleReference,
    KYCDocument,
    Reference,
    User,
    UserRole,
)


def reference_form(seeker, **changes):
    return {"seeker": str(seeker.id), "referrer": "", "referrer_name": "Rita Ref",
            "referrer_email": "rita@acme.example", "company": "Acme Corp", "role": "CTO",
            "relationship": "manager", "format": "text", "status": "pending",
            "content": "Great engineer.", "media_url": "", "responses": '{"q1": "yes"}',
            "rcs_score": "87.5", "expiry_date": "", "submitted_at": "", **changes}


def delete(client, view, row_id):
    """Open the confirmation page, then press its Delete button."""
    page = client.get(f"/admin/{view}/delete/confirm/?id={row_id}")
    assert page.status_code == 200
    return post(client, f"/admin/{view}/delete/", {"id": str(row_id), "url": f"/admin/{view}/"},
                follow=True)


def test_reference_create_edit_delete(client, db):
    seeker = make_user()
    response = post(client, "/admin/reference/new/", reference_form(seeker))
    assert response.status_code == 302, text(response)[:2000]
    ref = Reference.get()
    assert (ref.company, ref.seeker_id, ref.referrer_id) == ("Acme Corp", seeker.id, None)
    assert ref.responses == {"q1": "yes"} and float(ref.rcs_score) == 87.5

    referrer = make_user("ref@example.com", role="referrer")
    response = post(client, f"/admin/reference/edit/?id={ref.id}", reference_form(
        seeker, referrer=str(referrer.id), status="verified", submitted_at="2024-05-01 10:30:00",
        row_version=version(ref)))
    assert response.status_code == 302, text(response)[:2000]
    ref = Reference.get_by_id(ref.id)
    assert ref.status == "verified" and ref.referrer_id == referrer.id
    assert ref.submitted_at.isoformat() == "2024-05-01T10:30:00+00:00"

    page = delete(client, "reference", ref.id)
    assert "successfully deleted" in text(page)
    assert Reference.select().count() == 0


def test_reference_list_shows_labels_not_ids(client, db):
    seeker = make_user("shown@example.com")
    make_reference(seeker, company="Globex")
    body = text(client.get("/admin/reference/"))
    assert "shown@example.com" in body and "Globex" in body


def test_bundle_with_its_references(client, db):
    seeker = make_user()
    first, second, third = (make_reference(seeker, referrer_name=n) for n in ("Ann", "Bob", "Cy"))
    response = post(client, "/admin/bundle/new/", {
        "seeker": str(seeker.id), "title": "For Initech", "description": "",
        "is_active": "y", "expiry_date": "",
        "reference_links-0-reference": str(first.id), "reference_links-0-position": "1",
        "reference_links-1-reference": str(second.id), "reference_links-1-position": "2",
    })
    assert response.status_code == 302, text(response)[:2000]
    bundle = Bundle.get()
    links = {link.reference_id: link.position for link in BundleReference.select()}
    assert bundle.title == "For Initech" and links == {first.id: 1, second.id: 2}

    page = text(client.get(f"/admin/bundle/edit/?id={bundle.id}"))
    assert "Ann (Acme)" in page and "Bob (Acme)" in page
    from deepref.models import AuditLog

    created = AuditLog.get(AuditLog.table_name == "bundles")
    assert created.changes["links"] == [[], [{"reference": str(first.id), "position": 1},
                                             {"reference": str(second.id), "position": 2}]]

    # Remove the first, move the second, add the third.
    response = post(client, f"/admin/bundle/edit/?id={bundle.id}", {
        "seeker": str(seeker.id), "title": "For Initech", "description": "",
        "is_active": "y", "expiry_date": "",
        "row_version": version(bundle),
        "reference_links-0-reference": str(first.id), "reference_links-0-position": "1",
        "del-reference_links-0": "y",
        "reference_links-1-reference": str(second.id), "reference_links-1-position": "5",
        "reference_links-2-reference": str(third.id), "reference_links-2-position": "6",
    })
    assert response.status_code == 302, text(response)[:2000]
    links = {link.reference_id: link.position for link in BundleReference.select()}
    assert links == {second.id: 5, third.id: 6}

    delete(client, "bundle", bundle.id)
    assert Bundle.select().count() == 0 and BundleReference.select().count() == 0
    assert Reference.select().count() == 3  # the references themselves stay


def test_kyc_document_create_edit_delete(client, db, admin_user):
    user = make_user()
    response = post(client, "/admin/kycdocument/new/", {
        "user": str(user.id), "document_type": "passport", "file_path": "kyc/p.png",
        "metadata": '{"pages": 2}'})
    assert response.status_code == 302, text(response)[:2000]
    doc = KYCDocument.get()
    assert doc.metadata == {"pages": 2} and doc.status == "pending"
    # The decision fields are the review's (test_kyc.py): posted here, they are ignored.
    response = post(client, f"/admin/kycdocument/edit/?id={doc.id}", {
        "user": str(user.id), "document_type": "national_id", "status": "verified",
        "file_path": "kyc/p.png", "metadata": '{"pages": 2}',
        "reviewed_by": str(admin_user.id), "row_version": version(doc)})
    assert response.status_code == 302, text(response)[:2000]
    doc = KYCDocument.get_by_id(doc.id)
    assert doc.document_type == "national_id" and doc.status == "pending" and doc.reviewed_by_id is None
    delete(client, "kycdocument", doc.id)
    assert KYCDocument.select().count() == 0


def test_prompt_edited_as_plain_text_and_stored_encrypted(client, db):
    form = {"prompt_id": "coach-v2", "name": "Coach", "version": "2.0.0",
            "model_preference": "claude-sonnet-4-5", "is_active": "y",
            "system_prompt": "Be kind and precise.", "user_prompt_template": "Help: {text}",
            "metadata": '{"priority": "normal"}'}
    response = post(client, "/admin/aiprompt/new/", form)
    assert response.status_code == 302, text(response)[:2000]
    prompt = AIPrompt.get()
    raw = db.execute_sql("SELECT system_prompt FROM ai_prompts").fetchone()[0]
    assert "Be kind" not in raw and prompt.system_prompt == "Be kind and precise."

    listing = text(client.get("/admin/aiprompt/"))
    assert "coach-v2" in listing and "Be kind" not in listing
    assert "Be kind" not in text(client.get(f"/admin/aiprompt/details/?id={prompt.id}"))
    assert "Be kind and precise." in text(client.get(f"/admin/aiprompt/edit/?id={prompt.id}"))

    response = post(client, f"/admin/aiprompt/edit/?id={prompt.id}", {
        **form, "system_prompt": "Be kinder.", "row_version": version(prompt)})
    assert response.status_code == 302, text(response)[:2000]
    assert AIPrompt.get_by_id(prompt.id).system_prompt == "Be kinder."
    delete(client, "aiprompt", prompt.id)
    assert AIPrompt.select().count() == 0


def test_user_create_edit_delete_never_shows_password(client, db, admin_user):
    response = post(client, "/admin/user/new/", {
        "email": "New.Person@Example.com", "first_name": "New", "last_name": "Person",
        "role": "seeker", "kyc_status": "pending", "is_active": "y"})
    assert response.status_code == 302, text(response)[:2000]
    user = User.get(User.email == "new.person@example.com")
    edit_page = text(client.get(f"/admin/user/edit/?id={admin_user.id}"))
    assert admin_user.password_hash not in edit_page and "password" not in edit_page.lower()
    assert admin_user.password_hash not in text(client.get(f"/admin/user/details/?id={admin_user.id}"))
    assert admin_user.password_hash not in text(client.get("/admin/user/"))

    response = post(client, f"/admin/user/edit/?id={user.id}", {
        "role": "referrer", "kyc_status": "verified", "row_version": version(user)})
    assert response.status_code == 302, text(response)[:2000]
    user = User.get_by_id(user.id)
    assert (user.role, user.kyc_status, user.is_active) == ("referrer", "verified", False)
    delete(client, "user", user.id)
    assert not User.select().where(User.id == user.id).exists()


def test_demoting_an_admin_in_the_console_signs_them_out_for_good(client, db, password_hash):
    from deepref import auth
    from deepref.models import AdminSession

    colleague = User.create(email="colleague@example.com", role="admin",
                            password_hash=password_hash)
    UserRole.create(user=colleague, role="admin")
    their_cookie = auth.session_values(colleague)
    response = post(client, f"/admin/user/edit/?id={colleague.id}", {
        "role": "seeker", "kyc_status": "pending", "is_active": "y",
        "row_version": version(colleague)})
    assert response.status_code == 302, text(response)[:2000]
    assert not AdminSession.select().where(AdminSession.user == colleague.id).exists()
    assert AdminSession.select().where(AdminSession.token_hash != "").exists()  # ours stays

    User.update(role="admin").where(User.id == colleague.id).execute()
    thief = client.application.test_client()
    with thief.session_transaction() as session:
        session.update(their_cookie)
    assert thief.get("/admin/").status_code == 302


def test_session_close_and_finetune_edits(client, db):
    user = make_user()
    session = make_session(user)
    response = post(client, f"/admin/aisession/edit/?id={session.id}",
                    {"ended_at": "2099-01-01 00:00:00", "row_version": version(session)})
    assert response.status_code == 302, text(response)[:2000]
    assert AISession.get_by_id(session.id).ended_at.year == 2099

    prompt = make_prompt()
    examples = [make_finetune(make_interaction(session, prompt)) for _ in range(3)]
    response = post(client, f"/admin/aifinetunedataset/edit/?id={examples[0].id}", {
        "quality_score": "5", "human_feedback": "Excellent answer", "included_in_training": "y",
        "row_version": version(examples[0])})
    assert response.status_code == 302, text(response)[:2000]
    first = AIFinetuneDataset.get_by_id(examples[0].id)
    assert (first.quality_score, first.human_feedback, first.included_in_training) == (
        5, "Excellent answer", True)

    ids = [str(e.id) for e in examples]
    page = post(client, "/admin/aifinetunedataset/action/",
                {"action": "include", "rowid": ids, "url": "/admin/aifinetunedataset/"}, follow=True)
    assert "2 example(s) included in training" in text(page)
    assert AIFinetuneDataset.select().where(AIFinetuneDataset.included_in_training).count() == 3
    post(client, "/admin/aifinetunedataset/action/", {"action": "exclude", "rowid": ids[1:]})
    included = {e.id for e in AIFinetuneDataset.select().where(AIFinetuneDataset.included_in_training)}
    assert included == {examples[0].id}


def test_read_only_views_offer_no_writes(client, db):
    user = make_user()
    session = make_session(user)
    interaction = make_interaction(session, make_prompt())
    # No view offers them, so even an admin is refused (deepref/admin/access.py).
    assert client.get(f"/admin/aiinteraction/edit/?id={interaction.id}").status_code == 403
    assert client.get("/admin/aiinteraction/new/").status_code == 403
    assert post(client, "/admin/aiinteraction/delete/", {"id": str(interaction.id)}).status_code == 403
    assert post(client, "/admin/auditlog/new/", {"action": "create", "table_name": "users"}).status_code == 403
    from deepref.models import AIInteraction, AuditLog

    assert AIInteraction.select().count() == 1
    assert not AuditLog.select().where(AuditLog.table_name == "users").exists()
