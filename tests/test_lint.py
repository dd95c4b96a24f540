"""The migration SQL linter: each rule's dangerous and safe forms, cross-checked with squawk."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import psycopg2
import pytest

from deepref.migrate.lint import Finding, Statement, lint_statements

EXISTING = {"users", "references", "bundles"}
# "references" as our revisions create it (the columns the cases use).
CREATE_REFERENCES = ('CREATE TABLE "references" (id uuid PRIMARY KEY, seeker_id uuid, '
                     'company varchar(200), status varchar(20), rcs_score numeric(5, 2), '
                     'referrer_email varchar(255), media_url varchar(500))')
TYPES = {("references", "company"): "character varying(200)",
         ("references", "rcs_score"): "numeric(5,2)",
         ("references", "seeker_id"): "uuid"}
SQUAWK = Path(sys.executable).parent / "squawk"
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
REVISIONS = sorted(p.stem for p in MIGRATIONS.glob("00[1-6]_*.py"))


def out(sql: str) -> Statement:
    """A statement run outside the revision's transaction (CONCURRENTLY, batches)."""
    return Statement(sql, in_transaction=False)


def lint(*statements: str | Statement, **options) -> list[Finding]:
    """Findings for `statements` (strings run inside the transaction) on EXISTING tables."""
    batch = [s if isinstance(s, Statement) else Statement(s) for s in statements]
    return lint_statements("007_test", batch, EXISTING, column_types=_types, **options)


def _types(table, column):
    return TYPES.get((table, column))


def rules(*statements: str | Statement, **options) -> list[str]:
    return [f.rule for f in lint(*statements, **options)]


class Case(NamedTuple):
    rule: str
    dangerous: list[str]
    squawk: str | None  # squawk's rule for the same danger; None where squawk has none
    safe: list | None  # None: made safe by a later release and an accepted finding, not by SQL
    created_first: list[str] | None = None  # after these (a table this revision makes): clean


INDEX = 'CREATE INDEX ix_references_status ON "references" (status)'
CONCURRENT_INDEX = out(INDEX.replace("INDEX", "INDEX CONCURRENTLY", 1))
NEW = [CREATE_REFERENCES]
NEW_WITH_INDEX = [CREATE_REFERENCES, INDEX]
ALTER = 'ALTER TABLE "references" '
FK = "ADD CONSTRAINT fk_r FOREIGN KEY (seeker_id) REFERENCES users (id)"
BATCH = ' WHERE id IN (SELECT id FROM "references" LIMIT 1000)'
# What set_not_null(...) emits.
SET_NOT_NULL = [ALTER + "ADD CONSTRAINT ck_nn CHECK (company IS NOT NULL) NOT VALID",
                ALTER + "VALIDATE CONSTRAINT ck_nn", ALTER + "ALTER COLUMN company SET NOT NULL",
                ALTER + "DROP CONSTRAINT ck_nn"]
