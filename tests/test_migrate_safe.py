"""The safe forms of dangerous changes (deepref.migrate.ops), `--sql` that changes nothing,
`flask db lint` on revisions, and rollbacks that report large tables without counting
them; on SQLite and PostgreSQL."""

from __future__ import annotations


import peewee as pw
import pytest

from databases import app_env, database_of
from deepref import migrate as runner
from deepref.migrate import MigrationError

REVISIONS = runner.available()

SAFE_FORMS = '''
import peewee as pw

from deepref.migrate.ops import (
    add_check, add_column, add_foreign_key, add_unique, backfill, drop_check, drop_foreign_key,
    drop_indexes, set_not_null,
)
from deepref.models.fields import server_default


def migrate(migrator, database, *, fake=False):
    add_column(migrator, "references", "source",
               pw.CharField(max_length=20, default="web", constraints=server_default("'web'")))
    add_column(migrator, "references", "score_band", pw.IntegerField(null=True))
    add_column(migrator, "references", "bundle_id", pw.UUIDField(null=True))
    backfill(migrator, "references", {"score_band": "1 + (length(company) % 3)"},
             where="score_band IS NULL", batch_size=2, batch_seconds=None)
    set_not_null(migrator, "references", "score_band")
    add_check(migrator, "references", "ck_references_score_band", "score_band BETWEEN 1 AND 3")
    add_foreign_key(migrator, "references", "bundle_id", "bundles",
                    "fk_references_bundle_id", on_delete="SET NULL")
    add_unique(migrator, database, "references", "uq_references_company_role_source",
               ("company", "role", "source"))


def rollback(migrator, database, *, fake=False):
    drop_indexes(migrator, [("references", "uq_references_company_role_source",
                             ("company", "role", "source"), True, None)], concurrently=True)
    drop_foreign_key(migrator, "references", "fk_references_bundle_id")
    drop_check(migrator, "references", "ck_references_score_band")
    migrator.remove_fields("references", "source", "score_band", "bundle_id")
'''


def seed(db) -> None:
    db.execute_sql("INSERT INTO users (id, email) VALUES "
                   "('00000000-0000-4000-8000-000000000001', 'a@example.com')")
    for n, company in enumerate(["Acme", "Globex", "Initech", "Hooli", "Contoso"]):
        db.execute_sql(
            'INSERT INTO "references" (id, seeker_id, referrer_name, referrer_email, company, '
            "role) VALUES (%s, '00000000-0000-4000-8000-000000000001', 'R', 'r@example.com', "
            "%s, 'CTO')".replace("%s", db.param), (f"00000000-0000-4000-8000-00000000010{n}", company))


def test_the_safe_forms_keep_data_and_enforce_afterwards(make_app, env, folder, backend):
    app = make_app(env, MIGRATIONS_DIR=str(folder))
    db = database_of(app)
    runner.migrate(db, folder, echo=lambda line: None)
    seed(db)
    (folder / "900_safe_forms.py").write_text(SAFE_FORMS)
    lines = []
    assert runner.migrate(db, folder, echo=lines.append) == ["900_safe_forms"]
    rows = db.execute_sql('SELECT company, source, score_band FROM "references" ORDER BY company')
    assert [(c, s, b) for c, s, b in rows.fetchall()] == [
        (c, "web", 1 + len(c) % 3) for c in sorted(["Acme", "Globex", "Initech", "Hooli", "Contoso"])]
    if backend == "postgres":
        assert "  backfill of \"references\" (score_band): 5 row(s) updated" in lines
    for bad in ("score_band = 4", "score_band = NULL",
                "bundle_id = '00000000-0000-4000-8000-00000000ffff'"):
        with pytest.raises(pw.IntegrityError):
            with db.atomic():
                db.execute_sql(f'UPDATE "references" SET {bad}')
    with pytest.raises(pw.IntegrityError):
        with db.atomic():
            db.execute_sql('UPDATE "references" SET company = \'Acme\'')
    # The server default stays: plain SQL inserts get it.
    db.execute_sql(
        'INSERT INTO "references" (id, seeker_id, referrer_name, referrer_email, company, role, '
        "score_band) VALUES ('00000000-0000-4000-8000-000000000200', "
        "'00000000-0000-4000-8000-000000000001', 'R', 'r@example.com', 'New', 'CTO', 2)")
    assert db.execute_sql('SELECT source FROM "references" WHERE company = \'New\'').fetchone() == ("web",)

    assert runner.rollback(db, folder, echo=lambda line: None) == ["900_safe_forms"]
    assert not {"source", "score_band", "bundle_id"} & {c.name for c in db.get_columns("references")}
    assert db.execute_sql('SELECT count(*) FROM "references"').fetchone()[0] == 6
    assert runner.migrate(db, folder, echo=lambda line: None) == ["900_safe_forms"]


