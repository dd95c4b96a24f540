"""One name per column, used everywhere the console names it: list headers, form labels,
filters, details pages, CSV headers and the audit history.

Columns not listed here are named from their column name ("expiry_date" -> "Expiry
date"); foreign keys drop the "_id".
"""

from __future__ import annotations

LABELS: dict[str, dict[str, str]] = {
    "users": {"email": "Email", "first_name": "First name", "last_name": "Last name",
              "kyc_status": "KYC status", "is_active": "Active", "email_verified": "Email verified",
              "last_login_at": "Last sign-in", "created_at": "Joined", "password_hash": "Password"},
    "references": {"referrer_name": "Referrer", "referrer_email": "Referrer email",
                   "referrer": "Referrer account", "seeker": "Seeker", "rcs_score": "RCS",
                   "role": "Referrer's role", "expiry_date": "Expires", "submitted_at": "Submitted",
                   "media_url": "Media URL", "created_at": "Created"},
    "bundles": {"seeker": "Seeker", "aggregated_rcs": "Aggregated RCS", "view_count": "Views",
                "is_active": "Active", "expiry_date": "Expires", "share_token": "Share link",
                "created_at": "Created"},
    "bundle_references": {"reference": "Reference", "bundle": "Bundle", "added_at": "Added"},
    "kyc_documents": {"user": "User", "document_type": "Document type", "file_path": "File",
                      "reviewed_by": "Reviewed by", "verified_at": "Reviewed",
                      "rejection_reason": "Rejection reason", "created_at": "Uploaded"},
    "ai_prompts": {"prompt_id": "Prompt ID", "is_active": "Active", "model_preference": "Model",
                   "system_prompt": "System prompt", "user_prompt_template": "User prompt template"},
    "ai_sessions": {"user": "User", "session_type": "Type", "agent_id": "Agent ID",
                    "started_at": "Started", "ended_at": "Ended"},
    "ai_interactions": {"created_at": "When", "session": "Session", "prompt": "Prompt",
                        "model_used": "Model", "tokens_used": "Tokens", "success": "Success",
                        "response_time_ms": "Time (ms)"},
    "ai_finetune_datasets": {"interaction": "Interaction", "quality_score": "Quality score",
                             "included_in_training": "In training",
                             "human_feedback": "Human feedback"},
    "user_roles": {"user": "User", "role": "Console role", "granted_by": "Granted by",
                   "granted_at": "Granted"},
    "audit_log": {"created_at": "When", "actor_email": "Who", "table_name": "Table",
                  "row_id": "Record", "changes": "Changes"},
}
COMMON = {"created_at": "Created", "updated_at": "Updated", "metadata": "Metadata", "id": "ID"}


def label(table: str, column: str) -> str:
    """The console's name for `column` of `table`."""
    found = LABELS.get(table, {}).get(column) or COMMON.get(column)
    if found:
        return found
    words = column[:-3] if column.endswith("_id") else column
    return words.replace("_", " ").capitalize()


def of_column(field) -> str:
    """The console's name for a peewee field."""
    return label(field.model._meta.table_name, field.name)


def for_table(table: str, columns) -> dict[str, str]:
    """{column: label} for `columns` of `table` (a view's column_labels)."""
    return {column: label(table, column) for column in columns}