CASES = [
    Case("index-not-concurrent", [INDEX], "require-concurrent-index-creation",
         [CONCURRENT_INDEX], NEW),
    Case("drop-index-not-concurrent", ["DROP INDEX ix_references_status"],
         "require-concurrent-index-deletion", [out("DROP INDEX CONCURRENTLY ix_references_status")],
         NEW_WITH_INDEX),
    Case("concurrently-in-transaction", [CONCURRENT_INDEX.sql],
         "ban-concurrent-index-creation-in-transaction", [CONCURRENT_INDEX]),
    Case("reindex-not-concurrent", ["REINDEX INDEX ix_references_status"],
         "require-concurrent-reindex", [out("REINDEX INDEX CONCURRENTLY ix_references_status")],
         NEW_WITH_INDEX),
    Case("volatile-default", [ALTER + "ADD COLUMN token uuid DEFAULT gen_random_uuid()"],
         "adding-field-with-default",
         [ALTER + "ADD COLUMN token uuid",
          out('UPDATE "references" SET token = gen_random_uuid()' + BATCH)], NEW),
    Case("generated-column",
         [ALTER + "ADD COLUMN score2 numeric GENERATED ALWAYS AS (rcs_score * 2) STORED"],
         "adding-field-with-default", [ALTER + "ADD COLUMN score2 numeric"], NEW),
    Case("required-column", [ALTER + "ADD COLUMN note text NOT NULL"], "adding-required-field",
         [ALTER + "ADD COLUMN note text NOT NULL DEFAULT ''"], NEW),
    Case("set-not-null", [ALTER + "ALTER COLUMN company SET NOT NULL"],
         "adding-not-nullable-field", SET_NOT_NULL, NEW),
    Case("constraint-not-valid", [ALTER + FK], "adding-foreign-key-constraint",
         [ALTER + FK + " NOT VALID", ALTER + "VALIDATE CONSTRAINT fk_r"], NEW),
    Case("constraint-not-valid", [ALTER + "ADD CONSTRAINT ck_r CHECK (rcs_score >= 0)"],
         "constraint-missing-not-valid",
         [ALTER + "ADD CONSTRAINT ck_r CHECK (rcs_score >= 0) NOT VALID",
          ALTER + "VALIDATE CONSTRAINT ck_r"], NEW),
    Case("unique-constraint", [ALTER + "ADD CONSTRAINT uq_r UNIQUE (referrer_email)"],
         "disallowed-unique-constraint",
         [out('CREATE UNIQUE INDEX CONCURRENTLY uq_r ON "references" (referrer_email)'),
          ALTER + "ADD CONSTRAINT uq_r UNIQUE USING INDEX uq_r"], NEW),
    Case("unique-constraint", [ALTER + "ADD PRIMARY KEY (seeker_id)"],
         "adding-serial-primary-key-field",
         [out('CREATE UNIQUE INDEX CONCURRENTLY pk_r ON "references" (seeker_id)'),
          ALTER + "ADD CONSTRAINT pk_r PRIMARY KEY USING INDEX pk_r"], NEW),
    Case("column-type-rewrite", [ALTER + "ALTER COLUMN company TYPE varchar(100)"],
         "changing-column-type", [ALTER + "ALTER COLUMN company TYPE varchar(300)"], NEW),
    Case("rename", [ALTER + "RENAME COLUMN company TO employer"], "renaming-column",
         [ALTER + "ADD COLUMN employer varchar(200)",
          out('UPDATE "references" SET employer = company' + BATCH)], NEW),
    Case("rename", [ALTER + "RENAME TO refs"], "renaming-table",
         ['CREATE VIEW refs AS SELECT * FROM "references"'], NEW),
    Case("drop-column", [ALTER + "DROP COLUMN media_url"], "ban-drop-column", None, NEW),
    Case("drop-table", ['DROP TABLE "references"'], "ban-drop-table", None, NEW),
    Case("truncate", ['TRUNCATE "references" CASCADE'], "ban-truncate-cascade",
         [out('DELETE FROM "references"' + BATCH)]),
    # squawk has no rule for plain TRUNCATE, whole-table writes or table rewrites by command.
    Case("truncate", ['TRUNCATE "references"'], None, None, NEW),
    Case("whole-table-write", ["UPDATE \"references\" SET status = 'pending'"], None,
         [out("UPDATE \"references\" SET status = 'pending'"),
          "UPDATE \"references\" SET status = 'pending' WHERE company = 'ACME'"], NEW),
    Case("whole-table-write", ['DELETE FROM "references"'], None,
         [out('DELETE FROM "references"')], NEW),
    Case("full-table-rewrite", ['VACUUM FULL "references"'], None, [out('VACUUM "references"')],
         NEW),
    Case("full-table-rewrite", ['CLUSTER "references" USING ix_references_status'], None, None,
         NEW_WITH_INDEX),
    Case("drop-database", ["DROP DATABASE deepref"], "ban-drop-database", None),
    Case("char-column", [ALTER + "ADD COLUMN code char(4)"], "ban-char-field",
         [ALTER + "ADD COLUMN code varchar(4)"]),
    # peewee's atomic() sends savepoints: they stay inside the revision's transaction.
    Case("transaction-control", ["COMMIT"], "transaction-nesting",
         ["SAVEPOINT s1", "RELEASE SAVEPOINT s1"]),
]