ALTERED = '''
import peewee as pw

from deepref.migrate.ops import add_column, alter_column, backfill
from deepref.models.fields import CreatedAtField, server_default


def migrate(migrator, database, *, fake=False):
    alter_column(migrator, "references", "company", pw.CharField(max_length=300))
    backfill(migrator, "references", {"relationship": "'peer'"}, where="relationship IS NULL")
    alter_column(migrator, "references", "relationship", pw.CharField(
        max_length=100, default="peer", constraints=server_default("'peer'")))
    add_column(migrator, "references", "seen_at", CreatedAtField())


def rollback(migrator, database, *, fake=False):
    migrator.remove_fields("references", "seen_at")
    alter_column(migrator, "references", "relationship", pw.CharField(max_length=100, null=True))
    alter_column(migrator, "references", "company", pw.CharField(max_length=200))
'''


def test_alter_column_widens_sets_defaults_and_not_null_keeping_rows(make_app, env, folder,
                                                                     backend):
    app = make_app(env, MIGRATIONS_DIR=str(folder))
    db = database_of(app)
    runner.migrate(db, folder, echo=lambda line: None)
    seed(db)
    (folder / "900_altered.py").write_text(ALTERED)
    # Widening is judged from the types the revisions declare, even with no PostgreSQL.
    lint = app.test_cli_runner().invoke(args=["db", "lint"])
    assert lint.output == "900_altered: clean\n", lint.output
    assert runner.migrate(db, folder, echo=lambda line: None) == ["900_altered"]
    assert db.execute_sql('SELECT DISTINCT relationship FROM "references"').fetchall() == [("peer",)]
    assert db.execute_sql('SELECT count(*) FROM "references" WHERE seen_at IS NULL').fetchone() == (0,)
    with pytest.raises(pw.IntegrityError):
        with db.atomic():
            db.execute_sql('UPDATE "references" SET relationship = NULL')
    db.execute_sql(  # the new server default, a company longer than 200
        'INSERT INTO "references" (id, seeker_id, referrer_name, referrer_email, company, role) '
        "VALUES ('00000000-0000-4000-8000-000000000200', '00000000-0000-4000-8000-000000000001', "
        f"'R', 'r@example.com', '{'x' * 250}', 'CTO')")
    assert db.execute_sql('SELECT relationship, seen_at IS NOT NULL FROM "references" WHERE '
                          "length(company) = 250").fetchone() == ("peer", True)
    if backend == "postgres":
        assert db.execute_sql("SELECT character_maximum_length FROM information_schema.columns "
                              "WHERE table_name = 'references' AND column_name = 'company'"
                              ).fetchone() == (300,)
    else:
        assert {c.name: c.data_type for c in db.get_columns("references")}["company"] == \
            "VARCHAR(300)"
    db.execute_sql('DELETE FROM "references" WHERE length(company) = 250')

    assert runner.rollback(db, folder, echo=lambda line: None) == ["900_altered"]
    assert "seen_at" not in {c.name for c in db.get_columns("references")}
    db.execute_sql('UPDATE "references" SET relationship = NULL')  # NULL-able again
    assert db.execute_sql('SELECT count(*) FROM "references"').fetchone() == (5,)
    assert runner.migrate(db, folder, echo=lambda line: None) == ["900_altered"]


