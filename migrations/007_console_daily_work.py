"""007_console_daily_work: what a day's work in the console needs (issue 12).

- Indexes, built concurrently (writes go on during the build): the review queue's
  order, kyc_documents (status, created_at); the sort orders the lists offer,
  references referrer_name and company, bundles title and aggregated_rcs,
  kyc_documents created_at and verified_at; the dashboard's 30 days of AI
  interactions read from an index alone, ai_interactions (created_at, success,
  tokens_used).
- ai_sessions.updated_at: the version the stale-edit check compares (NULL for a session
  never edited through deepref), as every other editable table has.

Rollback undoes both.
"""

from deepref.migrate.ops import add_column, create_indexes, drop_indexes
from deepref.models.fields import TimestampField

INDEXES = [
    ("kyc_documents", "ix_kyc_documents_status_created_at", ("status", "created_at"), False, None),
    ("kyc_documents", "ix_kyc_documents_created_at", ("created_at",), False, None),
    ("kyc_documents", "ix_kyc_documents_verified_at", ("verified_at",), False, None),
    ("references", "ix_references_referrer_name", ("referrer_name",), False, None),
    ("references", "ix_references_company", ("company",), False, None),
    ("bundles", "ix_bundles_title", ("title",), False, None),
    ("bundles", "ix_bundles_aggregated_rcs", ("aggregated_rcs",), False, None),
    ("ai_interactions", "ix_ai_interactions_created_at_success_tokens_used",
     ("created_at", "success", "tokens_used"), False, None),
]


def migrate(migrator, database, *, fake=False):
    add_column(migrator, "ai_sessions", "updated_at", TimestampField(null=True))
    create_indexes(migrator, database, INDEXES, concurrently=True)


def rollback(migrator, database, *, fake=False):
    drop_indexes(migrator, INDEXES, concurrently=True)
    migrator.remove_fields("ai_sessions", "updated_at")