def cases(*having: str):
    """The CASES whose fields `having` are all set, as pytest params."""
    return [pytest.param(c, id=f"{c.rule}:{c.dangerous[0][:40]}") for c in CASES
            if all(getattr(c, name) for name in having)]


@pytest.mark.parametrize("case", cases())
def test_flags_the_dangerous_form(case):
    findings = lint(*case.dangerous)
    assert [f.rule for f in findings] == [case.rule]
    finding = findings[0]
    assert finding.revision == "007_test" and finding.accepted is None
    assert finding.lock and finding.duration and finding.safe_form
    assert finding.statement == " ".join(case.dangerous[0].split())


@pytest.mark.parametrize("case", cases("safe"))
def test_safe_form_is_clean(case):
    assert rules(*case.safe) == []


@pytest.mark.parametrize("case", cases("created_first"))
def test_clean_on_a_table_the_revision_creates(case):
    assert rules(*case.created_first, *case.dangerous) == []


def squawk_rules(sql: str, tmp_path: Path) -> set[str]:
    """The rules squawk reports for `sql`, run as our runner runs it (in a transaction,
    lock_timeout set); its prefer-* rules are style we don't follow (the runner retries)."""
    path = tmp_path / "revision.sql"
    path.write_text(f"SET lock_timeout = '2s';\n{sql};\n")
    done = subprocess.run([str(SQUAWK), "--pg-version", "15.0", "--reporter", "json",
                           "--assume-in-transaction", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode in (0, 1), done.stderr
    return {v["rule_name"] for v in json.loads(done.stdout)
            if not v["rule_name"].startswith("prefer-")}


@pytest.mark.parametrize("case", cases("squawk"))
def test_squawk_flags_it_too(case, tmp_path):
    assert case.squawk in squawk_rules(";\n".join(case.dangerous), tmp_path)


@pytest.mark.parametrize("default", [
    "gen_random_uuid()", "random()", "clock_timestamp()", "timeofday()",
    "nextval('references_seq')", "uuid_generate_v4()", "public.uuid_generate_v4()",
    "md5(random()::text)",
])
def test_volatile_defaults_rewrite(default):
    findings = lint(f'ALTER TABLE "references" ADD COLUMN x text DEFAULT {default}')
    assert [f.rule for f in findings] == ["volatile-default"]
    assert "volatile" in findings[0].duration and "ACCESS EXCLUSIVE" in findings[0].lock


@pytest.mark.parametrize("default", [
    "0", "'pending'", "now()", "CURRENT_TIMESTAMP", "current_date", "statement_timestamp()",
    "'{}'::jsonb", "CAST('1' AS integer)", "now() + interval '1 day'", "lower('X')", "NULL",
])
def test_constant_and_stable_defaults_are_stored_once(default):
    assert rules(f'ALTER TABLE "references" ADD COLUMN x text DEFAULT {default}') == []


def test_an_unknown_function_may_be_volatile_and_says_so():
    [finding] = lint('ALTER TABLE "references" ADD COLUMN x text DEFAULT make_code(8)')
    assert finding.rule == "volatile-default"
    assert "make_code() is volatile" in finding.duration and "does not know" in finding.duration


def test_serial_column_is_a_volatile_default():
    assert rules('ALTER TABLE "references" ADD COLUMN n bigserial') == ["volatile-default"]


# (type as format_type prints it, new type): test_postgresql_agrees_on_rewrites checks both.
CATALOGUE_ONLY = [
    ("character varying(200)", "varchar(300)"), ("character varying(200)", "varchar(200)"),
    ("character varying(200)", "character varying"), ("character varying(200)", "text"),
    ("character varying", "text"), ("text", "varchar"), ("numeric(5,2)", "numeric(7,2)"),
    ("numeric(5,2)", "numeric"), ("numeric(5,2)", "decimal(9, 2)"), ("numeric(5,0)", "numeric(6)"),
]
REWRITES = [
    ("character varying(200)", "varchar(100)"), ("text", "varchar(50)"), ("integer", "bigint"),
    ("integer", "text"), ("numeric(5,2)", "numeric(7,3)"), ("numeric(5,2)", "numeric(4,2)"),
    ("numeric", "numeric(9,2)"), ("smallint", "integer"),
]


def retype(old: str | None, new: str) -> list[Finding]:
    """Lint a change of column c to `new` where PostgreSQL reports its type as `old`."""
    change = Statement(f"{ALTER}ALTER COLUMN c TYPE {new}")
    return lint_statements("007", [change], EXISTING, column_types=lambda table, column: old)


@pytest.mark.parametrize("old, new", CATALOGUE_ONLY)
def test_type_changes_that_only_touch_the_catalogue(old, new):
    assert retype(old, new) == []


@pytest.mark.parametrize("old, new", REWRITES)
def test_type_changes_that_rewrite(old, new):
    [finding] = retype(old, new)
    assert finding.rule == "column-type-rewrite" and old in finding.duration


def test_type_change_with_unknown_old_type_may_rewrite():
    [finding] = retype(None, "text")
    assert finding.rule == "column-type-rewrite" and "unknown, so it may" in finding.duration


def test_type_change_with_using_is_a_rewrite():
    assert rules('ALTER TABLE "references" ALTER COLUMN company TYPE text USING company::text'
                 ) == ["column-type-rewrite"]


def test_set_not_null_needs_the_check_validated_first():
    check = 'ALTER TABLE "references" ADD CONSTRAINT ck_nn CHECK (company IS NOT NULL) NOT VALID'
    set_not_null = 'ALTER TABLE "references" ALTER COLUMN company SET NOT NULL'
    assert rules(check, set_not_null) == ["set-not-null"]
    assert rules(check, 'ALTER TABLE "references" VALIDATE CONSTRAINT ck_nn',
                 'ALTER TABLE "references" ALTER COLUMN status SET NOT NULL') == ["set-not-null"]
    assert rules(check, 'ALTER TABLE bundles VALIDATE CONSTRAINT ck_nn', set_not_null
                 ) == ["set-not-null"]
    # A check added valid proves it too (its own scan is flagged once).
    assert rules(check.replace(" NOT VALID", ""), set_not_null) == ["constraint-not-valid"]


def test_several_statements_in_one_string_are_each_linted():
    findings = lint(f"{INDEX}; ALTER TABLE bundles DROP COLUMN title;\n"
                    f"SELECT 1; DROP TABLE users")
    assert [(f.rule, f.statement) for f in findings] == [
        ("index-not-concurrent", INDEX),
        ("drop-column", "ALTER TABLE bundles DROP COLUMN title"),
        ("drop-table", "DROP TABLE users"),
    ]


def test_a_table_created_earlier_in_the_same_string_is_new():
    assert rules(f"{CREATE_REFERENCES}; {INDEX}") == []


def test_unparsable_sql_is_a_finding_not_an_error():
    [finding] = lint("CREATE INDX ix ON users (email)")
    assert finding.rule == "unparsable"
    assert 'syntax error at or near "INDX"' in finding.lock
    assert finding.statement == "CREATE INDX ix ON users (email)"


def test_the_parts_of_a_string_that_parse_are_still_linted():
    findings = lint(f"{INDEX}; SELEC 1; DROP TABLE users")
    assert [(f.rule, f.statement) for f in findings] == [
        ("index-not-concurrent", INDEX), ("unparsable", "SELEC 1"),
        ("drop-table", "DROP TABLE users"),
    ]
    assert [f.rule for f in lint("SELECT 'unterminated")] == ["unparsable"]


def test_accepted_findings_are_returned_with_their_reason():
    reason = "media_url unused since release 41"
    findings = lint('ALTER TABLE "references" DROP COLUMN media_url', INDEX,
                    accepted={"drop-column": reason})
    assert [(f.rule, f.accepted) for f in findings] == [
        ("drop-column", reason), ("index-not-concurrent", None)]


def test_quoted_reserved_word_and_schema_qualified_names():
    [finding] = lint('CREATE INDEX ix ON public."references" (status)')
    assert finding.rule == "index-not-concurrent"
    assert finding.lock.startswith('SHARE lock on "public"."references"')
    assert rules('CREATE TABLE public.notes (id int)', 'CREATE INDEX ix ON public.notes (id)',
                 'ALTER TABLE public.notes ALTER COLUMN id SET NOT NULL') == []
    assert rules('DROP TABLE public.users') == ["drop-table"]


def test_create_if_not_exists_of_an_existing_table_keeps_it_existing():
    assert rules("CREATE TABLE IF NOT EXISTS users (id int)", "ALTER TABLE users DROP COLUMN x"
                 ) == ["drop-column"]


def test_a_renamed_table_is_still_busy():
    assert rules("ALTER TABLE users RENAME TO people", "CREATE INDEX ix ON people (email)"
                 ) == ["rename", "index-not-concurrent"]


def test_dropping_an_index_of_unknown_table_names_the_index():
    [finding] = lint("DROP INDEX ix_somewhere")
    assert finding.lock.startswith('ACCESS EXCLUSIVE lock on the table of index "ix_somewhere"')


def test_inline_column_constraints_on_an_existing_table():
    assert rules('ALTER TABLE "references" ADD COLUMN bundle_id uuid REFERENCES bundles (id)'
                 ) == ["constraint-not-valid"]
    assert rules('ALTER TABLE "references" ADD COLUMN code varchar(8) UNIQUE'
                 ) == ["unique-constraint"]
    assert rules('ALTER TABLE "references" ADD COLUMN n int CHECK (n > 0)'
                 ) == ["constraint-not-valid"]


def test_char_columns_are_flagged_on_new_tables_too():
    assert rules("CREATE TABLE codes (code char(4), kind \"char\")") == ["char-column"]


def test_long_statements_are_shortened():
    [finding] = lint(f"UPDATE users SET email = '{'x' * 500}'")
    assert len(finding.statement) <= 200 and finding.statement.endswith("...")


@pytest.mark.parametrize("change", ["SET UNLOGGED", "SET LOGGED", "SET TABLESPACE pg_default"])
def test_alter_table_forms_that_copy_the_table(change):
    assert rules(f'ALTER TABLE "references" {change}') == ["full-table-rewrite"]
    assert rules(CREATE_REFERENCES, f'ALTER TABLE "references" {change}') == []


def test_the_module_needs_only_pglast_and_the_standard_library():
    # Loaded by path, so deepref/__init__ (Flask) does not come along.
    path = Path(__file__).resolve().parent.parent / "deepref" / "migrate" / "lint.py"
    code = ("import importlib.util, sys\n"
            f"spec = importlib.util.spec_from_file_location('lint', {str(path)!r})\n"
            "module = sys.modules['lint'] = importlib.util.module_from_spec(spec)\n"
            "spec.loader.exec_module(module)\n"
            "print(sorted({'flask', 'click', 'peewee', 'deepref'} & set(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_postgresql_agrees_on_rewrites(pg_database):
    """Our catalogue-only type changes keep the table's file; the others rewrite it."""
    conn = psycopg2.connect(pg_database)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for old, new in CATALOGUE_ONLY + REWRITES:
                cur.execute(f"DROP TABLE IF EXISTS t; CREATE TABLE t (c {old}); "
                            "INSERT INTO t VALUES (NULL)")
                cur.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                            "WHERE attrelid = 't'::regclass AND attname = 'c'")
                assert cur.fetchone()[0] == old
                file_of_t = "SELECT relfilenode FROM pg_class WHERE relname = 't'"
                cur.execute(file_of_t)
                before = cur.fetchone()[0]
                cur.execute(f"ALTER TABLE t ALTER COLUMN c TYPE {new}")
                cur.execute(file_of_t)
                rewritten = cur.fetchone()[0] != before
                assert rewritten == bool(retype(old, new)), (old, new)
    finally:
        conn.close()


def test_revisions_001_to_006_lint_clean(app, backend):
    """The SQL PostgreSQL would receive for each revision, each judged with the tables the
    revisions before it made counted as existing (busy): nothing to flag. On SQLite the
    PostgreSQL dialect is rendered without a server."""
    result = app.test_cli_runner().invoke(args=["db", "lint", *REVISIONS])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [f"{name}: clean" for name in REVISIONS]