def test_on_postgresql_constraints_are_added_not_valid_then_validated_apart(make_app, pg_database,
                                                                            folder):
    app = make_app(app_env(pg_database), MIGRATIONS_DIR=str(folder))
    db = database_of(app)
    runner.migrate(db, folder, echo=lambda line: None)
    (folder / "900_safe_forms.py").write_text(SAFE_FORMS)
    result = app.test_cli_runner().invoke(args=["db", "migrate", "--sql"])
    assert result.exit_code == 0, result.output
    sql = result.output
    assert ('ALTER TABLE "references" ADD COLUMN "source" VARCHAR(20) NOT NULL DEFAULT \'web\';'
            in sql)
    assert ('ADD CONSTRAINT "fk_references_bundle_id" FOREIGN KEY ("bundle_id") REFERENCES '
            '"bundles" ("id") ON DELETE SET NULL NOT VALID;') in sql
    validate = sql.index('ALTER TABLE "references" VALIDATE CONSTRAINT "fk_references_bundle_id";')
    assert sql.rfind("BEGIN;", 0, validate) > sql.rfind('NOT VALID;', 0, validate)
    assert "SET LOCAL statement_timeout = '0ms';" in sql[sql.rfind("BEGIN;", 0, validate):validate]
    assert 'CREATE UNIQUE INDEX CONCURRENTLY "uq_references_company_role_source"' in sql
    assert 'WHERE "id" > $1 AND "id" <= $2 AND (score_band IS NULL);' in sql
    lint = app.test_cli_runner().invoke(args=["db", "lint", "900_safe_forms"])
    assert lint.exit_code == 0, lint.output
    assert lint.output == "900_safe_forms: clean\n"


def test_sql_shows_every_revision_and_changes_nothing(make_app, env, tmp_path, backend):
    app = make_app(env)
    result = app.test_cli_runner().invoke(args=["db", "migrate", "--sql"])
    assert result.exit_code == 0, result.output
    for name in REVISIONS:
        assert f"-- {name}: apply\n" in result.output
    assert result.output.count("BEGIN;") >= len(REVISIONS)
    assert "INSERT INTO \"migratehistory\"" in result.output
    if backend == "postgres":
        assert "SET LOCAL lock_timeout = '2000ms';" in result.output
        build = result.output.index('CREATE INDEX CONCURRENTLY "ix_users_role"')
        assert result.output.rfind("-- outside a transaction:", 0, build) > \
            result.output.rfind("COMMIT;", 0, build)
        assert database_of(app).get_tables() == []
    else:
        assert not (tmp_path / "deepref.sqlite3").exists()

    runner.migrate(database_of(app), echo=lambda line: None)
    before = [s.applied_at for s in runner.status(database_of(app))]
    steps = len(REVISIONS) - REVISIONS.index("006_admin_sessions")  # down through 006
    back = app.test_cli_runner().invoke(args=["db", "rollback", "--sql", "--steps", str(steps)])
    assert back.exit_code == 0, back.output
    assert back.output.index(f"-- {REVISIONS[-1]}: roll back") < \
        back.output.index(f"-- {REVISIONS[-2]}: roll back")
    assert 'DROP TABLE "admin_sessions"' in back.output
    assert [s.applied_at for s in runner.status(database_of(app))] == before
    assert "admin_sessions" in database_of(app).get_tables()


DANGEROUS = '''
LINT_ACCEPT = {"drop-column": "nothing reads last_name since release 41"}


def migrate(migrator, database, *, fake=False):
    migrator.sql('CREATE INDEX ix_references_company ON "references" (company)')
    migrator.sql('UPDATE "references" SET relationship = \\'peer\\'')
    migrator.sql('ALTER TABLE users DROP COLUMN last_name')


def rollback(migrator, database, *, fake=False):
    pass
'''


def test_lint_names_each_dangerous_statement_and_honours_accepted_ones(make_app, env, folder):
    app = make_app(env, MIGRATIONS_DIR=str(folder))
    runner.migrate(database_of(app), folder, echo=lambda line: None)
    (folder / "900_dangerous.py").write_text(DANGEROUS)
    result = app.test_cli_runner().invoke(args=["db", "lint"])
    assert result.exit_code == 1
    out = result.output
    assert '900_dangerous: index-not-concurrent: CREATE INDEX ix_references_company ON "references"' in out
    assert "SHARE lock on \"references\"" in out and "concurrently=True" in out
    assert "900_dangerous: whole-table-write: UPDATE \"references\"" in out and "backfill(" in out
    assert "900_dangerous: accepted (nothing reads last_name since release 41): ALTER TABLE users" in out
    assert out.endswith("2 finding(s) to fix or accept.\n")


