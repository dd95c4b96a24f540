"""backfill_safe: the same column filled for all 1M rows, by ops.backfill in batches.

ops.add_column adds the nullable column (a moment of ACCESS EXCLUSIVE, committed at
once); ops.backfill then updates 5,000 rows at a time by primary key, each batch its own
transaction: a row is locked for one batch, never for the whole fill, and a run stopped
part-way continues. Rollback drops the column.
"""

import peewee as pw

from deepref.migrate.ops import add_column, backfill


def migrate(migrator, database, *, fake=False):
    add_column(migrator, "references", "bench_score_band", pw.CharField(max_length=10, null=True))
    backfill(migrator, "references", {"bench_score_band": (
        "CASE WHEN rcs_score >= 80 THEN 'high' WHEN rcs_score >= 50 THEN 'mid' "
        "WHEN rcs_score IS NOT NULL THEN 'low' ELSE 'none' END")},
        where="bench_score_band IS NULL")


def rollback(migrator, database, *, fake=False):
    migrator.remove_fields("references", "bench_score_band")
