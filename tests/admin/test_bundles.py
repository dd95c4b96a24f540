"""Bundles hold their own seeker's references only, as compact rows; aggregated RCS is
computed from those references (and follows their scores), the view count is read-only."""

from __future__ import annotations

import decimal

from support import form_of, make_bundle, make_reference, make_user, post, text

from deepref.models import AuditLog, Bundle, BundleReference, Reference


def bundle_form(bundle, **links):
    form = form_of_bundle = {"seeker": str(bundle.seeker_id), "title": bundle.title,
                             "description": "", "is_active": "y", "expiry_date": ""}
    for n, (ref, position) in enumerate(links.get("links", [])):
        form_of_bundle[f"reference_links-{n}-reference"] = str(ref.id)
        form_of_bundle[f"reference_links-{n}-position"] = str(position)
    return form


def test_only_the_seekers_own_references_can_be_linked(client, db):
    seeker, stranger = make_user(), make_user("stranger@example.com")
    bundle = make_bundle(seeker)
    mine = make_reference(seeker, referrer_name="Mine")
    theirs = make_reference(stranger, referrer_name="Theirs", company="Elsewhere")
    form = {**form_of(client, f"/admin/bundle/edit/?id={bundle.id}"),
            **bundle_form(bundle, links=[(mine, 1), (theirs, 2)])}
    body = text(post(client, f"/admin/bundle/edit/?id={bundle.id}", form))
    assert "Only references of this bundle&#39;s seeker (seeker@example.com) can be in it" in body
    assert "Theirs (Elsewhere)" in body
    assert BundleReference.select().count() == 0 and AuditLog.select().count() == 0
    # The same on creation.
    body = text(post(client, "/admin/bundle/new/", bundle_form(bundle, links=[(theirs, 1)])))
    assert "Only references of this bundle" in body and Bundle.select().count() == 1


def test_aggregated_rcs_is_the_mean_of_the_linked_scores_never_typed(client, db):
    seeker = make_user()
    a = make_reference(seeker, rcs_score=decimal.Decimal("80"))
    b = make_reference(seeker, rcs_score=decimal.Decimal("91.25"))
    unscored = make_reference(seeker)
    bundle = make_bundle(seeker, aggregated_rcs=decimal.Decimal("12"), view_count=42)
    page = text(client.get(f"/admin/bundle/edit/?id={bundle.id}"))
    assert 'name="aggregated_rcs"' not in page and 'name="view_count"' not in page
    form = {**form_of(client, f"/admin/bundle/edit/?id={bundle.id}"),
            **bundle_form(bundle, links=[(a, 1), (b, 2), (unscored, 3)]),
            "aggregated_rcs": "99", "view_count": "0"}  # typed anyway: ignored
    assert post(client, f"/admin/bundle/edit/?id={bundle.id}", form).status_code == 302
    bundle = Bundle.get_by_id(bundle.id)
    assert bundle.aggregated_rcs == decimal.Decimal("85.63") and bundle.view_count == 42
    entry = AuditLog.get(AuditLog.table_name == "bundles")
    assert entry.changes["aggregated_rcs"] == [12.0, 85.63]


def test_a_reference_score_change_or_delete_moves_its_bundles_aggregate(client, db):
    seeker = make_user()
    a = make_reference(seeker, rcs_score=decimal.Decimal("80"))
    b = make_reference(seeker, rcs_score=decimal.Decimal("60"))
    bundle = make_bundle(seeker, aggregated_rcs=decimal.Decimal("70"))
    for n, ref in enumerate((a, b)):
        BundleReference.create(bundle=bundle, reference=ref, position=n)
    form = form_of(client, f"/admin/reference/edit/?id={a.id}")
    assert post(client, f"/admin/reference/edit/?id={a.id}", {**form, "rcs_score": ["100"]}).status_code == 302
    assert Bundle.get_by_id(bundle.id).aggregated_rcs == decimal.Decimal("80.00")
    moved = AuditLog.get((AuditLog.table_name == "bundles") & (AuditLog.row_id == str(bundle.id)))
    assert moved.changes == {"aggregated_rcs": [70.0, 80.0]}
    post(client, "/admin/reference/delete/", {"id": str(a.id), "url": "/admin/reference/"})
    assert not Reference.select().where(Reference.id == a.id).exists()
    assert Bundle.get_by_id(bundle.id).aggregated_rcs == decimal.Decimal("60.00")


def test_links_are_compact_rows_with_labelled_fields(client, db):
    seeker = make_user()
    bundle = make_bundle(seeker)
    for n in range(5):
        BundleReference.create(bundle=bundle, reference=make_reference(seeker, referrer_name=f"R{n}"),
                               position=n)
    page = text(client.get(f"/admin/bundle/edit/?id={bundle.id}"))
    assert page.count('class="inline-field link-row"') == 5  # one row a link
    assert 'aria-label="Reference"' in page and 'aria-label="Position"' in page
    assert "card-body" not in page
