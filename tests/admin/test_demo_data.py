"""deepref.demo: the small demo data set, on SQLite and PostgreSQL.

These use the admin tests' shared console (tests/admin/conftest.py): the same `app`,
`db` and `backend` fixtures over both backends, emptied after each test, and a client
signed in through the real /login form for the list pages.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from deepref import demo
from deepref.demo import DEMO_DOMAIN, DemoDataError, load_demo_data
from deepref.models import (
    AIFinetuneDataset, AIInteraction, AIPrompt, AISession, Bundle, BundleReference,
    KYCDocument, Reference, User,
)
from deepref.models.fields import utcnow
from databases import empty_tables
from support import ADMIN_ID, make_prompt, text

MODELS = [User, Reference, Bundle, BundleReference, KYCDocument, AIPrompt, AISession,
          AIInteraction, AIFinetuneDataset]


def counts() -> dict[str, int]:
    return {model._meta.table_name: model.select().count() for model in MODELS}


def test_it_fills_every_table_and_reports_what_it_made(db, backend):
    made = load_demo_data()
    assert made == counts()
    assert made["users"] == 40 and made["references"] == 200 and made["bundles"] == 40
    assert made["ai_sessions"] == 60 and made["ai_interactions"] == 300
    assert made["ai_prompts"] == 4  # none were there: the four agents' seeds
    assert 45 <= made["kyc_documents"] <= 80 and made["bundle_references"] >= 80
    assert 0 < made["ai_finetune_datasets"] < made["ai_interactions"]
    assert {p.prompt_id for p in AIPrompt.select()} == {
        "authenticity-analyzer-v1", "reference-coach-v1", "reference-intelligence-v1",
        "verification-orchestrator-v1"}


def test_users_are_plain_members_on_the_demo_domain(db):
    load_demo_data()
    users = list(User.select())
    assert {u.role for u in users} == {"seeker", "referrer", "employer"}
    assert all(u.password_hash is None for u in users)
    assert all(u.email == u.email.lower() and u.email.endswith("@" + DEMO_DOMAIN)
               and u.email.isascii() for u in users)
    assert len({u.kyc_status for u in users}) == 4


def test_every_foreign_key_points_at_the_right_owner(db):
    load_demo_data()
    roles = {u.id: u.role for u in User.select(User.id, User.role)}
    for ref in Reference.select():
        assert roles[ref.seeker_id] == "seeker"
        assert ref.referrer_id is None or roles[ref.referrer_id] in ("referrer", "employer")
        assert (ref.content is None) == (ref.format != "text") == (ref.media_url is not None)
        assert (ref.rcs_score is None) or 0 <= ref.rcs_score <= 100
        assert ref.status != "pending" or (ref.rcs_score is None and ref.submitted_at is None)
    scores = {r.id: r.rcs_score for r in Reference.select(Reference.id, Reference.rcs_score)}
    for bundle in Bundle.select():
        links = list(BundleReference.select().where(BundleReference.bundle == bundle))
        assert len(links) >= 2
        # A bundle links only its own seeker's references.
        assert {link.reference.seeker_id for link in links} == {bundle.seeker_id}
        linked = [scores[link.reference_id] for link in links
                  if scores[link.reference_id] is not None]
        expected = (sum(linked) / len(linked)).quantize(Decimal("0.01")) if linked else None
        assert bundle.aggregated_rcs == expected
    for document in KYCDocument.select():
        assert roles[document.user_id] and document.user.kyc_status != "pending"
        assert (document.status == "pending") == (document.user.kyc_status == "submitted")
    for interaction in AIInteraction.select(AIInteraction, AISession).join(AISession):
        session = interaction.session
        assert roles[session.user_id] in ("seeker", "employer")
        assert session.started_at <= interaction.created_at <= (session.ended_at or utcnow())
    for entry in AIFinetuneDataset.select():
        assert entry.interaction.success and 1 <= entry.quality_score <= 5


def test_times_are_recent_and_pending_documents_wait_various_times(db):
    load_demo_data()
    now = utcnow()
    started = [s.started_at for s in AISession.select()]
    assert now - dt.timedelta(days=30) <= min(started) and max(started) <= now
    assert all(now - dt.timedelta(days=30) <= i.created_at <= now for i in AIInteraction.select())
    waiting = sorted(now - d.created_at for d in
                     KYCDocument.select().where(KYCDocument.status == "pending"))
    assert len(waiting) >= 5
    assert waiting[0] < dt.timedelta(days=2) and waiting[-1] > dt.timedelta(days=7)


def test_the_same_seed_gives_the_same_rows(db):
    def snapshot():
        return ([(u.id, u.email, u.role) for u in User.select().order_by(User.id)],
                [(r.id, r.company, r.role, r.status, r.rcs_score)
                 for r in Reference.select().order_by(Reference.id)])

    load_demo_data(seed=3)
    first = snapshot()
    empty_tables(db)
    load_demo_data(seed=3)
    assert snapshot() == first
    empty_tables(db)
    load_demo_data(seed=4)
    assert snapshot() != first


def test_a_second_run_is_refused_and_writes_nothing(db):
    load_demo_data()
    before = counts()
    with pytest.raises(DemoDataError, match=f"already has demo data .*{DEMO_DOMAIN}"):
        load_demo_data()
    assert counts() == before
    # Unless told to add more: new users, numbered after the others.
    made = load_demo_data(append=True)
    assert made["users"] == 40 and made["ai_prompts"] == 0
    assert counts()["users"] == 80 == len({u.email for u in User.select()})


def test_a_failure_part_way_writes_nothing(db, monkeypatch):
    insert = demo._Demo.insert

    def failing(self, model, rows):
        if model is AIFinetuneDataset:  # the last table, after the prompts were seeded
            raise RuntimeError("disk full")
        insert(self, model, rows)

    monkeypatch.setattr(demo._Demo, "insert", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        load_demo_data()
    assert set(counts().values()) == {0}


def test_it_uses_the_prompts_already_there(db):
    prompt = make_prompt("coach-v1")
    made = load_demo_data()
    assert made["ai_prompts"] == 0 and AIPrompt.select().count() == 1
    assert {i.prompt_id for i in AIInteraction.select()} == {prompt.id}


def test_the_console_lists_show_the_demo_data(client, db):
    load_demo_data()
    # The signed-in admin exists: reviewed documents name them as the reviewer.
    reviewed = KYCDocument.select().where(KYCDocument.status != "pending")
    assert {d.reviewed_by_id for d in reviewed} == {ADMIN_ID}
    # Each list names the demo members (seekers, users, their sessions' owners).
    for view in ("reference", "bundle", "kycdocument", "user", "aisession"):
        response = client.get(f"/admin/{view}/")
        assert response.status_code == 200, (view, text(response)[:500])
        assert DEMO_DOMAIN in text(response), view
    for url in ("/admin/aiinteraction/", "/admin/aifinetunedataset/", "/admin/"):
        assert client.get(url).status_code == 200, url


def test_scale_must_be_a_whole_number_of_at_least_one(db):
    with pytest.raises(DemoDataError, match="scale"):
        load_demo_data(scale=0)
    assert load_demo_data(scale=2)["references"] == 400


def test_flask_demo_data_loads_once_then_says_how_to_add_more(app, db):
    cli = app.test_cli_runner()
    first = cli.invoke(args=["demo-data"])
    assert first.exit_code == 0, first.output
    assert first.output.startswith("Loaded demo data: 40 users, 200 references, ")
    second = cli.invoke(args=["demo-data"])
    assert second.exit_code == 1
    assert second.output.strip().splitlines() == [
        f"Error: the database already has demo data (40 users at {DEMO_DOMAIN}); "
        "`flask demo-data --append` adds more"]
    assert cli.invoke(args=["demo-data", "--append"]).exit_code == 0
    assert User.select().count() == 80
