"""`flask seed-prompts`: the four agents' seed data, idempotence, versions, one transaction."""

from __future__ import annotations

import shutil
import string

import pytest

from databases import database_of
from deepref import seeds
from deepref.models import AIPrompt

AGENTS = {
    "authenticity-analyzer-v1": ("Authenticity Analyzer", "claude-sonnet-4-5", ["system"], "critical"),
    "reference-coach-v1": ("Reference Coach", "claude-sonnet-4-5", ["seeker"], "normal"),
    "reference-intelligence-v1": (
        "Reference Intelligence", "claude-sonnet-4-5", ["seeker", "employer"], "medium"),
    "verification-orchestrator-v1": (
        "Verification Orchestrator", "claude-opus-4-1", ["system"], "high"),
}
COACH = "reference-coach-v1"


def seed(runner, *options):
    return runner.invoke(args=["seed-prompts", *options])


def stored():
    """prompt_id -> (version, system prompt, template, updated_at), read through the model."""
    return {p.prompt_id: (p.version, p.system_prompt, p.user_prompt_template, p.updated_at)
            for p in AIPrompt.select()}


@pytest.fixture
def seeds_copy(app, tmp_path):
    """An editable copy of seeds/, used by the app's seed-prompts."""
    target = tmp_path / "seeds"
    shutil.copytree(seeds.SEEDS_DIR, target)
    app.config["SEEDS_DIR"] = str(target)
    return target


def edit(seeds_dir, prompt_id, old, new):
    path = seeds_dir / "ai_prompts" / f"{prompt_id}.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def bump(seeds_dir, prompt_id, version, sentence="Be brief."):
    edit(seeds_dir, prompt_id, 'version = "1.0.0"', f'version = "{version}"')
    edit(seeds_dir, prompt_id, "system_prompt = '''\n", f"system_prompt = '''\n{sentence}\n")


def test_the_four_agents_are_data_with_real_prompts():
    loaded = {s.prompt_id: s for s in seeds.load_prompt_seeds()}
    assert loaded.keys() == AGENTS.keys()
    for prompt_id, (name, model, permissions, priority) in AGENTS.items():
        agent = loaded[prompt_id]
        assert (agent.name, agent.model_preference) == (name, model)
        assert agent.metadata["permissions"] == permissions
        assert agent.metadata["priority"] == priority
        assert agent.metadata["role"] and len(agent.metadata["features"]) >= 3
        assert seeds.SEMVER.match(agent.version)
        words = len(agent.system_prompt.split())
        assert 400 <= words <= 600, f"{prompt_id}: system prompt has {words} words"
        for section in ("never", "output format"):
            assert section in agent.system_prompt.lower(), f"{prompt_id} lacks {section!r}"
        fields = {f for _, f, _, _ in string.Formatter().parse(agent.user_prompt_template) if f}
        assert fields == set(agent.metadata["placeholders"])
        agent.user_prompt_template.format(**{f: "x" for f in fields})


def test_seeding_an_empty_table_inserts_the_four_agents(runner_cli, db, backend):
    result = seed(runner_cli)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:4] == [f"inserted     {p}: version 1.0.0" for p in sorted(AGENTS)]
    assert lines[-1] == "4 agent(s): 4 inserted."
    loaded = {s.prompt_id: s for s in seeds.load_prompt_seeds()}
    for prompt in AIPrompt.select():
        agent = loaded[prompt.prompt_id]
        assert prompt.system_prompt == agent.system_prompt
        assert prompt.user_prompt_template == agent.user_prompt_template
        assert prompt.metadata == agent.metadata
        assert prompt.is_active and prompt.version == "1.0.0"


def test_running_twice_changes_nothing_the_second_time(runner_cli, db, backend):
    assert seed(runner_cli).exit_code == 0
    before = stored()
    for options in ([], ["--update"], ["--update", "--force"]):
        result = seed(runner_cli, *options)
        assert result.exit_code == 0, result.output
        assert result.output.splitlines()[-1] == "4 agent(s): 4 unchanged."
    assert stored() == before


