"""foreign_key: a foreign key from "references" to bundles(id), added and validated at once.

The column `bench_bundle_id uuid` (nullable) already exists and holds a bundle id for
every reference that is in a bundle (54% of rows at full scale), as after an earlier
deploy that added the column and an application that filled it: the benchmark makes it
with SETUP before traffic starts, untimed, and drops it with TEARDOWN after the last run.
(Adding and filling the column in this revision would measure a backfill: see backfill.)

The revision is what an author writes today: a plain ADD CONSTRAINT ... FOREIGN KEY,
validated at once. The validation scans all of "references" and probes bundles'
primary key while holding SHARE ROW EXCLUSIVE on both tables: reads go on, every write
to "references" (and to bundles) waits. Rollback drops the constraint.
"""

import peewee as pw

SETUP = [
    'ALTER TABLE "references" ADD COLUMN IF NOT EXISTS bench_bundle_id uuid',
    'UPDATE "references" r SET bench_bundle_id = b.bundle_id FROM ('
    "SELECT reference_id, min(bundle_id::text)::uuid AS bundle_id FROM bundle_references "
    "GROUP BY reference_id) b WHERE b.reference_id = r.id",
]
TEARDOWN = ['ALTER TABLE "references" DROP COLUMN IF EXISTS bench_bundle_id']


def migrate(migrator, database, *, fake=False):
    migrator.add_constraint(
        "references",
        "fk_references_bench_bundle_id",
        pw.SQL("FOREIGN KEY (bench_bundle_id) REFERENCES bundles (id)"),
    )


def rollback(migrator, database, *, fake=False):
    migrator.drop_constraints("references", "fk_references_bench_bundle_id")
