"""Every record's history (who, when, each field before and after, newest first), the
audit log naming and linking records, and reverting one change."""

from __future__ import annotations

import decimal

from support import ADMIN_EMAIL, ADMIN_ID, form_of, make_bundle, make_reference, make_user, post, text

from deepref.models import AuditLog, Bundle, BundleReference, Reference, User


def edit(client, view, row_id, **changes):
    form = form_of(client, f"/admin/{view}/edit/?id={row_id}")
    form.update({k: [v] for k, v in changes.items()})
    response = post(client, f"/admin/{view}/edit/?id={row_id}", form)
    assert response.status_code == 302, text(response)[:3000]


def test_a_records_pages_link_to_its_history_newest_first(client, db):
    ref = make_reference(make_user(), company="Acme")
    edit(client, "reference", ref.id, company="Globex")
    edit(client, "reference", ref.id, company="Initech", status="verified")
    for page in ("edit", "details"):
        assert f"/admin/reference/history/?id={ref.id}" in text(client.get(f"/admin/reference/{page}/?id={ref.id}"))
    body = text(client.get(f"/admin/reference/history/?id={ref.id}"))
    assert body.index("Initech") < body.index("Globex") < body.rindex("Acme")  # newest first
    assert f"Update by {ADMIN_EMAIL}" in body and " UTC</time>" in body
    assert "<th scope=\"row\">Company</th>" in body and "<th scope=\"row\">Status</th>" in body


def test_the_audit_log_names_and_links_each_record(client, db):
    seeker = make_user("named@example.com")
    ref = make_reference(seeker, referrer_name="Rita", company="Acme")
    edit(client, "reference", ref.id, company="Globex")
    edit(client, "user", seeker.id, role="referrer")
    body = text(client.get("/admin/auditlog/"))
    assert f'<a href="/admin/reference/details/?id={ref.id}"' in body and "Rita (Globex)</a>" in body
    assert f'<a href="/admin/user/details/?id={seeker.id}"' in body and "named@example.com</a>" in body
    assert "<th>Company</th>" in body and "<th>Role</th>" in body  # labels, not column names


def test_revert_puts_the_before_values_back_and_is_recorded(client, db):
    ref = make_reference(make_user(), company="Acme", rcs_score=decimal.Decimal("70"))
    edit(client, "reference", ref.id, company="Globex", rcs_score="88.5")
    change = AuditLog.get()
    page = text(client.get(f"/admin/reference/revert/?entry={change.id}"))
    assert "Revert this change" in page and "Globex" in page
    response = post(client, f"/admin/reference/revert/?entry={change.id}", {})
    assert response.status_code == 302
    ref = Reference.get_by_id(ref.id)
    assert ref.company == "Acme" and ref.rcs_score == decimal.Decimal("70")
    revert = AuditLog.select().order_by(AuditLog.created_at.desc()).first()
    assert revert.action == "update" and revert.changes["__reverts"] == [None, str(change.id)]
    assert revert.changes["company"] == ["Globex", "Acme"]
    assert "Revert by" in text(client.get(f"/admin/reference/history/?id={ref.id}"))


def test_revert_refuses_when_the_record_moved_on_and_shows_what_differs(client, db):
    ref = make_reference(make_user(), company="Acme")
    edit(client, "reference", ref.id, company="Globex")
    change = AuditLog.get()
    Reference.update(company="Someone else's").where(Reference.id == ref.id).execute()
    body = text(post(client, f"/admin/reference/revert/?entry={change.id}", {}))
    assert "the record has changed since" in body and "Someone else&#39;s" in body
    assert Reference.get_by_id(ref.id).company == "Someone else's"
    assert AuditLog.select().count() == 1


def test_revert_keeps_the_views_rules(client, db):
    # The signed-in admin was promoted once; reverting that now would leave no admin.
    promotion = AuditLog.create(action="update", table_name="users", row_id=str(ADMIN_ID),
                                changes={"role": ["seeker", "admin"]})
    body = text(post(client, f"/admin/user/revert/?entry={promotion.id}", {}))
    assert "last active admin" in body
    assert User.get_by_id(ADMIN_ID).role == "admin" and AuditLog.select().count() == 1


def test_bundle_link_changes_read_as_references_and_revert(client, db):
    seeker = make_user()
    a, b = make_reference(seeker, referrer_name="Ann"), make_reference(seeker, referrer_name="Bob")
    bundle = make_bundle(seeker)
    BundleReference.create(bundle=bundle, reference=a, position=1)
    form = form_of(client, f"/admin/bundle/edit/?id={bundle.id}")
    form["reference_links-1-reference"], form["reference_links-1-position"] = [str(b.id)], ["2"]
    assert post(client, f"/admin/bundle/edit/?id={bundle.id}", form).status_code == 302
    body = text(client.get(f"/admin/bundle/history/?id={bundle.id}"))
    assert "Bob (Acme)" in body and "(position 2)" in body and str(b.id) not in body
    change = AuditLog.get()
    assert post(client, f"/admin/bundle/revert/?entry={change.id}", {}).status_code == 302
    assert [link.reference_id for link in BundleReference.select()] == [a.id]


def test_creates_deletes_and_secrets_are_not_reverted(client, db):
    response = post(client, "/admin/bundle/new/", {"seeker": str(make_user().id), "title": "B"})
    assert response.status_code == 302
    bundle = Bundle.get()
    created = AuditLog.get()
    assert "A creation is undone by deleting" in text(client.get(f"/admin/bundle/revert/?entry={created.id}"))
    edit(client, "bundle", bundle.id, regenerate_share_link="y")
    regenerated = AuditLog.select().order_by(AuditLog.created_at.desc()).first()
    body = text(post(client, f"/admin/bundle/revert/?entry={regenerated.id}", {}))
    assert "whose earlier value is never kept" in body
    assert client.get("/admin/bundle/revert/?entry=not-an-id").status_code == 404
    assert client.get(f"/admin/reference/revert/?entry={created.id}").status_code == 404  # other table
