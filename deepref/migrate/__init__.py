"""Migrations: the runner around peewee-migrate and what it knows about the schema.

- runner.py: apply, roll back, list and create revisions, under the migration lock,
  with timeouts and retries; steps.py cuts a revision into steps (online index builds,
  validations, batched backfills run outside its transaction); history.py is what the
  database records; watch.py names blockers and reports progress.
- preview.py, render.py: the SQL a revision would send, without sending it (`--sql`),
  and lint.py's judgement of it (`flask db lint`).
- check.py: `flask db check`, the live database against the models, definitions compared
  by meaning (meaning.py: PostgreSQL's own parser).
- ops.py: helpers the revision files in migrations/ call (named indexes, the safe forms);
  rebuild.py: SQLite's table rebuild behind some of them.
- draft.py: `flask db create --auto`, the models against the revisions replayed (shape.py
  compares, draft_table.py plans a table's changes, draft_code.py and draft_file.py
  write the revision).
- lint.py: what a revision's SQL would do to a busy PostgreSQL table (pglast).
- ledger.py: the revision files against the history (missing, changed checksums, out of
  order, shared numbers); history.py records checksums and accepted edits.
- baseline.py: `flask db baseline`, adopting a database whose schema was built elsewhere.
- doctor.py: `flask db doctor`, one report of all the above (also the console's page).
"""

from deepref.migrate.history import BOOKKEEPING
from deepref.migrate.runner import (
    HISTORY_TABLE,
    MIGRATIONS_DIR,
    Limits,
    MigrationError,
    RevisionState,
    UnknownRevision,
    accept,
    available,
    create,
    migrate,
    pending,
    require_files,
    resolve,
    rollback,
    states,
    status,
    to_undo,
)

__all__ = [
    "BOOKKEEPING", "HISTORY_TABLE", "MIGRATIONS_DIR", "Limits", "MigrationError", "RevisionState",
    "UnknownRevision", "accept", "available", "create", "migrate", "pending", "require_files",
    "resolve", "rollback", "states", "status", "to_undo",
]
