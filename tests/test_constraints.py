"""What the migrated schema enforces: foreign keys, CHECKs, uniqueness, cascades, defaults."""

from __future__ import annotations

import datetime as dt
import uuid

import peewee as pw
import pytest

from deepref.models import (
    AIFinetuneDataset,
    AIInteraction,
    AIPrompt,
    AISession,
    Bundle,
    BundleReference,
    KYCDocument,
    Reference,
    User,
)


def make_user(email="seeker@example.com", **kwargs):
    return User.create(email=email, **kwargs)


def make_reference(seeker, **kwargs):
    values = dict(referrer_name="Ada Lovelace", referrer_email="ada@example.com",
                  company="Analytical Engines", role="Engineering Manager")
    values.update(kwargs)
    return Reference.create(seeker=seeker, **values)


def make_prompt(prompt_id="reference-coach-v1"):
    return AIPrompt.create(prompt_id=prompt_id, name="Coach", system_prompt="You coach.",
                           user_prompt_template="{reference_text}", version="1.0.0",
                           model_preference="claude-sonnet-4-5")


def make_interaction(user, prompt=None):
    session = AISession.create(user=user, session_type="coaching")
    return AIInteraction.create(session=session, prompt=prompt or make_prompt(),
                                user_input="hi", model_used="claude-sonnet-4-5")


def rejected(db, action):
    """True when the database refuses `action` (and the transaction is rolled back)."""
    try:
        with db.atomic():
            action()
    except pw.IntegrityError:
        return True
    return False


def test_foreign_keys_are_enforced(db):
    missing = uuid.uuid4()
    assert rejected(db, lambda: Reference.insert(
        id=uuid.uuid4(), seeker=missing, referrer_name="x", referrer_email="x@e.com",
        company="c", role="r").execute())
    assert Reference.select().count() == 0


@pytest.mark.parametrize("score, accepted", [(0, False), (1, True), (5, True), (6, False)])
def test_quality_score_must_be_between_1_and_5(db, score, accepted):
    interaction = make_interaction(make_user())
    refused = rejected(db, lambda: AIFinetuneDataset.create(interaction=interaction,
                                                            quality_score=score))
    assert refused is not accepted
    assert AIFinetuneDataset.select().count() == (1 if accepted else 0)


@pytest.mark.parametrize("model, values", [
    (User, {"email": "x@example.com", "role": "superuser"}),
    (User, {"email": "x@example.com", "kyc_status": "maybe"}),
    (User, {"email": "Upper@Example.com"}),
])
def test_enumerations_and_lower_case_email_are_checked_by_the_database(db, model, values):
    row = {"id": uuid.uuid4(), **values}
    assert rejected(db, lambda: model.insert(row).execute())


def test_scores_and_counts_are_range_checked(db):
    seeker = make_user()
    assert rejected(db, lambda: make_reference(seeker, rcs_score=100.01))
    assert rejected(db, lambda: make_reference(seeker, status="lost"))
    assert rejected(db, lambda: make_reference(seeker, format="pdf"))
    assert not rejected(db, lambda: make_reference(seeker, rcs_score=100))
    assert rejected(db, lambda: Bundle.create(seeker=seeker, title="t", view_count=-1))
    assert rejected(db, lambda: Bundle.create(seeker=seeker, title="t", aggregated_rcs=-1))


def test_a_session_cannot_end_before_it_started(db):
    user = make_user()
    start = dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc)
    assert rejected(db, lambda: AISession.create(
        user=user, session_type="x", started_at=start, ended_at=start - dt.timedelta(seconds=1)))
    assert not rejected(db, lambda: AISession.create(
        user=user, session_type="x", started_at=start, ended_at=start))


def test_unique_constraints(db):
    seeker = make_user(" One@Example.com ")
    assert User.get_by_id(seeker.id).email == "one@example.com"  # stored lower-case
    assert rejected(db, lambda: User.create(email="ONE@example.com"))
    bundle = Bundle.create(seeker=seeker, title="b")
    assert rejected(db, lambda: Bundle.create(seeker=seeker, title="c",
                                              share_token=bundle.share_token))
    make_prompt("same")
    assert rejected(db, lambda: make_prompt("same"))
    session = AISession.create(user=seeker, session_type="x")
    assert rejected(db, lambda: AISession.create(user=seeker, session_type="x",
                                                 agent_id=session.agent_id))
    interaction = make_interaction(seeker, AIPrompt.get())
    AIFinetuneDataset.create(interaction=interaction, quality_score=3)
    assert rejected(db, lambda: AIFinetuneDataset.create(interaction=interaction,
                                                         quality_score=4))
    reference = make_reference(seeker)
    BundleReference.create(bundle=bundle, reference=reference)
    assert rejected(db, lambda: BundleReference.create(bundle=bundle, reference=reference))


