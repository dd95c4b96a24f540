"""List pages: a constant number of queries, full-text search, filters, estimated counts,
and the dashboard's numbers."""

from __future__ import annotations

import pytest
from support import (
    counting_queries, hours_ago, make_bundle, make_finetune, make_interaction, make_kyc,
    make_prompt, make_reference, make_session, make_user, text,
)

from deepref.admin import dashboard, listing
from deepref.models import AuditLog, BundleReference

LISTS = ["/admin/reference/", "/admin/bundle/", "/admin/kycdocument/", "/admin/user/",
         "/admin/aiprompt/", "/admin/aisession/", "/admin/aiinteraction/",
         "/admin/aifinetunedataset/", "/admin/auditlog/", "/admin/"]


def add_rows(n: int, prompt) -> None:
    with prompt._meta.database.atomic():
        _add_rows(n, prompt)


def _add_rows(n: int, prompt) -> None:
    for i in range(n):
        seeker = make_user(f"s{i}-{n}@example.com")
        referrer = make_user(f"r{i}-{n}@example.com")
        reviewer = make_user(f"k{i}-{n}@example.com")
        ref = make_reference(seeker, referrer=referrer)
        bundle = make_bundle(seeker, share_token=f"t{i}-{n}")
        BundleReference.create(bundle=bundle, reference=ref)
        make_kyc(seeker, reviewed_by=reviewer)
        session = make_session(seeker)
        make_finetune(make_interaction(session, prompt))
        AuditLog.create(action="update", table_name="references", row_id=str(ref.id),
                        changes={"company": ["A", "B"]})


def queries_per_page(client, db) -> dict[str, int]:
    counts = {}
    for url in LISTS:
        with counting_queries(db) as calls:
            response = client.get(url)
        assert response.status_code == 200, url
        counts[url] = len(calls)
    return counts


def test_list_pages_run_a_constant_number_of_queries(client, db):
    prompt = make_prompt()
    add_rows(2, prompt)
    few = queries_per_page(client, db)
    add_rows(20, prompt)  # more rows than a page holds
    many = queries_per_page(client, db)
    assert many == few
    # Sign-in check, count (or estimate), page, labels; the dashboard: one per number.
    assert max(v for k, v in few.items() if k != "/admin/") <= 6, few
    assert few["/admin/"] <= 16, few  # and the charts: a count per KYC age band, the days


def test_search_finds_by_company_and_uses_the_full_text_index(client, db, backend):
    seeker = make_user("owner@example.com")
    make_reference(seeker, company="Initech Systems", referrer_name="Peter Gibbons")
    make_reference(seeker, company="Globex", referrer_name="Hank Scorpio")
    with counting_queries(db) as calls:
        body = text(client.get("/admin/reference/?search=initech"))
    assert "Peter Gibbons" in body and "Hank Scorpio" not in body
    assert "Peter Gibbons" in text(client.get("/admin/reference/?search=Gibbons+initech"))
    assert "Peter Gibbons" not in text(client.get("/admin/reference/?search=Gibbons+globex"))
    # Symbols are text, not SQL wildcards.
    assert "Peter Gibbons" not in text(client.get("/admin/reference/?search=%25"))
    if backend == "postgres":
        sql, params = next((s, p) for s, p in calls if "@@" in s and "LIMIT" in s)
        assert "plainto_tsquery" in sql
        db.execute_sql("SET enable_seqscan = off")  # a tiny table: ask whether the index fits
        try:
            plan = "\n".join(r[0] for r in db.execute_sql(f"EXPLAIN {sql}", params).fetchall())
        finally:
            db.execute_sql("SET enable_seqscan = on")
        assert "ix_references_fts" in plan, plan
    bundle = make_bundle(seeker, title="Referrals for Initrode", share_token="t-1")
    assert bundle.title in text(client.get("/admin/bundle/?search=initrode"))
    make_kyc(seeker, file_path="kyc/owner-passport.png")
    assert "owner@example.com" in text(client.get("/admin/kycdocument/?search=OWNER@"))
    assert "owner@example.com" not in text(client.get("/admin/kycdocument/?search=nobody"))


def test_filters_and_sorting(client, db):
    seeker, other = make_user("alice@example.com"), make_user("bob@example.com")
    make_reference(seeker, company="VerifiedCo", status="verified", rcs_score=90)
    make_reference(seeker, company="PendingCo", status="pending", rcs_score=10)
    make_reference(other, company="OtherCo", status="verified", rcs_score=50)
    body = text(client.get("/admin/reference/?flt0_status_equals=verified"))
    assert "VerifiedCo" in body and "OtherCo" in body and "PendingCo" not in body
    body = text(client.get(
        "/admin/reference/?flt0_status_equals=verified&flt1_seeker_email_equals=Alice@Example.com"))
    assert "VerifiedCo" in body and "OtherCo" not in body
    # Sort by RCS, ascending: column 7 in the list.
    body = text(client.get("/admin/reference/?sort=7"))
    assert body.index("PendingCo") < body.index("OtherCo") < body.index("VerifiedCo")