def test_update_applies_a_newer_seed_version(runner_cli, db, seeds_copy, backend):
    assert seed(runner_cli).exit_code == 0
    before = stored()
    bump(seeds_copy, COACH, "1.1.0", "Answer in the seeker's language.")

    result = seed(runner_cli)
    assert f"skipped      {COACH}: seed has 1.1.0, stored 1.0.0: run with --update" in result.output
    assert stored() == before

    result = seed(runner_cli, "--update")
    assert result.exit_code == 0, result.output
    assert f"updated      {COACH}: 1.0.0 -> 1.1.0" in result.output
    assert result.output.splitlines()[-1] == "4 agent(s): 1 updated, 3 unchanged."
    version, prompt, _, updated_at = stored()[COACH]
    assert version == "1.1.0" and prompt.startswith("Answer in the seeker's language.\n")
    assert updated_at > before[COACH][3]
    assert seed(runner_cli, "--update").output.splitlines()[-1] == "4 agent(s): 4 unchanged."


def test_same_version_with_different_content_is_a_conflict_unless_forced(
        runner_cli, db, seeds_copy, backend):
    assert seed(runner_cli).exit_code == 0
    before = stored()
    edit(seeds_copy, COACH, "{question}", "{question}\n(Answer briefly.)")

    result = seed(runner_cli, "--update")
    assert result.exit_code == 0, result.output
    assert (f"conflict     {COACH}: same version 1.0.0 but different content; "
            "left alone (--force overwrites it)") in result.output
    assert stored() == before

    result = seed(runner_cli, "--update", "--force")
    assert result.exit_code == 0, result.output
    assert f"updated      {COACH}: same version 1.0.0 but different content; overwritten" in result.output
    assert stored()[COACH][2].endswith("(Answer briefly.)")


def test_a_newer_stored_version_is_never_downgraded(runner_cli, db, backend):
    assert seed(runner_cli).exit_code == 0
    AIPrompt.update(version="2.0.0", system_prompt="Edited by an admin.").where(
        AIPrompt.prompt_id == COACH).execute()
    result = seed(runner_cli, "--update", "--force")
    assert result.exit_code == 0, result.output
    assert (f"skipped      {COACH}: stored version 2.0.0 is newer than the seed's 1.0.0: "
            "never downgraded") in result.output
    assert stored()[COACH][:2] == ("2.0.0", "Edited by an admin.")


