"""blocked_alter: an instant ADD COLUMN queued behind one open read transaction.

`ALTER TABLE "references" ADD COLUMN bench_note text` needs ACCESS EXCLUSIVE only for a
moment, but a third connection (bench-holder) has read "references" in a transaction it
keeps open for HOLD_READ_SECONDS, started just before the migration. The ALTER waits
for it, and every later read and write of the table queues behind the waiting ALTER
(no lock_timeout today). Rollback drops the column.
"""

HOLD_READ_SECONDS = 10


def migrate(migrator, database, *, fake=False):
    migrator.sql('ALTER TABLE "references" ADD COLUMN bench_note text')


def rollback(migrator, database, *, fake=False):
    migrator.sql('ALTER TABLE "references" DROP COLUMN bench_note')