def test_a_backfill_stopped_part_way_continues_where_it_stopped(make_app, pg_database, folder):
    app = make_app(app_env(pg_database), MIGRATIONS_DIR=str(folder))
    db = database_of(app)
    runner.migrate(db, folder, echo=lambda line: None)
    seed(db)
    revision = '''
import peewee as pw
from deepref.migrate.ops import add_column, backfill


def migrate(migrator, database, *, fake=False):
    add_column(migrator, "references", "band", pw.IntegerField(null=True))
    backfill(migrator, "references", {"band": "EXPRESSION"}, where="band IS NULL", batch_size=2,
             batch_seconds=None)


def rollback(migrator, database, *, fake=False):
    migrator.remove_fields("references", "band")
'''
    # The third row (in key order) makes the expression fail: two batches of two go first.
    failing = "10 / (CASE WHEN id = '00000000-0000-4000-8000-000000000104' THEN 0 ELSE 1 END)"
    (folder / "900_band.py").write_text(revision.replace("EXPRESSION", failing))
    with pytest.raises(MigrationError) as failure:
        runner.migrate(db, folder, echo=lambda line: None)
    assert "failed in step 2 of 2; its steps 1-1 stay done and the next run continues from " \
           "step 2" in failure.value.message
    assert "division by zero" in failure.value.message
    assert db.execute_sql('SELECT count(*) FROM "references" WHERE band IS NOT NULL').fetchone() == (4,)

    (folder / "900_band.py").write_text(revision.replace("EXPRESSION", "7"))
    lines = []
    assert runner.migrate(db, folder, echo=lines.append) == ["900_band"]
    assert "  step 1 of 2 (statements in one transaction) was done by an earlier run" in lines
    assert '  backfill of "references" (band): 1 row(s) to update' in lines
    assert db.execute_sql('SELECT count(*) FROM "references" WHERE band IS NULL').fetchone() == (0,)


def test_rollback_reports_large_tables_from_estimates(make_app, pg_database, folder):
    app = make_app(app_env(pg_database), MIGRATIONS_DIR=str(folder))
    db = database_of(app)
    runner.migrate(db, folder, echo=lambda line: None)
    (folder / "900_big.py").write_text('''
def migrate(migrator, database, *, fake=False):
    migrator.sql("CREATE TABLE live_big (n integer)")


def rollback(migrator, database, *, fake=False):
    migrator.sql("DROP TABLE live_big")
''')
    runner.migrate(db, folder, echo=lambda line: None)
    db.execute_sql("INSERT INTO live_big SELECT generate_series(1, 20000)")
    db.execute_sql("ANALYZE live_big")
    statements = []
    original = db.execute_sql

    def counting(sql, params=None, *args, **kwargs):
        statements.append(sql)
        return original(sql, params, *args, **kwargs)

    db.execute_sql = counting
    lines = []
    try:
        runner.rollback(db, folder, echo=lines.append)
    finally:
        del db.execute_sql
    assert "  dropped table live_big (≈20,000 rows, estimated)" in lines
    assert not [s for s in statements if "count(*)" in s and "live_big" in s]


def test_sql_of_a_table_rebuild_on_a_new_sqlite_file_changes_nothing(make_app, sqlite_database,
                                                                      folder, tmp_path):
    """SQLite adds a CHECK by rebuilding the table, which reads the table: `--sql` renders
    on an in-memory copy, so it works before the file exists, and makes none."""
    app = make_app(app_env(sqlite_database), MIGRATIONS_DIR=str(folder))
    (folder / "900_check.py").write_text('''
from deepref.migrate.ops import add_check, drop_check


def migrate(migrator, database, *, fake=False):
    add_check(migrator, "bundles", "ck_bundles_title_length", "length(title) >= 1")


def rollback(migrator, database, *, fake=False):
    drop_check(migrator, "bundles", "ck_bundles_title_length")
''')
    result = app.test_cli_runner().invoke(args=["db", "migrate", "--sql"])
    assert result.exit_code == 0, result.output
    rebuild = result.output[result.output.index("-- 900_check: apply"):]
    assert 'CREATE TABLE "bundles__rebuild"' in rebuild and "ck_bundles_title_length" in rebuild
    assert 'INSERT INTO "bundles__rebuild"' in rebuild
    assert 'ALTER TABLE "bundles__rebuild" RENAME TO "bundles"' in rebuild
    assert not (tmp_path / "deepref.sqlite3").exists()