def test_dry_run_writes_nothing(runner_cli, db, seeds_copy, backend):
    result = seed(runner_cli, "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"would insert {COACH}: version 1.0.0" in result.output
    assert result.output.splitlines()[-1] == (
        "Dry run, nothing written. 4 agent(s): 4 would insert.")
    assert AIPrompt.select().count() == 0

    assert seed(runner_cli).exit_code == 0
    before = stored()
    bump(seeds_copy, COACH, "1.0.1")
    result = seed(runner_cli, "--update", "--dry-run")
    assert f"would update {COACH}: 1.0.0 -> 1.0.1" in result.output
    assert stored() == before


FAIL_ON = "verification-orchestrator-v1"  # seeded last: the others are written before it fails
TRIGGERS = {
    "sqlite": [
        f"CREATE TRIGGER fail_insert BEFORE INSERT ON ai_prompts WHEN NEW.prompt_id = '{FAIL_ON}' "
        "BEGIN SELECT RAISE(ABORT, 'simulated failure'); END",
        f"CREATE TRIGGER fail_update BEFORE UPDATE ON ai_prompts WHEN NEW.prompt_id = '{FAIL_ON}' "
        "BEGIN SELECT RAISE(ABORT, 'simulated failure'); END",
    ],
    "postgres": [
        "CREATE FUNCTION fail_seed() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'simulated failure'; END $$",
        f"CREATE TRIGGER fail_seed BEFORE INSERT OR UPDATE ON ai_prompts FOR EACH ROW "
        f"WHEN (NEW.prompt_id = '{FAIL_ON}') EXECUTE FUNCTION fail_seed()",
    ],
}


def test_a_failure_mid_run_rolls_everything_back(runner_cli, db, seeds_copy, backend):
    for statement in TRIGGERS[backend]:
        db.execute_sql(statement)
    result = seed(runner_cli)
    assert result.exit_code == 1
    assert "simulated failure" in result.output and "Traceback" not in result.output
    assert AIPrompt.select().count() == 0  # the three inserted before the failure are gone

    AIPrompt.delete().execute()
    db.execute_sql({"sqlite": "DROP TRIGGER fail_insert",
                    "postgres": "ALTER TABLE ai_prompts DISABLE TRIGGER fail_seed"}[backend])
    assert seed(runner_cli).exit_code == 0
    if backend == "postgres":
        db.execute_sql("ALTER TABLE ai_prompts ENABLE TRIGGER fail_seed")
    before = stored()
    for prompt_id in AGENTS:
        bump(seeds_copy, prompt_id, "1.1.0")
    result = seed(runner_cli, "--update")
    assert result.exit_code == 1 and "simulated failure" in result.output
    assert stored() == before  # the three updated before the failure are back at 1.0.0


MALFORMED = {
    "{question": "user_prompt_template is malformed: expected '}' before end of string",
    "{question}}": "user_prompt_template is malformed: Single '}' encountered",
    "{}": "placeholder {} is not allowed: use plain names",
    "{0}": "placeholder {0} is not allowed",
    "{question.text}": "placeholder {question.text} is not allowed",
    "{question!r}": "placeholder {question!r} is not allowed",
    "{question:>20}": "placeholder {question:>20} is not allowed",
    "{questoin}": "placeholders do not match metadata.placeholders: declared but unused: "
                  "question; used but not declared: questoin",
}


def test_malformed_templates_and_seeds_are_refused(runner_cli, db, seeds_copy, backend):
    original = (seeds_copy / "ai_prompts" / f"{COACH}.toml").read_text()
    cases = [("{question}", bad, problem) for bad, problem in MALFORMED.items()] + [
        ('version = "1.0.0"', 'version = "1.0"', "version '1.0' is not a semantic version"),
        (f'prompt_id = "{COACH}"', 'prompt_id = "coach"', "must match the file name"),
        ('priority = "normal"', 'priority = "urgent"', "metadata.priority must be one of"),
        ('name = "Reference Coach"', 'nam = "Reference Coach"', "unknown key(s) nam"),
        ("[prompts]", "[prompts", "cannot read"),
    ]
    for old, new, problem in cases:
        (seeds_copy / "ai_prompts" / f"{COACH}.toml").write_text(original.replace(old, new, 1))
        result = seed(runner_cli)
        assert result.exit_code == 1, (new, result.output)
        assert f"Error: agent {COACH}: " in result.output, result.output
        assert problem in result.output, result.output
        assert "Traceback" not in result.output
        assert AIPrompt.select().count() == 0


def test_bad_usage_and_missing_seeds(runner_cli, app, tmp_path, backend):
    result = seed(runner_cli, "--force")
    assert result.exit_code == 2 and "--force only makes sense with --update" in result.output
    app.config["SEEDS_DIR"] = str(tmp_path / "nowhere")
    result = seed(runner_cli)
    assert result.exit_code == 1 and "no seed files (*.toml) found in" in result.output


def test_seeding_an_unmigrated_database_is_one_line_not_a_traceback(bare_app, env, tmp_path,
                                                                     backend):
    """The real command line, as an operator who forgot `flask db migrate` sees it."""
    import os
    import subprocess
    import sys

    from deepref import migrate as runner

    runner.migrate(database_of(bare_app), target="001", echo=lambda line: None)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "FLASK_"))}
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "deepref", "seed-prompts"],
                          cwd=tmp_path, env={**base, **env}, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1
    assert done.stdout == ""
    missing = ('database error: relation "ai_prompts" does not exist' if backend == "postgres"
               else "no such table: ai_prompts")
    assert done.stderr.startswith("Error: database ")
    assert done.stderr.endswith(f"{missing}: run `flask db migrate` first\n"), done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr
