"""`flask db create`: numbering, what --auto refuses (and writes nothing), --rename and
--drop, and LINT_ACCEPT left for the author; on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil

import peewee as pw
import pytest

from databases import database_of
from deepref import migrate as runner
from deepref.exceptions import UsageError
from deepref.migrate import check as schema_check
from deepref.migrate import draft
from deepref.models.base import check


def next_number(folder):
    """The number `create` gives the next revision: one after the highest in the folder."""
    return f"{max(int(p.name[:3]) for p in folder.glob('[0-9][0-9][0-9]_*.py')) + 1:03d}"


@pytest.fixture
def app(make_app, env, folder):
    app = make_app(env, MIGRATIONS_DIR=str(folder))
    runner.migrate(database_of(app), folder, echo=lambda line: None)
    return app


@pytest.fixture
def db(app):
    return database_of(app)


@pytest.fixture
def models(db, folder):
    """Copies of the models (the revisions replayed), by table, for a test to change."""
    return {m._meta.table_name: m for m in draft.replay(db, folder).orm}


def files(folder):
    return sorted(p.name for p in folder.glob("*.py"))


def test_create_numbers_after_the_highest_number_and_refuses_a_shared_one(db, folder):
    (folder / "002_ai_system_tables.py").rename(folder / "012_ai_system_tables.py")
    assert runner.create(db, "next_one", None, folder) == "013_next_one"
    text = (folder / "013_next_one.py").read_text()
    assert text.startswith('"""013_next_one: ') and "def rollback(" in text
    shutil.copy(folder / "003_create_indexes.py", folder / "003_copy.py")
    before = files(folder)
    with pytest.raises(runner.MigrationError, match="003_copy and 003_create_indexes share "
                                                    "the number 003"):
        runner.create(db, "another", None, folder)
    assert files(folder) == before


def test_what_a_draft_would_get_wrong_is_refused_all_at_once(db, folder, models):
    users, bundles, prompts = models["users"], models["bundles"], models["ai_prompts"]
    users._meta.add_field("age", pw.IntegerField())  # NOT NULL, no server default
    bundles._meta.fields["title"].max_length = 100  # narrowing
    prompts._meta.remove_field("version")
    prompts._meta.add_field("version", pw.IntegerField(null=True))  # varchar -> integer
    bundles._meta.constraints = [*bundles._meta.constraints, pw.SQL("CHECK (view_count < 9)")]
    users.add_index(pw.ModelIndex(users, (pw.fn.lower(users.email),), name="ix_users_lower"))
    models["login_attempts"]._meta.add_field(
        "token", pw.UUIDField(null=True, constraints=[pw.SQL("DEFAULT gen_random_uuid()")]))
    before = files(folder)
    with pytest.raises(draft.CannotDraft) as refused:
        runner.create(db, "too_much", list(models.values()), folder)
    lines = refused.value.message.splitlines()
    assert lines[0] == "Cannot draft this revision; nothing was written:"
    assert any(line.startswith("  users.age: a NOT NULL column needs a server default")
               for line in lines), lines
    assert any("bundles.title: VARCHAR(200) to VARCHAR(100) is not a widening" in line
               for line in lines), lines
    assert any("bundles: a table constraint other than a named CHECK" in line for line in lines)
    assert any("users: index ix_users_lower is not on plain columns" in line for line in lines)
    assert any("ai_prompts.version: VARCHAR(20) to INT is not a widening" in line for line in lines), lines
    assert any("login_attempts.token: its server default (gen_random_uuid()) may be volatile"
               in line for line in lines), lines
    assert len(lines) == 7, lines
    assert files(folder) == before


def test_a_possible_rename_is_refused_until_the_author_says_which(db, folder, models):
    bundles = models["bundles"]
    bundles._meta.remove_field("description")
    bundles._meta.add_field("summary", pw.TextField(null=True))
    before = files(folder)
    with pytest.raises(draft.CannotDraft) as refused:
        runner.create(db, "summary", list(models.values()), folder)
    assert ("bundles.description is gone and summary new, of the same type: if description "
            "was renamed, say --rename bundles.description:summary (its values are kept); if it "
            "goes, say --drop bundles.description (its values are lost)") in refused.value.message
    assert files(folder) == before

    name = runner.create(db, "summary", list(models.values()), folder,
                         drops=("bundles.description",))
    text = (folder / f"{name}.py").read_text()
    assert 'migrator.remove_fields("bundles", "description")' in text
    assert 'add_column(migrator, "bundles", "summary", pw.TextField(null=True))' in text
    (folder / f"{name}.py").unlink()
    name = runner.create(db, "summary", list(models.values()), folder,
                         renames=("bundles.description:summary",))
    text = (folder / f"{name}.py").read_text()
    assert 'migrator.rename_field("bundles", "description", "summary")' in text
    assert "remove_fields" not in text and "add_column" not in text


@pytest.mark.parametrize("hint, error", [
    (("--rename", "bundles.title"), "write it TABLE.OLD:NEW"),
    (("--rename", "bundles.title:name"), "the models do not drop column title of bundles"),
    (("--drop", "bundles.title"), "--drop bundles.title: the models do not drop it"),
])
def test_a_hint_that_matches_no_change_is_bad_usage(db, folder, models, hint, error):
    option, value = hint
    with pytest.raises(UsageError, match=error):
        runner.create(db, "hinted", list(models.values()), folder,
                      **{"renames" if option == "--rename" else "drops": (value,)})


def test_the_command_drafts_refuses_and_takes_hints(app, folder, monkeypatch, models):
    cli = app.test_cli_runner()
    result = cli.invoke(args=["db", "create", "renamed", "--rename", "users.a:b"])
    assert result.exit_code == 2 and "--rename and --drop go with --auto" in result.output

    users = models["users"]
    users._meta.remove_field("last_name")
    users._meta.add_field("family_name", pw.CharField(max_length=100, null=True))
    users._meta.constraints = [*users._meta.constraints, check("ck_users_named", "email <> ''")]
    monkeypatch.setattr("deepref.models.ALL_MODELS", list(models.values()))
    result = cli.invoke(args=["db", "create", "--auto", "family_name"])
    assert result.exit_code == 1, result.output
    assert "--rename users.last_name:family_name" in result.output
    assert "Traceback" not in result.output

    result = cli.invoke(args=["db", "create", "--auto", "family_name",
                              "--rename", "users.last_name:family_name"])
    assert result.exit_code == 0, result.output
    number = f"{int(next_number(folder)) - 1:03d}"
    assert result.output.startswith(f"Created {folder / f'{number}_family_name'}.py\n")
    lint = cli.invoke(args=["db", "lint", number])
    assert lint.exit_code == 1 and f"{number}_family_name: rename:" in lint.output

    # The author confirms: uncommented, with their reason, lint accepts it.
    revision = folder / f"{number}_family_name.py"
    revision.write_text(revision.read_text().replace("# LINT_ACCEPT = {", "LINT_ACCEPT = {")
                        .replace('#     "rename": "every app server reads users.family_name '
                                 'since release N",', '    "rename": "release 12 reads both",')
                        .replace("# }", "}"))
    lint = cli.invoke(args=["db", "lint", number])
    assert lint.exit_code == 0, lint.output
    assert "accepted (release 12 reads both)" in lint.output
    assert cli.invoke(args=["db", "migrate"]).exit_code == 0
    drift = cli.invoke(args=["db", "check"])
    assert drift.exit_code == 0, drift.output
    result = cli.invoke(args=["db", "create", "--auto", "nothing"])
    assert result.exit_code == 0 and "already agree: nothing created" in result.output


HAND_WRITTEN = '''
import peewee as pw


def migrate(migrator, database, *, fake=False):
    @migrator.create_model
    class Label(pw.Model):
        name = pw.CharField(max_length=20, index=True)

        class Meta:
            table_name = "labels"


def rollback(migrator, database, *, fake=False):
    migrator.remove_model("labels")
'''


def test_an_index_made_by_index_true_is_dropped_and_forgotten(db, folder):
    """Hand-written revisions may index a field with index=True: the draft drops it by the
    name peewee gave it, and the model state forgets it."""
    (folder / f"{next_number(folder)}_label.py").write_text(HAND_WRITTEN)
    runner.migrate(db, folder, echo=lambda line: None)
    models = {m._meta.table_name: m for m in draft.replay(db, folder).orm}
    models["labels"]._meta.fields["name"].index = False
    name = runner.create(db, "unindexed", list(models.values()), folder)
    text = (folder / f"{name}.py").read_text()
    assert '("labels", "label_name", ("name",), False, None),' in text
    assert runner.create(db, "again", list(models.values()), folder) is None
    runner.migrate(db, folder, echo=lambda line: None)
    assert schema_check.compare(db, list(models.values())) == []
