"""Migrations: the runner around peewee-migrate and what it knows about the schema.

- runner.py: apply, roll back, list and create revisions, under the migration lock.
- check.py: `flask db check`, the live database against the models.
- ops.py: helpers the revision files in migrations/ call (named indexes).
- lint.py: what a revision's SQL would do to a busy PostgreSQL table (pglast).
"""

from deepref.migrate.runner import (
    HISTORY_TABLE,
    MIGRATIONS_DIR,
    MigrationError,
    RevisionState,
    UnknownRevision,
    available,
    create,
    migrate,
    resolve,
    rollback,
    status,
)

__all__ = [
    "HISTORY_TABLE", "MIGRATIONS_DIR", "MigrationError", "RevisionState", "UnknownRevision",
    "available", "create", "migrate", "resolve", "rollback", "status",
]
