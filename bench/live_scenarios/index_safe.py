"""index_safe: the same index on "references" (company, created_at), built concurrently.

`create_indexes(..., concurrently=True)`, what `flask db create --auto` drafts for a new
index on an existing table: the runner sends CREATE INDEX CONCURRENTLY outside the
revision's transaction. It holds SHARE UPDATE EXCLUSIVE, which no INSERT, UPDATE, DELETE
or SELECT waits for. Rollback drops it concurrently.
"""

from deepref.migrate.ops import create_indexes, drop_indexes

INDEXES = [
    ("references", "ix_references_company_created_at", ("company", "created_at"), False, None),
]


def migrate(migrator, database, *, fake=False):
    create_indexes(migrator, database, INDEXES, concurrently=True)


def rollback(migrator, database, *, fake=False):
    drop_indexes(migrator, INDEXES, concurrently=True)
