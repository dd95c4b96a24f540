"""not_null_default: a NOT NULL column with a constant default, through peewee-migrate.

`migrator.add_fields` (peewee-migrate 2.3's name for add_columns) with
`CharField(default=..., null=False)` runs three statements in the revision's transaction:
ADD COLUMN (nullable, no DEFAULT in the database), `UPDATE "references" SET col = 'public'`
on every row, then SET NOT NULL (a full scan). The ADD COLUMN takes ACCESS EXCLUSIVE and
keeps it until commit: every read and write of the table waits for the whole revision.
Rollback drops the column.
"""

import peewee as pw


def migrate(migrator, database, *, fake=False):
    migrator.add_fields(
        "references", bench_visibility=pw.CharField(max_length=20, default="public", null=False)
    )


def rollback(migrator, database, *, fake=False):
    migrator.remove_fields("references", "bench_visibility")