def test_counts_above_the_threshold_are_estimates(client, db, backend, monkeypatch):
    seeker = make_user()
    for i in range(12):
        make_reference(seeker, company=f"Co{i}", status="verified" if i % 2 else "pending")
    body = text(client.get("/admin/reference/"))
    assert "an estimate" not in body  # small tables are counted exactly, on both backends
    if backend == "postgres":
        db.execute_sql('ANALYZE "references"')
        monkeypatch.setattr(listing, "ESTIMATE_ABOVE", 5)
        with counting_queries(db) as calls:
            body = text(client.get("/admin/reference/"))
        assert "About 12 rows" in body
        assert not any("COUNT(" in sql.upper() for sql, _ in calls)
        body = text(client.get("/admin/reference/?flt0_status_equals=verified"))
        assert "an estimate" in body  # the planner's estimate for the filtered rows
        assert 'List (<abbr title="estimated">&asymp;</abbr>' in body  # the tab says so too


def test_dashboard_numbers(client, db, backend, monkeypatch):
    seeker = make_user()
    for status in ("pending", "pending", "verified", "expired"):
        make_reference(seeker, status=status)
    make_kyc(seeker, status="pending")
    make_kyc(seeker, status="verified")
    make_bundle(seeker, share_token="a")
    make_bundle(seeker, share_token="b", is_active=False)
    session, prompt = make_session(seeker), make_prompt()
    make_interaction(session, prompt, created_at=hours_ago(2), tokens_used=100)
    make_interaction(session, prompt, created_at=hours_ago(3), tokens_used=50, success=False)
    make_interaction(session, prompt, created_at=hours_ago(30), tokens_used=999)

    statuses, estimated = dashboard.references_by_status()
    assert dict(statuses) == {"pending": 2, "submitted": 0, "verified": 1, "rejected": 0,
                              "expired": 1} and not estimated
    assert sum(n for _, n in dashboard.kyc_queue_ages()) == 1
    assert dashboard.active_bundles() == (1, False)
    assert dashboard.ai_last_24h() == {"total": 2, "succeeded": 1, "rate": 50.0, "tokens": 150}
    body = text(client.get("/admin/"))
    assert "50.0%" in body and "150" in body
    assert "/admin/reference/?flt0_status_equals=pending" in body

    if backend == "postgres":
        db.execute_sql('ANALYZE "references"')
        monkeypatch.setattr(dashboard, "ESTIMATE_ABOVE", 1)
        statuses, estimated = dashboard.references_by_status()
        assert estimated and dict(statuses)["pending"] == 2
        assert "An estimate from PostgreSQL" in text(client.get("/admin/"))
        plans = [dashboard_plan(db, "ai_interactions", "created_at >= now() - interval '24 hours'")]
        assert "ix_ai_interactions_created_at" in plans[0]


def dashboard_plan(db, table, where) -> str:
    db.execute_sql("SET enable_seqscan = off")
    try:
        rows = db.execute_sql(f"EXPLAIN SELECT count(*) FROM {table} WHERE {where}").fetchall()
    finally:
        db.execute_sql("SET enable_seqscan = on")
    return "\n".join(r[0] for r in rows)


@pytest.mark.parametrize("term", ["ann", "ANN@EX"])
def test_foreign_key_lookup_is_a_search_not_a_list(client, db, term):
    make_user("ann@example.com")
    for i in range(30):
        make_user(f"user{i}@example.com")
    response = client.get(f"/admin/reference/ajax/lookup/?name=seeker&query={term}",
                          headers={"X-Requested-With": "XMLHttpRequest"})
    assert response.status_code == 200
    assert [label for _, label in response.get_json()] == ["ann@example.com"]
    seeker = make_user("owner@example.com")
    ref = make_reference(seeker, referrer_name="Zed Zebra", company="Zoo Inc")
    make_reference(make_user("other@example.com"), referrer_name="Zoe Zebra", company="Zoo Inc")
    lookup = "/admin/bundle/ajax/lookup/?name=reference_links-reference&query=zebr"
    found = client.get(f"{lookup}&seeker={seeker.id}").get_json()
    assert found == [[str(ref.id), "Zed Zebra (Zoo Inc)"]]  # only the chosen seeker's
    assert client.get(lookup).get_json() == []  # no seeker chosen yet: nothing


def test_deep_pages_match_plain_offset(client, db, backend, monkeypatch):
    """Deep pages found through the sort index hold exactly the rows OFFSET would give."""
    import datetime as dt

    from deepref.models import Reference

    seeker = make_user()
    moments = [dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(hours=i // 3)
               for i in range(45)]  # three references per timestamp: ties across pages
    with db.atomic():
        for i, moment in enumerate(moments):
            make_reference(seeker, company=f"Company {i:02d}", created_at=moment)
    expected = [r.company for r in Reference.select().order_by(
        Reference.created_at.desc(), Reference.id.desc()).offset(20).limit(20)]
    if backend == "postgres":
        db.execute_sql('ANALYZE "references"')
        monkeypatch.setattr(listing, "ESTIMATE_ABOVE", 5)
        monkeypatch.setattr(listing, "DEEP_OFFSET", 2)
    with counting_queries(db) as calls:
        body = text(client.get("/admin/reference/?page=1"))
    shown = [c for c in (f"Company {i:02d}" for i in range(45)) if c in body]
    assert sorted(shown) == sorted(expected)
    order = sorted(expected, key=body.index)
    assert order == expected
    if backend == "postgres":
        assert not any("OFFSET 20" in sql for sql, _ in calls)
    assert "Company 0" not in text(client.get("/admin/reference/?page=9"))