def test_deleting_a_user_cascades_to_everything_they_own(db):
    seeker, other = make_user(), make_user("other@example.com")
    reference = make_reference(seeker)
    kept = make_reference(other)
    bundle = Bundle.create(seeker=seeker, title="Mine")
    BundleReference.create(bundle=bundle, reference=reference)
    foreign_bundle = Bundle.create(seeker=other, title="Theirs")
    BundleReference.create(bundle=foreign_bundle, reference=reference)
    KYCDocument.create(user=seeker, document_type="passport", file_path="k/1")
    interaction = make_interaction(seeker)
    AIFinetuneDataset.create(interaction=interaction, quality_score=4)

    User.delete().where(User.id == seeker.id).execute()

    assert Reference.select().count() == 1 and Reference.get().id == kept.id
    assert [b.title for b in Bundle.select()] == ["Theirs"]
    assert BundleReference.select().count() == 0
    for model in (KYCDocument, AISession, AIInteraction, AIFinetuneDataset):
        assert model.select().count() == 0, model.__name__
    assert AIPrompt.select().count() == 1


def test_deleting_a_referrer_keeps_their_references(db):
    seeker, referrer = make_user(), make_user("referrer@example.com", role="referrer")
    reference = make_reference(seeker, referrer=referrer)
    User.delete().where(User.id == referrer.id).execute()
    assert Reference.get_by_id(reference.id).referrer_id is None


def test_a_reviewer_with_reviews_cannot_be_deleted(db):
    seeker, reviewer = make_user(), make_user("reviewer@example.com", role="admin")
    KYCDocument.create(user=seeker, document_type="selfie", file_path="k/2", reviewed_by=reviewer)
    assert rejected(db, lambda: User.delete().where(User.id == reviewer.id).execute())
    assert KYCDocument.select().count() == 1 and User.select().count() == 2


def test_a_prompt_with_history_cannot_be_deleted(db):
    interaction = make_interaction(make_user())
    assert rejected(db, lambda: AIPrompt.delete().execute())
    assert AIInteraction.get_by_id(interaction.id).prompt_id is not None


def test_plain_sql_inserts_get_server_defaults(db, backend):
    db.execute_sql("INSERT INTO users (id, email) VALUES ('%s', 'raw@example.com')"
                   % uuid.uuid4().hex)
    user = User.get(User.email == "raw@example.com")
    assert (user.role, user.kyc_status, user.is_active, user.email_verified) == (
        "seeker", "pending", True, False)
    assert user.created_at.tzinfo is not None
    assert abs(user.created_at - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(minutes=5)
    if backend == "postgres":
        db.execute_sql("INSERT INTO ai_prompts (prompt_id, name, system_prompt, "
                       "user_prompt_template, version, model_preference) "
                       "VALUES ('raw', 'n', 's', 't', '1.0.0', 'm')")
        prompt = AIPrompt.get(AIPrompt.prompt_id == "raw")
        assert isinstance(prompt.id, uuid.UUID) and prompt.metadata == {}


def test_updated_at_changes_on_every_update(db):
    user = make_user()
    first = User.get_by_id(user.id).updated_at
    user.first_name = "Ann"
    user.save()
    second = User.get_by_id(user.id).updated_at
    User.update(last_name="Lee").where(User.id == user.id).execute()
    third = User.get_by_id(user.id).updated_at
    assert first < second < third
    assert third.tzinfo == dt.timezone.utc


def test_json_and_decimal_columns_round_trip(db):
    reference = make_reference(make_user(), responses={"strengths": ["clear", "kind"]},
                               rcs_score="87.456")
    stored = Reference.get_by_id(reference.id)
    assert stored.responses == {"strengths": ["clear", "kind"]}
    assert str(stored.rcs_score) == "87.46"


def test_indexed_queries_use_their_index(db, backend):
    seeker = make_user()
    for n in range(30):
        make_reference(seeker, company=f"Company {n}", status="verified" if n % 2 else "pending")
    if backend == "postgres":
        db.execute_sql("SET enable_seqscan = off")
        plan = "\n".join(r[0] for r in db.execute_sql(
            'EXPLAIN SELECT id FROM "references" WHERE seeker_id = %s AND status = %s',
            (seeker.id.hex, "verified")))
        assert "ix_references_seeker_id_status" in plan, plan
        plan = "\n".join(r[0] for r in db.execute_sql(
            "EXPLAIN SELECT id FROM \"references\" WHERE to_tsvector('english', "
            "referrer_name || ' ' || company || ' ' || role) @@ plainto_tsquery('english', %s)",
            ("company",)))
        assert "ix_references_fts" in plan, plan
    else:
        plan = " ".join(str(r) for r in db.execute_sql(
            'EXPLAIN QUERY PLAN SELECT id FROM "references" WHERE seeker_id = ? AND status = ?',
            (seeker.id.hex, "verified")))
        assert "ix_references_seeker_id_status" in plan, plan
