"""System prompts encrypted at rest: raw column, key rotation, wrong keys, key resolution."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import subprocess
import sys

import psycopg2
import pytest
from cryptography.fernet import Fernet, InvalidToken

from deepref import create_app, seeds
from deepref import migrate as runner
from deepref.config import ConfigError
from deepref.crypto import PromptDecryptionError
from deepref.models import AIPrompt

from databases import database_of, postgres_url_for

COACH = "reference-coach-v1"


def raw_sql(env, sql, params=()):
    """Run `sql` over a plain DB-API connection, outside peewee and the app."""
    url = env["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url[len("sqlite:///"):])
    else:
        conn = psycopg2.connect(url)
        sql = sql.replace("?", "%s")
    try:
        cur = conn.cursor()
        cur.execute(sql, params)
        rows = cur.fetchall() if cur.description else None
        conn.commit()
        return rows
    finally:
        conn.close()


def raw_prompts(env) -> dict[str, str]:
    return dict(raw_sql(env, "SELECT prompt_id, system_prompt FROM ai_prompts"))


def decrypts_with(key: str, token: str) -> bool:
    try:
        Fernet(key).decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def seeded_app(make_app, env, key: str):
    """A migrated app whose prompts are seeded and encrypted with `key`."""
    app = make_app({**env, "PROMPT_ENCRYPTION_KEYS": key})
    runner.migrate(database_of(app), echo=lambda line: None)
    assert app.test_cli_runner().invoke(args=["seed-prompts"]).exit_code == 0
    return app


def test_the_raw_column_never_holds_plain_text(app, runner_cli, env, backend):
    assert runner_cli.invoke(args=["seed-prompts"]).exit_code == 0
    key = env["PROMPT_ENCRYPTION_KEYS"]
    plain = {s.prompt_id: s.system_prompt for s in seeds.load_prompt_seeds()}
    raw = raw_prompts(env)
    assert raw.keys() == plain.keys()
    for prompt_id, token in raw.items():
        assert token.startswith("gAAAAA")  # a Fernet token, not text
        assert not any(line.strip() and line.strip()[:30] in token
                       for line in plain[prompt_id].splitlines())
        assert Fernet(key).decrypt(token.encode()).decode() == plain[prompt_id]
        assert AIPrompt.get(AIPrompt.prompt_id == prompt_id).system_prompt == plain[prompt_id]
    # Through the model, writes encrypt too; and the column's DDL is unchanged.
    AIPrompt.update(system_prompt="Edited.").where(AIPrompt.prompt_id == COACH).execute()
    assert raw_prompts(env)[COACH] != "Edited."
    assert AIPrompt.get(AIPrompt.prompt_id == COACH).system_prompt == "Edited."
    check = runner_cli.invoke(args=["db", "check"])
    assert check.exit_code == 0, check.output


def test_rotation_moves_every_prompt_to_the_first_key(make_app, env, backend):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    seeded_app(make_app, env, old)
    plain = {s.prompt_id: s.system_prompt for s in seeds.load_prompt_seeds()}

    both = make_app({**env, "PROMPT_ENCRYPTION_KEYS": f"{new},{old}"})
    assert {p.prompt_id: p.system_prompt for p in AIPrompt.select()} == plain
    AIPrompt.update(system_prompt=plain[COACH]).where(AIPrompt.prompt_id == COACH).execute()
    assert decrypts_with(new, raw_prompts(env)[COACH])  # new writes use the first key

    result = both.test_cli_runner().invoke(args=["rotate-prompt-key"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == (
        "Re-encrypted 3 of 4 prompt(s) with the first key; 1 already used it.")
    assert all(decrypts_with(new, t) and not decrypts_with(old, t)
               for t in raw_prompts(env).values())
    again = both.test_cli_runner().invoke(args=["rotate-prompt-key"])
    assert again.output.startswith("Re-encrypted 0 of 4 prompt(s)")

    make_app({**env, "PROMPT_ENCRYPTION_KEYS": new})  # the old key removed
    assert {p.prompt_id: p.system_prompt for p in AIPrompt.select()} == plain


def test_a_wrong_key_gives_a_clear_error_and_spares_everything_else(make_app, env, backend):
    seeded_app(make_app, env, Fernet.generate_key().decode())
    wrong = make_app({**env, "PROMPT_ENCRYPTION_KEYS": Fernet.generate_key().decode()})

    prompts = list(AIPrompt.select().order_by(AIPrompt.prompt_id))  # listing needs no key
    assert [p.name for p in prompts][:2] == ["Authenticity Analyzer", "Reference Coach"]
    with pytest.raises(PromptDecryptionError) as caught:
        prompts[1].system_prompt
    assert caught.value.prompt_id == COACH
    assert str(caught.value) == (
        f"the system prompt of {COACH} cannot be decrypted: it was encrypted with a key "
        "that is not in PROMPT_ENCRYPTION_KEYS, or the stored value was altered.")
    prompts[1].is_active = False
    prompts[1].save()  # saving other columns keeps the ciphertext as it was
    before = raw_prompts(env)

    runner = wrong.test_cli_runner()
    for args in (["rotate-prompt-key"], ["seed-prompts"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 1, result.output
        assert "Error: the system prompt of authenticity-analyzer-v1 cannot be decrypted" in (
            result.output)
        assert "Traceback" not in result.output
        assert raw_prompts(env) == before


def test_tampered_ciphertext_is_detected_and_rotation_is_all_or_nothing(make_app, env, backend):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    seeded_app(make_app, env, old)
    token = raw_prompts(env)[COACH]
    middle = len(token) // 2
    tampered = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1:]
    raw_sql(env, "UPDATE ai_prompts SET system_prompt = ? WHERE prompt_id = ?", (tampered, COACH))
    before = raw_prompts(env)

    app = make_app({**env, "PROMPT_ENCRYPTION_KEYS": f"{new},{old}"})
    with pytest.raises(PromptDecryptionError, match=f"system prompt of {COACH} cannot"):
        AIPrompt.get(AIPrompt.prompt_id == COACH).system_prompt
    others = AIPrompt.select().where(AIPrompt.prompt_id != COACH)
    assert all(len(p.system_prompt.split()) >= 400 for p in others)

    runner = app.test_cli_runner()
    result = runner.invoke(args=["rotate-prompt-key"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"Error: the system prompt of {COACH} cannot be decrypted" in result.output
    assert raw_prompts(env) == before  # the row rotated before the bad one was rolled back

    result = runner.invoke(args=["seed-prompts", "--update", "--force"])
    assert result.exit_code == 0, result.output
    assert f"updated      {COACH}: undecryptable stored prompt replaced" in result.output
    assert runner.invoke(args=["rotate-prompt-key"]).exit_code == 0


def test_sqlite_keys_are_generated_once_with_mode_0600(make_app, sqlite_database, tmp_path, caplog):
    env = {"DATABASE_URL": sqlite_database}
    caplog.set_level(logging.WARNING, logger="deepref.keys")
    first = make_app(env)
    instance = tmp_path / "instance"
    secret_file, prompt_file = instance / "secret_key", instance / "prompt_encryption_key"
    for path in (secret_file, prompt_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.config["SECRET_KEY"] == secret_file.read_text().strip()
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2 and all("is not set: generated a key into" in w for w in warnings)
    assert not any(secret_file.read_text().strip() in w or prompt_file.read_text().strip() in w
                   for w in warnings)

    runner.migrate(database_of(first), echo=lambda line: None)
    assert first.test_cli_runner().invoke(args=["seed-prompts"]).exit_code == 0
    assert decrypts_with(prompt_file.read_text().strip(), raw_prompts(env)[COACH])
    caplog.clear()
    second = make_app(env)  # a later start reuses the keys, silently
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]
    assert caplog.records == []
    assert AIPrompt.get(AIPrompt.prompt_id == COACH).system_prompt.startswith("You are")


def test_postgresql_without_keys_refuses_to_start(tmp_path):
    env = {"DATABASE_URL": postgres_url_for("deepref_never_created")}
    with pytest.raises(ConfigError) as caught:
        create_app({"ENV": env, "INSTANCE_PATH": str(tmp_path)})
    assert caught.value.message.startswith(
        "SECRET_KEY and PROMPT_ENCRYPTION_KEYS must be set when the database is PostgreSQL")
    assert not (tmp_path / "secret_key").exists()

    # The real command line: one clear line, exit 2, no traceback.
    process = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "flask"), "--app", "deepref", "db", "status"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
        env={"PATH": os.environ.get("PATH", ""), "DATABASE_URL": env["DATABASE_URL"],
             "SECRET_KEY": "a-secret-from-the-environment"},
    )
    assert process.returncode == 2
    assert process.stderr.strip().splitlines() == [
        "Error: PROMPT_ENCRYPTION_KEYS must be set when the database is PostgreSQL (keys are "
        "generated only for the embedded SQLite database). Generate PROMPT_ENCRYPTION_KEYS: "
        "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
    ]


def test_an_invalid_prompt_key_is_refused_without_echoing_it(make_app, sqlite_database):
    good, bad = Fernet.generate_key().decode(), "not-a-fernet-key-but-a-secret"
    with pytest.raises(ConfigError) as caught:
        make_app({"DATABASE_URL": sqlite_database, "PROMPT_ENCRYPTION_KEYS": f"{good},{bad}"})
    message = caught.value.message
    assert message.startswith(
        "PROMPT_ENCRYPTION_KEYS: key 2 of 2 is not a valid Fernet key")
    assert bad not in message and good not in message


def test_a_lock_that_fails_leaves_no_transaction_open(bare_app, backend):
    """The PostgreSQL table lock failing (no table yet) must roll back, not leak a BEGIN."""
    import peewee as pw

    db = database_of(bare_app)
    runner.migrate(db, target="001", echo=lambda line: None)  # ai_prompts comes with 002
    with pytest.raises(pw.DatabaseError, match="ai_prompts"):
        with db.exclusive_transaction("ai_prompts"):
            AIPrompt.select().count()
    assert not db.in_transaction()
    db.close()  # peewee refuses this inside a transaction


def test_rotating_on_an_unmigrated_database_is_one_line(bare_app, backend):
    runner.migrate(database_of(bare_app), target="001", echo=lambda line: None)
    result = bare_app.test_cli_runner().invoke(args=["rotate-prompt-key"])
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 1
    missing = ('relation "ai_prompts" does not exist' if backend == "postgres"
               else "no such table: ai_prompts")
    lines = result.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: database "), result.output
    assert lines[0].endswith(f"{missing}: run `flask db migrate` first")
    assert database_of(bare_app).is_closed()
