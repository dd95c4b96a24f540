"""003_create_indexes: the 34 named performance indexes, plus two GIN full-text
indexes on PostgreSQL. Rollback drops exactly these.
"""

from deepref.models.fields import is_postgres

INDEXES = {
    "ix_users_role": "users (role)",
    "ix_users_kyc_status": "users (kyc_status)",
    "ix_users_email_verified": "users (email_verified)",
    "ix_users_created_at": "users (created_at)",
    "ix_references_status": '"references" (status)',
    "ix_references_format": '"references" (format)',
    "ix_references_created_at": '"references" (created_at)',
    "ix_references_expiry_date": '"references" (expiry_date)',
    "ix_references_rcs_score": '"references" (rcs_score)',
    "ix_references_seeker_id_status": '"references" (seeker_id, status)',
    "ix_references_referrer_id_status": '"references" (referrer_id, status)',
    "ix_bundles_is_active": "bundles (is_active)",
    "ix_bundles_created_at": "bundles (created_at)",
    "ix_bundles_expiry_date": "bundles (expiry_date)",
    "ix_bundles_seeker_id_is_active": "bundles (seeker_id, is_active)",
    "ix_kyc_documents_status": "kyc_documents (status)",
    "ix_kyc_documents_document_type": "kyc_documents (document_type)",
    "ix_kyc_documents_user_id_status": "kyc_documents (user_id, status)",
    "ix_ai_prompts_is_active": "ai_prompts (is_active)",
    "ix_ai_prompts_model_preference": "ai_prompts (model_preference)",
    "ix_ai_prompts_is_active_model_preference": "ai_prompts (is_active, model_preference)",
    "ix_ai_sessions_session_type": "ai_sessions (session_type)",
    "ix_ai_sessions_started_at": "ai_sessions (started_at)",
    "ix_ai_sessions_ended_at": "ai_sessions (ended_at)",
    "ix_ai_sessions_user_id_session_type": "ai_sessions (user_id, session_type)",
    "ix_ai_sessions_user_id_started_at_open":
        "ai_sessions (user_id, started_at) WHERE ended_at IS NULL",
    "ix_ai_interactions_created_at": "ai_interactions (created_at)",
    "ix_ai_interactions_success": "ai_interactions (success)",
    "ix_ai_interactions_model_used": "ai_interactions (model_used)",
    "ix_ai_interactions_session_id_created_at": "ai_interactions (session_id, created_at)",
    "ix_ai_interactions_prompt_id_created_at": "ai_interactions (prompt_id, created_at)",
    "ix_ai_finetune_datasets_included_in_training":
        "ai_finetune_datasets (included_in_training)",
    "ix_ai_finetune_datasets_quality_score": "ai_finetune_datasets (quality_score)",
    "ix_ai_finetune_datasets_quality_score_included_in_training":
        "ai_finetune_datasets (quality_score, included_in_training)",
}

FULL_TEXT_INDEXES = {
    "ix_references_fts": """"references" USING gin (to_tsvector('english',
        referrer_name || ' ' || company || ' ' || role))""",
    "ix_bundles_fts": """bundles USING gin (to_tsvector('english',
        title || ' ' || coalesce(description, '')))""",
}


def _indexes(database):
    if is_postgres(database):
        return {**INDEXES, **FULL_TEXT_INDEXES}
    return INDEXES


def migrate(migrator, database, *, fake=False):
    for name, target in _indexes(database).items():
        migrator.sql(f"CREATE INDEX {name} ON {target}")


def rollback(migrator, database, *, fake=False):
    for name in reversed(list(_indexes(database))):
        migrator.sql(f"DROP INDEX {name}")
