"""backfill: a new nullable column, filled for every row by one UPDATE in the revision.

`migrator.add_fields` adds the column (ADD COLUMN: ACCESS EXCLUSIVE, kept until commit),
then `migrator.sql('UPDATE "references" SET ...')` rewrites all 1M rows in the same
transaction: every read and write of the table waits for the whole revision.
Rollback drops the column.
"""

import peewee as pw


def migrate(migrator, database, *, fake=False):
    migrator.add_fields("references", bench_score_band=pw.CharField(max_length=10, null=True))
    migrator.sql(
        'UPDATE "references" SET bench_score_band = CASE '
        "WHEN rcs_score >= 80 THEN 'high' WHEN rcs_score >= 50 THEN 'mid' "
        "WHEN rcs_score IS NOT NULL THEN 'low' END"
    )


def rollback(migrator, database, *, fake=False):
    migrator.remove_fields("references", "bench_score_band")
