"""The three revisions and the migration runner, on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil

import pytest

from databases import database_of
from deepref import migrate as runner
from deepref.migrate import check as schema_check

REVISIONS = ["001_initial_schema", "002_ai_system_tables", "003_create_indexes"]
TABLES = {
    "users", "references", "bundles", "bundle_references", "kyc_documents",
    "ai_prompts", "ai_sessions", "ai_interactions", "ai_finetune_datasets",
}
NAMED_INDEXES = {
    "ix_users_role", "ix_users_kyc_status", "ix_users_email_verified", "ix_users_created_at",
    "ix_references_status", "ix_references_format", "ix_references_created_at",
    "ix_references_expiry_date", "ix_references_rcs_score", "ix_references_seeker_id_status",
    "ix_references_referrer_id_status", "ix_bundles_is_active", "ix_bundles_created_at",
    "ix_bundles_expiry_date", "ix_bundles_seeker_id_is_active", "ix_kyc_documents_status",
    "ix_kyc_documents_document_type", "ix_kyc_documents_user_id_status",
    "ix_ai_prompts_is_active", "ix_ai_prompts_model_preference",
    "ix_ai_prompts_is_active_model_preference", "ix_ai_sessions_session_type",
    "ix_ai_sessions_started_at", "ix_ai_sessions_ended_at",
    "ix_ai_sessions_user_id_session_type", "ix_ai_sessions_user_id_started_at_open",
    "ix_ai_interactions_created_at", "ix_ai_interactions_success",
    "ix_ai_interactions_model_used", "ix_ai_interactions_session_id_created_at",
    "ix_ai_interactions_prompt_id_created_at", "ix_ai_finetune_datasets_included_in_training",
    "ix_ai_finetune_datasets_quality_score",
    "ix_ai_finetune_datasets_quality_score_included_in_training",
}
FULL_TEXT_INDEXES = {"ix_references_fts", "ix_bundles_fts"}


def quiet(line):
    pass


def index_names(db):
    schema = schema_check.live_schema(db)
    return {name for table in schema.values() for name in table["index"]}


def core_tables(db):
    return set(db.get_tables()) - runner.BOOKKEEPING


def test_migrate_applies_every_revision_in_order(bare_app):
    db = database_of(bare_app)
    lines = []
    everything = runner.available()
    assert everything[:3] == REVISIONS
    assert runner.migrate(db, echo=lines.append) == everything
    assert lines == [f"Applied {name}" for name in everything]
    assert [s.name for s in runner.status(db) if s.applied_at] == everything
    assert runner.migrate(db, echo=quiet) == []


def test_migrate_to_stops_at_the_named_revision(bare_app):
    db = database_of(bare_app)
    assert runner.migrate(db, target="002", echo=quiet) == REVISIONS[:2]
    assert "ai_prompts" in core_tables(db)
    assert not NAMED_INDEXES & index_names(db)


def test_migrations_create_the_nine_tables(app, db):
    assert TABLES <= core_tables(db)
    columns = {c.name for c in db.get_columns("references")}
    assert {"seeker_id", "referrer_id", "responses", "rcs_score", "expiry_date"} <= columns


def test_all_named_indexes_exist(app, db, backend):
    names = index_names(db)
    assert NAMED_INDEXES <= names
    if backend == "postgres":
        assert len((NAMED_INDEXES | FULL_TEXT_INDEXES) & names) == 36
    else:
        assert not FULL_TEXT_INDEXES & names


def test_every_foreign_key_column_leads_an_index(app, db):
    for table in TABLES:
        leading = {tuple(ix.columns)[0] for ix in db.get_indexes(table)}
        for fk in db.get_foreign_keys(table):
            assert fk.column in leading, f"{table}.{fk.column} leads no index"


@pytest.fixture
def core_db(bare_app):
    """A database with exactly the three core revisions applied."""
    db = database_of(bare_app)
    runner.migrate(db, target="003", echo=quiet)
    return db


def test_rollback_undoes_the_last_revision_and_says_what_it_drops(core_db):
    from deepref.models import User

    db = core_db
    User.create(email="a@example.com")
    assert runner.rollback(db, echo=quiet) == ["003_create_indexes"]
    assert not NAMED_INDEXES & index_names(db)
    lines = []
    assert runner.rollback(db, steps=2, echo=lines.append) == REVISIONS[1::-1]
    assert core_tables(db) == set()
    assert "  dropped table users (1 rows)" in lines
    assert "  dropped table ai_prompts (0 rows)" in lines
    assert runner.rollback(db, echo=quiet) == []


def test_rollback_to_keeps_the_named_revision(core_db):
    db = core_db
    assert runner.rollback(db, to="001_initial_schema", echo=quiet) == REVISIONS[:0:-1]
    assert [s.name for s in runner.status(db) if s.applied_at] == ["001_initial_schema"]


def test_stairway_each_revision_round_trips_to_the_same_schema(bare_app):
    db = database_of(bare_app)
    before = schema_check.live_schema(db)
    for name in runner.available():
        runner.migrate(db, target=name, echo=quiet)
        after = schema_check.live_schema(db)
        assert after != before, f"{name} changed nothing"
        runner.rollback(db, echo=quiet)
        assert schema_check.live_schema(db) == before, f"rolling back {name} left a trace"
        runner.migrate(db, target=name, echo=quiet)
        assert schema_check.live_schema(db) == after, f"re-applying {name} differs"
        before = after


def test_check_reports_no_drift_after_a_full_migrate(app, db):
    assert schema_check.compare(db) == []


def test_check_leaves_nothing_and_looks_past_the_sessions_own_temporary_tables(app, db, backend):
    # PostgreSQL builds the models as this session's temporary tables, rolled back; when
    # the session has temporary tables of its own, in a scratch schema beside them.
    temporary = "pg_temp" if backend == "postgres" else "temp"
    own = f"SELECT count(*) FROM {temporary}.sqlite_master" if backend == "sqlite" else (
        "SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema()")
    assert schema_check.compare(db) == []
    assert db.execute_sql(own).fetchone()[0] == 0
    db.execute_sql("CREATE TEMPORARY TABLE notes (id integer, body text)")
    try:
        assert schema_check.compare(db) == []
        db.execute_sql("DROP INDEX ix_references_status")
        assert schema_check.compare(db) == [
            "references: missing index ix_references_status: CREATE INDEX ix_references_status "
            "ON \"references\" USING btree (status)" if backend == "postgres" else
            "references: missing index ix_references_status: create index "
            "ix_references_status on references status"]
    finally:
        db.execute_sql(f"DROP TABLE {temporary}.notes")


def test_check_reports_a_column_altered_by_hand(app, db, backend):
    if backend == "postgres":
        db.execute_sql("ALTER TABLE users ALTER COLUMN first_name TYPE varchar(50)")
    else:
        db.execute_sql("ALTER TABLE users ADD COLUMN nickname TEXT")
    db.execute_sql("DROP INDEX ix_references_status")
    differences = schema_check.compare(db)
    assert any(line.startswith("references: missing index ix_references_status") for line in differences)
    expected = "users: column first_name differs" if backend == "postgres" else "users: unexpected column nickname"
    assert any(line.startswith(expected) for line in differences), differences


def test_check_reports_a_missing_check_constraint(app, db, backend):
    if backend == "postgres":
        db.execute_sql(
            "ALTER TABLE ai_finetune_datasets DROP CONSTRAINT ck_ai_finetune_datasets_quality_score"
        )
    else:  # SQLite cannot drop a constraint: rebuild the table without it
        sql = db.execute_sql(
            "SELECT sql FROM sqlite_master WHERE name = 'ai_finetune_datasets'"
        ).fetchone()[0]
        db.execute_sql("DROP TABLE ai_finetune_datasets")
        db.execute_sql(sql.replace(
            ", CONSTRAINT ck_ai_finetune_datasets_quality_score CHECK (quality_score BETWEEN 1 AND 5)", ""
        ))
    differences = schema_check.compare(db)
    assert any(
        line.startswith("ai_finetune_datasets: missing constraint ck_ai_finetune_datasets_quality_score")
        for line in differences
    ), differences


BROKEN_REVISION = '''
def migrate(migrator, database, *, fake=False):
    migrator.sql("CREATE TABLE half_done (id integer)")
    migrator.sql("ALTER TABLE users ADD COLUMN nickname varchar(40)")
    migrator.sql("{failing}")


def rollback(migrator, database, *, fake=False):
    migrator.sql("ALTER TABLE users DROP COLUMN nickname")
    migrator.sql("DROP TABLE half_done")
'''


@pytest.fixture
def migrations_copy(tmp_path):
    directory = tmp_path / "migrations"
    shutil.copytree(runner.MIGRATIONS_DIR, directory, ignore=shutil.ignore_patterns("__pycache__"))
    return directory


def test_a_failing_revision_leaves_no_trace_and_reruns_after_a_fix(app, db, migrations_copy):
    revision = migrations_copy / "900_broken.py"
    revision.write_text(BROKEN_REVISION.format(failing="INSERT INTO no_such_table VALUES (1)"))
    before = schema_check.live_schema(db)
    with pytest.raises(runner.MigrationError) as failure:
        runner.migrate(db, migrations_copy, echo=quiet)
    message = failure.value.message
    assert "Applying 900_broken failed; nothing of it was kept." in message
    assert "statement: INSERT INTO no_such_table VALUES (1)" in message
    assert "no_such_table" in message.splitlines()[-1]
    assert schema_check.live_schema(db) == before
    assert "half_done" not in db.get_tables()
    assert runner.status(db, migrations_copy)[-1].applied_at is None

    revision.write_text(BROKEN_REVISION.format(failing="SELECT 1"))
    assert runner.migrate(db, migrations_copy, echo=quiet) == ["900_broken"]
    assert "nickname" in {c.name for c in db.get_columns("users")}
    assert runner.rollback(db, migrations_copy, echo=quiet) == ["900_broken"]
    assert schema_check.live_schema(db) == before


def test_a_revision_that_does_not_load_is_reported(app, db, migrations_copy):
    (migrations_copy / "900_typo.py").write_text("def migrate(migrator, database:\n")
    with pytest.raises(runner.MigrationError, match="Applying 900_typo failed: SyntaxError"):
        runner.migrate(db, migrations_copy, echo=quiet)


def test_status_lists_a_recorded_revision_whose_file_is_missing(app, db, migrations_copy):
    (migrations_copy / "003_create_indexes.py").unlink()
    states = {s.name: s for s in runner.status(db, migrations_copy)}
    assert states["003_create_indexes"].on_disk is False
    assert states["003_create_indexes"].applied_at is not None
