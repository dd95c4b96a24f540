"""index: one new index on "references" (company, created_at), written as today.

`deepref.migrate.ops.create_indexes` (without concurrently=True) emits a plain CREATE INDEX inside the revision's
transaction. That holds a SHARE lock on "references" for the whole build: reads go on,
every INSERT, UPDATE and DELETE waits until the revision commits.
Rollback drops the index.
"""

from deepref.migrate.ops import create_indexes, drop_indexes

INDEXES = [
    ("references", "ix_references_company_created_at", ("company", "created_at"), False, None),
]


def migrate(migrator, database, *, fake=False):
    create_indexes(migrator, database, INDEXES)


def rollback(migrator, database, *, fake=False):
    drop_indexes(migrator, INDEXES)
