"""Every named index and unique constraint, attached to the models in one place.

Each table lists its indexes as (name, field, ...) entries; the revisions create them
and `flask db check` compares them with the live database.
"""

from __future__ import annotations

import peewee as pw

from deepref.models.ai import AIFinetuneDataset, AIInteraction, AIPrompt, AISession
from deepref.models.audit import AuditLog
from deepref.models.auth import AdminSession, LoginAttempt, RecoveryCode, SecondFactor
from deepref.models.core import Bundle, BundleReference, KYCDocument, Reference, User

# Full-text documents: search must use exactly these, so PostgreSQL uses the GIN indexes.
REFERENCE_FTS_DOCUMENT = (
    "to_tsvector('english'::regconfig, "
    "(referrer_name::text || ' '::text || company::text || ' '::text || role::text))"
)
BUNDLE_FTS_DOCUMENT = (
    "to_tsvector('english'::regconfig, "
    "(title::text || ' '::text || COALESCE(description, ''::text)))"
)

UNIQUE = {
    User: [("uq_users_email", "email")],
    AdminSession: [("uq_admin_sessions_token_hash", "token_hash")],
    SecondFactor: [("uq_second_factors_user_id", "user")],
    Bundle: [("uq_bundles_share_token", "share_token")],
    AIPrompt: [("uq_ai_prompts_prompt_id", "prompt_id")],
    AISession: [("uq_ai_sessions_agent_id", "agent_id")],
    AIFinetuneDataset: [("uq_ai_finetune_datasets_interaction_id", "interaction")],
}

# Every foreign-key column leads some index (revisions 001 and 002).
FOREIGN_KEY = {
    Reference: [("ix_references_seeker_id", "seeker"), ("ix_references_referrer_id", "referrer")],
    Bundle: [("ix_bundles_seeker_id", "seeker")],
    BundleReference: [("ix_bundle_references_reference_id", "reference")],
    KYCDocument: [
        ("ix_kyc_documents_user_id", "user"),
        ("ix_kyc_documents_reviewed_by_id", "reviewed_by"),
    ],
    AISession: [("ix_ai_sessions_user_id", "user")],
    AIInteraction: [
        ("ix_ai_interactions_session_id", "session"),
        ("ix_ai_interactions_prompt_id", "prompt"),
    ],
    AuditLog: [("ix_audit_log_user_id", "user")],
    AdminSession: [("ix_admin_sessions_user_id", "user")],
    RecoveryCode: [("ix_recovery_codes_user_id", "user")],
}

# The console's tables (revisions 004-006).
CONSOLE = {
    AuditLog: [
        ("ix_audit_log_created_at", "created_at"),
        ("ix_audit_log_table_name_row_id", "table_name", "row_id"),
    ],
    LoginAttempt: [
        ("ix_login_attempts_email_attempted_at", "email", "attempted_at"),
        ("ix_login_attempts_ip_attempted_at", "ip", "attempted_at"),
        ("ix_login_attempts_attempted_at", "attempted_at"),
    ],
    AdminSession: [("ix_admin_sessions_last_seen_at", "last_seen_at")],
}

# Revision 007_console_daily_work: the review queue, the lists' sort orders, the dashboard.
DAILY_WORK = {
    KYCDocument: [
        ("ix_kyc_documents_status_created_at", "status", "created_at"),
        ("ix_kyc_documents_created_at", "created_at"),
        ("ix_kyc_documents_verified_at", "verified_at"),
    ],
    Reference: [
        ("ix_references_referrer_name", "referrer_name"),
        ("ix_references_company", "company"),
    ],
    Bundle: [
        ("ix_bundles_title", "title"),
        ("ix_bundles_aggregated_rcs", "aggregated_rcs"),
    ],
    AIInteraction: [
        ("ix_ai_interactions_created_at_success_tokens_used", "created_at", "success", "tokens_used"),
    ],
}

# Revision 003_create_indexes.
PERFORMANCE = {
    User: [
        ("ix_users_role", "role"),
        ("ix_users_kyc_status", "kyc_status"),
        ("ix_users_email_verified", "email_verified"),
        ("ix_users_created_at", "created_at"),
    ],
    Reference: [
        ("ix_references_status", "status"),
        ("ix_references_format", "format"),
        ("ix_references_created_at", "created_at"),
        ("ix_references_expiry_date", "expiry_date"),
        ("ix_references_rcs_score", "rcs_score"),
        ("ix_references_seeker_id_status", "seeker", "status"),
        ("ix_references_referrer_id_status", "referrer", "status"),
    ],
    Bundle: [
        ("ix_bundles_is_active", "is_active"),
        ("ix_bundles_created_at", "created_at"),
        ("ix_bundles_expiry_date", "expiry_date"),
        ("ix_bundles_seeker_id_is_active", "seeker", "is_active"),
    ],
    KYCDocument: [
        ("ix_kyc_documents_status", "status"),
        ("ix_kyc_documents_document_type", "document_type"),
        ("ix_kyc_documents_user_id_status", "user", "status"),
    ],
    AIPrompt: [
        ("ix_ai_prompts_is_active", "is_active"),
        ("ix_ai_prompts_model_preference", "model_preference"),
        ("ix_ai_prompts_is_active_model_preference", "is_active", "model_preference"),
    ],
    AISession: [
        ("ix_ai_sessions_session_type", "session_type"),
        ("ix_ai_sessions_started_at", "started_at"),
        ("ix_ai_sessions_ended_at", "ended_at"),
        ("ix_ai_sessions_user_id_session_type", "user", "session_type"),
    ],
    AIInteraction: [
        ("ix_ai_interactions_created_at", "created_at"),
        ("ix_ai_interactions_success", "success"),
        ("ix_ai_interactions_model_used", "model_used"),
        ("ix_ai_interactions_session_id_created_at", "session", "created_at"),
        ("ix_ai_interactions_prompt_id_created_at", "prompt", "created_at"),
    ],
    AIFinetuneDataset: [
        ("ix_ai_finetune_datasets_included_in_training", "included_in_training"),
        ("ix_ai_finetune_datasets_quality_score", "quality_score"),
        (
            "ix_ai_finetune_datasets_quality_score_included_in_training",
            "quality_score",
            "included_in_training",
        ),
    ],
}


# Partial indexes: the entry ends with the condition rows must meet.
PARTIAL = {
    AISession: [
        ("ix_ai_sessions_user_id_started_at_open", "user", "started_at",
         AISession.ended_at.is_null()),
    ],
}


def _attach(table: dict, unique: bool = False) -> None:
    for model, entries in table.items():
        for name, *fields in entries:
            where = fields.pop() if isinstance(fields[-1], pw.Node) else None
            columns = [model._meta.fields[f] for f in fields]
            model.add_index(pw.ModelIndex(model, columns, unique=unique, name=name, where=where))


for _table, _unique in ((UNIQUE, True), (FOREIGN_KEY, False), (PERFORMANCE, False),
                        (CONSOLE, False), (PARTIAL, False), (DAILY_WORK, False)):
    _attach(_table, _unique)

# PostgreSQL-only: GIN full-text indexes (SQLite has no tsvector).
POSTGRES_ONLY_INDEXES = {
    Reference: [
        f'CREATE INDEX ix_references_fts ON "references" USING gin ({REFERENCE_FTS_DOCUMENT})'
    ],
    Bundle: [f"CREATE INDEX ix_bundles_fts ON bundles USING gin ({BUNDLE_FTS_DOCUMENT})"],
}
