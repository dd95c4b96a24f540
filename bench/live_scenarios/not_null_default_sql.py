"""not_null_default_sql: the same NOT NULL column with a default, in one statement.

`ALTER TABLE ... ADD COLUMN ... NOT NULL DEFAULT 'public'` through `migrator.sql`: since
PostgreSQL 11 a constant default is stored in the catalogue, not written into each row,
so the ACCESS EXCLUSIVE lock is held only for a moment (when nothing else holds a lock
on the table: see blocked_alter). Rollback drops the column.
"""


def migrate(migrator, database, *, fake=False):
    migrator.sql(
        'ALTER TABLE "references" ADD COLUMN bench_visibility varchar(20) '
        "NOT NULL DEFAULT 'public'"
    )


def rollback(migrator, database, *, fake=False):
    migrator.sql('ALTER TABLE "references" DROP COLUMN bench_visibility')
