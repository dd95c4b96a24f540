"""003_create_indexes: the 34 named performance indexes, plus two GIN full-text
indexes on PostgreSQL. Rollback drops exactly these.

Built concurrently (outside the revision's transaction on PostgreSQL): the tables exist
before this revision, so nothing here stops writes to them, however full they are.
"""

from deepref.migrate.ops import create_index_sql, create_indexes, drop_index_sql, drop_indexes


def _spec(table, name, *columns, where=None):
    return (table, name, columns, False, where)


INDEXES = [
    _spec("users", "ix_users_role", "role"),
    _spec("users", "ix_users_kyc_status", "kyc_status"),
    _spec("users", "ix_users_email_verified", "email_verified"),
    _spec("users", "ix_users_created_at", "created_at"),
    _spec("references", "ix_references_status", "status"),
    _spec("references", "ix_references_format", "format"),
    _spec("references", "ix_references_created_at", "created_at"),
    _spec("references", "ix_references_expiry_date", "expiry_date"),
    _spec("references", "ix_references_rcs_score", "rcs_score"),
    _spec("references", "ix_references_seeker_id_status", "seeker", "status"),
    _spec("references", "ix_references_referrer_id_status", "referrer", "status"),
    _spec("bundles", "ix_bundles_is_active", "is_active"),
    _spec("bundles", "ix_bundles_created_at", "created_at"),
    _spec("bundles", "ix_bundles_expiry_date", "expiry_date"),
    _spec("bundles", "ix_bundles_seeker_id_is_active", "seeker", "is_active"),
    _spec("kyc_documents", "ix_kyc_documents_status", "status"),
    _spec("kyc_documents", "ix_kyc_documents_document_type", "document_type"),
    _spec("kyc_documents", "ix_kyc_documents_user_id_status", "user", "status"),
    _spec("ai_prompts", "ix_ai_prompts_is_active", "is_active"),
    _spec("ai_prompts", "ix_ai_prompts_model_preference", "model_preference"),
    _spec("ai_prompts", "ix_ai_prompts_is_active_model_preference", "is_active", "model_preference"),
    _spec("ai_sessions", "ix_ai_sessions_session_type", "session_type"),
    _spec("ai_sessions", "ix_ai_sessions_started_at", "started_at"),
    _spec("ai_sessions", "ix_ai_sessions_ended_at", "ended_at"),
    _spec("ai_sessions", "ix_ai_sessions_user_id_session_type", "user", "session_type"),
    _spec("ai_sessions", "ix_ai_sessions_user_id_started_at_open", "user", "started_at",
          where='"ended_at" IS NULL'),
    _spec("ai_interactions", "ix_ai_interactions_created_at", "created_at"),
    _spec("ai_interactions", "ix_ai_interactions_success", "success"),
    _spec("ai_interactions", "ix_ai_interactions_model_used", "model_used"),
    _spec("ai_interactions", "ix_ai_interactions_session_id_created_at", "session", "created_at"),
    _spec("ai_interactions", "ix_ai_interactions_prompt_id_created_at", "prompt", "created_at"),
    _spec("ai_finetune_datasets", "ix_ai_finetune_datasets_included_in_training",
          "included_in_training"),
    _spec("ai_finetune_datasets", "ix_ai_finetune_datasets_quality_score", "quality_score"),
    _spec("ai_finetune_datasets", "ix_ai_finetune_datasets_quality_score_included_in_training",
          "quality_score", "included_in_training"),
]

# PostgreSQL-only (SQLite has no tsvector); the expressions search must use too.
FULL_TEXT_INDEXES = {
    "ix_references_fts": """"references" USING gin (to_tsvector('english',
        referrer_name || ' ' || company || ' ' || role))""",
    "ix_bundles_fts": """bundles USING gin (to_tsvector('english',
        title || ' ' || coalesce(description, '')))""",
}


def migrate(migrator, database, *, fake=False):
    create_indexes(migrator, database, INDEXES, concurrently=True)
    if database.is_postgres:
        for name, target in FULL_TEXT_INDEXES.items():
            create_index_sql(migrator, name, target, concurrently=True)


def rollback(migrator, database, *, fake=False):
    if database.is_postgres:
        for name in reversed(list(FULL_TEXT_INDEXES)):
            drop_index_sql(migrator, name, concurrently=True)
    drop_indexes(migrator, INDEXES, concurrently=True)
