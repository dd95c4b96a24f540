"""`flask db create NAME --auto`: each ordinary model change drafted, then applied, checked,
rolled back and applied again with rows in the table, on SQLite and PostgreSQL.

The models given to the drafter are copies (the revisions replayed), changed by each
case; deepref.models is never edited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import peewee as pw
import pytest

from databases import database_of
from deepref import migrate as runner
from deepref.config import MIGRATIONS_DIR
from deepref.migrate import check as schema_check
from deepref.migrate import draft, preview
from deepref.models.base import check, foreign_key
from deepref.models.fields import CreatedAtField, UUIDKeyField, choice_field, server_default
from deepref.models.indexes import POSTGRES_ONLY_INDEXES

USER = "00000000-0000-4000-8000-000000000001"
REVIEWER = "00000000-0000-4000-8000-000000000002"
COMPANIES = ["Acme", "Globex", "Initech"]


@pytest.fixture
def db(make_app, env, folder):
    """A migrated database holding a few rows in the tables the cases change."""
    database = database_of(make_app(env, MIGRATIONS_DIR=str(folder)))
    runner.migrate(database, folder, echo=lambda line: None)
    p = database.param
    for user, email, name in ((USER, "a@example.com", "Ada"), (REVIEWER, "r@example.com", "Rex")):
        database.execute_sql(f"INSERT INTO users (id, email, first_name) VALUES ({p}, {p}, {p})",
                             (user, email, name))
    for n, company in enumerate(COMPANIES):
        database.execute_sql(
            f'INSERT INTO "references" (id, seeker_id, referrer_name, referrer_email, company, '
            f"role, relationship) VALUES ({p}, {p}, 'R', 'r@example.com', {p}, 'CTO', 'peer')",
            (f"00000000-0000-4000-8000-00000000010{n}", USER, company))
        database.execute_sql(
            f"INSERT INTO bundles (id, seeker_id, title, description, share_token) "
            f"VALUES ({p}, {p}, {p}, {p}, {p})",
            (f"00000000-0000-4000-8000-00000000020{n}", USER, f"{company} set",
             f"about {company}", f"token-{n}"))
    database.execute_sql(
        f"INSERT INTO kyc_documents (id, user_id, document_type, file_path, reviewed_by_id) "
        f"VALUES ('00000000-0000-4000-8000-000000000300', {p}, 'passport', 'k/1', {p})",
        (USER, REVIEWER))
    return database


def rows(db, sql: str) -> list[tuple]:
    return [tuple(row) for row in db.execute_sql(sql).fetchall()]


def fails(db, sql: str) -> bool:
    try:
        with db.atomic():
            db.execute_sql(sql)
    except pw.IntegrityError:
        return True
    return False


# The cases -----------------------------------------------------------------------------


@dataclass
class Case:
    change: Callable  # changes the models (by table) in place
    draws: list[str]  # what the draft must say
    applied: Callable  # (db) -> None: asserts on the data once applied
    undone: Callable  # (db) -> None: asserts on the data once rolled back
    renames: tuple = ()
    lint: set[str] = field(default_factory=set)  # lint rules left for the author to accept
    sql: Callable | None = None  # (models by table) -> indexes declared as SQL, by model


def titles(db):
    return rows(db, "SELECT title FROM bundles ORDER BY title")


def kept(db):
    assert titles(db) == [(f"{c} set",) for c in COMPANIES]
    assert rows(db, 'SELECT company FROM "references" ORDER BY company') == [(c,) for c in COMPANIES]


def add_nullable(m):
    m["bundles"]._meta.add_field("cover_url", pw.CharField(max_length=500, null=True))


def add_nullable_applied(db):
    kept(db)
    assert rows(db, "SELECT DISTINCT cover_url FROM bundles") == [(None,)]


def columns(db, table):
    return {c.name for c in db.get_columns(table)}


def add_required(m):
    m["bundles"]._meta.add_field("source", pw.CharField(
        max_length=20, default="web", constraints=server_default("'web'")))
    m["bundles"]._meta.add_field("published_at", CreatedAtField())


def add_required_applied(db):
    kept(db)
    assert rows(db, "SELECT DISTINCT source FROM bundles") == [("web",)]
    assert rows(db, "SELECT count(*) FROM bundles WHERE published_at IS NULL") == [(0,)]
    db.execute_sql(f"INSERT INTO bundles (id, seeker_id, title, share_token) VALUES "
                   f"('00000000-0000-4000-8000-000000000299', '{USER}', 'Zeta set', 'z')")
    assert rows(db, "SELECT source FROM bundles WHERE title = 'Zeta set'") == [("web",)]
    db.execute_sql("DELETE FROM bundles WHERE title = 'Zeta set'")


def rename(m):
    users = m["users"]
    users._meta.remove_field("first_name")
    users._meta.add_field("given_name", pw.CharField(max_length=100, null=True))


def rename_applied(db):
    kept(db)
    assert rows(db, "SELECT given_name FROM users ORDER BY email") == [("Ada",), ("Rex",)]


def rename_undone(db):
    kept(db)
    assert "given_name" not in columns(db, "users")
    assert rows(db, "SELECT first_name FROM users ORDER BY email") == [("Ada",), ("Rex",)]


def rename_checked(m):
    users = m["users"]
    users._meta.remove_field("kyc_status")
    users._meta.add_field("verification", choice_field(20, "pending"))
    users._meta.constraints = [
        *(c for c in users._meta.constraints if "kyc_status" not in c.sql),
        check("ck_users_verification",
              "verification IN ('pending', 'submitted', 'verified', 'rejected')")]
    users._meta.indexes = [i for i in users._meta.indexes if i._name != "ix_users_kyc_status"]
    users.add_index(pw.ModelIndex(users, (users.verification,), name="ix_users_kyc_status"))


def rename_checked_applied(db):
    kept(db)
    assert rows(db, "SELECT DISTINCT verification FROM users") == [("pending",)]
    assert fails(db, "UPDATE users SET verification = 'lost'")


def rename_checked_undone(db):
    kept(db)
    assert rows(db, "SELECT DISTINCT kyc_status FROM users") == [("pending",)]
    assert fails(db, "UPDATE users SET kyc_status = 'lost'")


def drop(m):
    m["references"]._meta.remove_field("relationship")


def drop_applied(db):
    kept(db)
    assert "relationship" not in columns(db, "references")


def drop_undone(db):
    kept(db)
    assert rows(db, 'SELECT DISTINCT relationship FROM "references"') == [(None,)]


def add_index(m):
    bundles = m["bundles"]
    bundles.add_index(pw.ModelIndex(bundles, (bundles.title, bundles.is_active),
                                    name="ix_bundles_title_is_active"))


def add_check(m):
    bundles = m["bundles"]
    bundles._meta.constraints = [*bundles._meta.constraints,
                                 check("ck_bundles_title_length", "length(title) > 2")]


def add_check_applied(db):
    kept(db)
    assert fails(db, "UPDATE bundles SET title = 'ab'")


def add_check_undone(db):
    kept(db)
    assert not fails(db, "UPDATE bundles SET title = 'ab' WHERE title = 'no such title'")


def drop_check(m):
    bundles = m["bundles"]
    bundles._meta.constraints = [c for c in bundles._meta.constraints
                                 if "ck_bundles_view_count" not in c.sql]


def drop_check_applied(db):
    kept(db)
    with db.atomic() as transaction:
        db.execute_sql("UPDATE bundles SET view_count = -1")
        transaction.rollback()


def drop_check_undone(db):
    kept(db)
    assert fails(db, "UPDATE bundles SET view_count = -1")


def widen(m):
    m["bundles"]._meta.fields["title"].max_length = 300


def widen_applied(db):
    kept(db)
    with db.atomic() as transaction:  # rolled back: a rollback could not narrow it again
        db.execute_sql(f"UPDATE bundles SET title = '{'x' * 250}' WHERE title = 'Acme set'")
        assert rows(db, "SELECT max(length(title)) FROM bundles") == [(250,)]
        transaction.rollback()


def new_table(m):
    users, bundles = m["users"], m["bundles"]

    class Invoice(pw.Model):
        id = UUIDKeyField()
        user = foreign_key(users, "fk_invoices_user_id", "CASCADE")
        bundle = foreign_key(bundles, "fk_invoices_bundle_id", "SET NULL", null=True)
        status = choice_field(20, "draft")
        amount = pw.DecimalField(max_digits=10, decimal_places=2, default=0,
                                 constraints=server_default("0"))
        created_at = CreatedAtField()

        class Meta:
            database = users._meta.database
            table_name = "invoices"
            constraints = [check("ck_invoices_status", "status IN ('draft', 'sent')")]

    Invoice.add_index(pw.ModelIndex(Invoice, (Invoice.user,), name="ix_invoices_user_id"))
    Invoice.add_index(pw.ModelIndex(Invoice, (Invoice.bundle,), name="ix_invoices_bundle_id"))
    m["invoices"] = Invoice


def new_table_sql(m):
    return {**gin_index(m), m["invoices"]: [
        "CREATE INDEX ix_invoices_status_words ON invoices USING gin "
        "(to_tsvector('simple'::regconfig, (status)::text))"]}


def new_table_applied(db):
    kept(db)
    bundle = "00000000-0000-4000-8000-000000000200"
    db.execute_sql(f"INSERT INTO invoices (id, user_id, bundle_id) VALUES "
                   f"('00000000-0000-4000-8000-000000000400', '{REVIEWER}', '{bundle}')")
    assert rows(db, "SELECT status, amount FROM invoices")[0][0] == "draft"
    assert float(rows(db, "SELECT amount FROM invoices")[0][0]) == 0
    assert fails(db, "UPDATE invoices SET status = 'paid'")
    db.execute_sql(f"DELETE FROM bundles WHERE id = '{bundle}'")  # SET NULL
    assert rows(db, "SELECT bundle_id FROM invoices") == [(None,)]
    db.execute_sql(f"DELETE FROM kyc_documents WHERE reviewed_by_id = '{REVIEWER}'")
    db.execute_sql(f"DELETE FROM users WHERE id = '{REVIEWER}'")  # CASCADE
    assert rows(db, "SELECT count(*) FROM invoices") == [(0,)]


def new_table_undone(db):
    assert "invoices" not in db.get_tables()
    assert rows(db, "SELECT count(*) FROM users") == [(1,)]  # the one the test deleted is gone


def on_delete(m):
    m["kyc_documents"]._meta.fields["reviewed_by"].on_delete = "SET NULL"


def on_delete_applied(db):
    kept(db)
    db.execute_sql(f"DELETE FROM users WHERE id = '{REVIEWER}'")
    assert rows(db, "SELECT reviewed_by_id FROM kyc_documents") == [(None,)]


def on_delete_undone(db):
    db.execute_sql(f"INSERT INTO users (id, email) VALUES ('{REVIEWER}', 'r@example.com')")
    db.execute_sql(f"UPDATE kyc_documents SET reviewed_by_id = '{REVIEWER}'")
    assert fails(db, f"DELETE FROM users WHERE id = '{REVIEWER}'")  # NO ACTION again


def unique(m):
    references = m["references"]
    references.add_index(pw.ModelIndex(references, (references.company, references.role),
                                       unique=True, name="uq_references_company_role"))


def unique_applied(db):
    kept(db)
    assert fails(db, "UPDATE \"references\" SET company = 'Acme'")


def unique_undone(db):
    kept(db)
    with db.atomic() as transaction:
        db.execute_sql("UPDATE \"references\" SET company = 'Acme'")
        transaction.rollback()


def add_key(m):
    references, bundles = m["references"], m["bundles"]
    references._meta.add_field("bundle", foreign_key(bundles, "fk_references_bundle_id",
                                                     "SET NULL", null=True))
    references.add_index(pw.ModelIndex(references, (references.bundle,),
                                       name="ix_references_bundle_id"))


def add_key_applied(db):
    kept(db)
    bundle = "00000000-0000-4000-8000-000000000201"
    db.execute_sql(f"UPDATE \"references\" SET bundle_id = '{bundle}'")
    assert fails(db, "UPDATE \"references\" SET bundle_id = '00000000-0000-4000-8000-0000000009ff'")
    db.execute_sql(f"DELETE FROM bundles WHERE id = '{bundle}'")
    assert rows(db, 'SELECT DISTINCT bundle_id FROM "references"') == [(None,)]


def add_key_undone(db):
    assert "bundle_id" not in columns(db, "references")
    assert rows(db, 'SELECT count(*) FROM "references"') == [(len(COMPANIES),)]


def drop_table(m):
    del m["login_attempts"]


def drop_table_applied(db):
    kept(db)
    assert "login_attempts" not in db.get_tables()


def required(m):
    m["bundles"]._meta.fields["description"].null = False
    m["bundles"]._meta.fields["view_count"].constraints = server_default("1")


def required_applied(db):
    kept(db)
    assert fails(db, "UPDATE bundles SET description = NULL")
    db.execute_sql(f"INSERT INTO bundles (id, seeker_id, title, description, share_token) VALUES "
                   f"('00000000-0000-4000-8000-000000000299', '{USER}', 'Zeta set', '', 'z')")
    assert rows(db, "SELECT view_count FROM bundles WHERE title = 'Zeta set'") == [(1,)]
    db.execute_sql("DELETE FROM bundles WHERE title = 'Zeta set'")


def required_undone(db):
    kept(db)
    with db.atomic() as transaction:
        db.execute_sql("UPDATE bundles SET description = NULL")
        transaction.rollback()


PROMPT_NAMES = ("CREATE INDEX ix_ai_prompts_name_fts ON ai_prompts USING gin "
                "(to_tsvector('english'::regconfig, (name)::text))")


def gin_index(m):
    return {**{m[model._meta.table_name]: statements
               for model, statements in POSTGRES_ONLY_INDEXES.items()},
            m["ai_prompts"]: [PROMPT_NAMES]}


def gin_applied(db):
    kept(db)
    found = rows(db, "SELECT indexname FROM pg_indexes WHERE indexname = 'ix_ai_prompts_name_fts'"
                 ) if db.is_postgres else []
    assert found == ([("ix_ai_prompts_name_fts",)] if db.is_postgres else [])


CASES = {
    "add a nullable column": Case(
        add_nullable, ['add_column(migrator, "bundles", "cover_url", '
                       'pw.CharField(max_length=500, null=True))'],
        add_nullable_applied, kept),
    "add a NOT NULL column with a default": Case(
        add_required, ['add_column(migrator, "bundles", "source", choice_field(20, "web"))',
                       'add_column(migrator, "bundles", "published_at", CreatedAtField())'],
        add_required_applied, kept),
    "rename a column": Case(
        rename, ['migrator.rename_field("users", "first_name", "given_name")',
                 '#     "rename": '], rename_applied, rename_undone,
        renames=("users.first_name:given_name",), lint={"rename"}),
    "rename a column with a CHECK and an index": Case(
        rename_checked, ['migrator.rename_field("users", "kyc_status", "verification")',
                         'drop_check(migrator, "users", "ck_users_kyc_status")'],
        rename_checked_applied, rename_checked_undone,
        renames=("users.kyc_status:verification",), lint={"rename"}),
    "drop a column": Case(
        drop, ['migrator.remove_fields("references", "relationship")',
               "# Drops references.relationship and every value in it",
               '#     "drop-column": '], drop_applied, drop_undone, lint={"drop-column"}),
    "add a named index": Case(
        add_index, ['("bundles", "ix_bundles_title_is_active", ("title", "is_active"), False, '
                    'None),\n    ], concurrently=True)'], kept, kept),
    "add a CHECK": Case(
        add_check, ['add_check(migrator, "bundles", "ck_bundles_title_length", '
                    '"length(title) > 2")'], add_check_applied, add_check_undone),
    "drop a CHECK": Case(
        drop_check, ['drop_check(migrator, "bundles", "ck_bundles_view_count")'],
        drop_check_applied, drop_check_undone),
    "widen a varchar": Case(
        widen, ['alter_column(migrator, "bundles", "title", pw.CharField(max_length=300))'],
        widen_applied, kept),
    "add a table with foreign keys": Case(
        new_table, ['user = foreign_key(users, "fk_invoices_user_id", "CASCADE")',
                    'check("ck_invoices_status", "status IN (\'draft\', \'sent\')")',
                    "constraints=server_default(\"0\")", "declare_indexes(migrator, [",
                    'create_index_sql(migrator, "ix_invoices_status_words",'],
        new_table_applied, new_table_undone, sql=new_table_sql),
    "change ON DELETE": Case(
        on_delete, ['drop_foreign_key(migrator, "kyc_documents", "fk_kyc_documents_reviewed_by_id")',
                    'on_delete="SET NULL"'], on_delete_applied, on_delete_undone),
    "add a named unique constraint": Case(
        unique, ['add_unique(migrator, database, "references", "uq_references_company_role", '
                 '("company", "role"))'], unique_applied, unique_undone),
    # Beyond the ten: what else --auto drafts.
    "add a PostgreSQL-only index": Case(
        lambda m: None, ["if database.is_postgres:  # GIN and expression indexes",
                         'create_index_sql(migrator, "ix_ai_prompts_name_fts",'],
        gin_applied, kept, sql=gin_index),
    "add a foreign key column": Case(
        add_key, ['add_column(migrator, "references", "bundle",\n'
                  '               foreign_key(bundles, "fk_references_bundle_id", "SET NULL", '
                  'null=True))', 'drop_foreign_key(migrator, "references", "fk_references_bundle_id")'],
        add_key_applied, add_key_undone),
    "drop a table": Case(
        drop_table, ['migrator.remove_model("login_attempts")', "class LoginAttempt(pw.Model):",
                     '#     "drop-table": '], drop_table_applied, kept, lint={"drop-table"}),
    "require a column, change a default": Case(
        required, ['alter_column(migrator, "bundles", "description", pw.TextField())',
                   "# SET NOT NULL fails if a row holds NULL in bundles.description",
                   'pw.IntegerField(default=0, constraints=server_default("1")))'],
        required_applied, required_undone),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_draft_applies_checks_clean_rolls_back_and_applies_again(db, folder, case):
    case = CASES[case]
    models = {m._meta.table_name: m for m in draft.replay(db, folder).orm}
    case.change(models)
    sql = case.sql(models) if case.sql else None
    models = list(models.values())
    number = int(runner.available(folder)[-1][:3]) + 1
    name = runner.create(db, "change", models, folder, renames=case.renames, sql_indexes=sql)
    assert name == f"{number:03d}_change"
    text = (folder / f"{name}.py").read_text()
    for expected in case.draws:
        assert expected in text, text
    compile(text, name, "exec")
    # What the draft creates is on the model state: the next draft finds nothing to do.
    assert runner.create(db, "again", models, folder, sql_indexes=sql) is None
    found = preview.lint_revisions(db, folder, [name])[name]
    assert {f.rule for f in found if f.accepted is None} == case.lint, found

    assert runner.migrate(db, folder, echo=lambda line: None) == [name]
    assert schema_check.compare(db, models, sql) == []
    case.applied(db)
    assert runner.rollback(db, folder, echo=lambda line: None) == [name]
    assert schema_check.compare(db) == []
    case.undone(db)
    assert runner.migrate(db, folder, echo=lambda line: None) == [name]
    assert schema_check.compare(db, models, sql) == []


def test_indexes_read_without_the_parser_read_as_the_parser_does():
    # shape reads plain indexes without pglast (so `doctor` need not import it); what it
    # reads must be what PostgreSQL's grammar reads, and anything else goes to the parser.
    from deepref.db import SqliteDatabase
    from deepref.migrate import shape
    from deepref.models import ALL_MODELS

    class Note(pw.Model):
        body = pw.TextField()
        ended_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "notes"

    replayed = draft.replay(SqliteDatabase(":memory:"), MIGRATIONS_DIR).orm
    plain = [shape._index(m._meta.table_name, index) for m in [*ALL_MODELS, *replayed]
             for index in m._meta.fields_to_index()]
    others = [shape._index("notes", index) for index in (
        pw.ModelIndex(Note, (Note.body,), unique=True, name="ix_a",
                      where=Note.ended_at.is_null(False)),
        pw.ModelIndex(Note, (Note.body.desc(),), name="ix_b"),
        pw.ModelIndex(Note, (Note.body,), name="ix_c", where=Note.ended_at > pw.SQL("now()")),
    )]
    assert all(index.condition is not None for index in plain + others[:1])
    assert [index.condition for index in others] == [("ended_at", True), None, None]
    for index in plain + others:
        assert (index.columns, index.unique, index.where) == shape._parsed(
            index.table, index.name, index.sql), index.sql
