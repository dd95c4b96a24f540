"""foreign_key_safe: the same foreign key, added NOT VALID and validated in a step of its own.

`ops.add_foreign_key`: ADD CONSTRAINT ... NOT VALID (a moment of SHARE ROW EXCLUSIVE, no
scan), then, in its own transaction, VALIDATE CONSTRAINT, which scans under SHARE UPDATE
EXCLUSIVE: reads and writes go on. The column exists and is filled as in foreign_key
(SETUP, untimed). Rollback drops the constraint.
"""

from deepref.migrate.ops import add_foreign_key, drop_foreign_key

SETUP = [
    'ALTER TABLE "references" ADD COLUMN IF NOT EXISTS bench_bundle_id uuid',
    'UPDATE "references" r SET bench_bundle_id = b.bundle_id FROM ('
    "SELECT reference_id, min(bundle_id::text)::uuid AS bundle_id FROM bundle_references "
    "GROUP BY reference_id) b WHERE b.reference_id = r.id",
]
TEARDOWN = ['ALTER TABLE "references" DROP COLUMN IF EXISTS bench_bundle_id']


def migrate(migrator, database, *, fake=False):
    add_foreign_key(migrator, "references", "bench_bundle_id", "bundles",
                    "fk_references_bench_bundle_id")


def rollback(migrator, database, *, fake=False):
    drop_foreign_key(migrator, "references", "fk_references_bench_bundle_id")
