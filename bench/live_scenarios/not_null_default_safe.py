"""not_null_default_safe: the same NOT NULL column with a default, through ops.add_column.

One `ALTER TABLE ... ADD COLUMN bench_visibility varchar(20) NOT NULL DEFAULT 'public'`:
PostgreSQL 11+ stores the constant default in the catalogue and rewrites nothing, so
ACCESS EXCLUSIVE is held for a moment (and waited for at most MIGRATION_LOCK_TIMEOUT).
The server default is kept. Rollback drops the column.
"""

import peewee as pw

from deepref.migrate.ops import add_column
from deepref.models.fields import server_default


def migrate(migrator, database, *, fake=False):
    add_column(migrator, "references", "bench_visibility",
               pw.CharField(max_length=20, default="public",
                            constraints=server_default("'public'")))


def rollback(migrator, database, *, fake=False):
    migrator.remove_fields("references", "bench_visibility")
