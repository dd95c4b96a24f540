"""The AI agents' seed data: load, validate, plan and apply; plain idempotent functions.

Each agent is one TOML file, `seeds/ai_prompts/<prompt_id>.toml`. Seeding never
downgrades a prompt, never touches `is_active` (an admin's choice), and runs in one
transaction that holds off other writers of `ai_prompts`: all of it or none of it.
"""

from __future__ import annotations

import json
import re
import string
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from deepref.crypto import PromptDecryptionError
from deepref.exceptions import DeeprefError
from deepref.models import AIPrompt

SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"
PROMPTS_SUBDIR = "ai_prompts"
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
PROMPT_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
PRIORITIES = ("low", "normal", "medium", "high", "critical")
PERMISSIONS = ("seeker", "referrer", "employer", "admin", "system")
LENGTHS = {"prompt_id": 100, "name": 200, "version": 20, "model_preference": 100}
TOP_KEYS = {"prompt_id", "name", "version", "model_preference", "metadata", "prompts"}
PROMPT_KEYS = {"system_prompt", "user_prompt_template"}

INSERTED, UPDATED, UNCHANGED, SKIPPED, CONFLICT = (
    "inserted", "updated", "unchanged", "skipped", "conflict")


class SeedError(DeeprefError):
    """Seed data is missing or invalid, or seeding cannot proceed; exit 1, nothing written."""


@dataclass(frozen=True)
class PromptSeed:
    prompt_id: str
    name: str
    version: str
    model_preference: str
    system_prompt: str = field(repr=False)
    user_prompt_template: str = field(repr=False)
    metadata: dict = field(repr=False)

    def columns(self) -> dict:
        """The ai_prompts columns this seed sets."""
        return {name: getattr(self, name) for name in (
            "prompt_id", "name", "version", "model_preference",
            "system_prompt", "user_prompt_template", "metadata")}


@dataclass(frozen=True)
class Outcome:
    """What seeding does (or did) to one agent, and why."""

    seed: PromptSeed
    status: str
    detail: str
    row: AIPrompt | None = field(default=None, repr=False)


def load_prompt_seeds(seeds_dir: str | Path = SEEDS_DIR) -> list[PromptSeed]:
    """Every agent under `seeds_dir`/ai_prompts, validated; SeedError on the first problem."""
    directory = Path(seeds_dir) / PROMPTS_SUBDIR
    paths = sorted(directory.glob("*.toml"))
    if not paths:
        raise SeedError(f"no seed files (*.toml) found in {directory}")
    return [parse_prompt_seed(path) for path in paths]


def parse_prompt_seed(path: Path) -> PromptSeed:
    """One agent's seed file, validated."""
    agent = path.stem
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SeedError(f"agent {agent}: cannot read {path}: {exc}") from None

    def fail(problem: str):
        raise SeedError(f"agent {agent}: {problem} (in {path})")

    if unknown := sorted(data.keys() - TOP_KEYS):
        fail(f"unknown key(s) {', '.join(unknown)}")
    values = {}
    for key, limit in LENGTHS.items():
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            fail(f"{key} must be a non-empty string")
        if len(value) > limit:
            fail(f"{key} is longer than {limit} characters")
        values[key] = value.strip()
    if values["prompt_id"] != agent:
        fail(f"prompt_id {values['prompt_id']!r} must match the file name ({agent}.toml)")
    if not PROMPT_ID.match(agent):
        fail("prompt_id may hold only lower-case letters, digits and hyphens")
    if not SEMVER.match(values["version"]):
        fail(f"version {values['version']!r} is not a semantic version like 1.0.0")
    prompts = data.get("prompts")
    if not isinstance(prompts, dict) or prompts.keys() != PROMPT_KEYS:
        fail("[prompts] must hold exactly system_prompt and user_prompt_template")
    for key in PROMPT_KEYS:
        if not isinstance(prompts[key], str) or not prompts[key].strip():
            fail(f"prompts.{key} must be a non-empty string")
    metadata = _metadata(data.get("metadata"), fail)
    template = prompts["user_prompt_template"].strip()
    used = template_placeholders(template, agent)
    declared = set(metadata["placeholders"])
    if used != declared:
        missing, undeclared = sorted(declared - used), sorted(used - declared)
        fail("user_prompt_template placeholders do not match metadata.placeholders: "
             + "; ".join(filter(None, [
                 missing and f"declared but unused: {', '.join(missing)}",
                 undeclared and f"used but not declared: {', '.join(undeclared)}"])))
    return PromptSeed(system_prompt=prompts["system_prompt"].strip(),
                      user_prompt_template=template, metadata=metadata, **values)


def _metadata(metadata, fail) -> dict:
    if not isinstance(metadata, dict):
        fail("[metadata] is missing")
    for key in ("role", "priority"):
        if not isinstance(metadata.get(key), str) or not metadata[key].strip():
            fail(f"metadata.{key} must be a non-empty string")
    for key in ("permissions", "features", "placeholders"):
        items = metadata.get(key)
        if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
            fail(f"metadata.{key} must be a non-empty list of strings")
    if metadata["priority"] not in PRIORITIES:
        fail(f"metadata.priority must be one of {', '.join(PRIORITIES)}")
    if bad := sorted(set(metadata["permissions"]) - set(PERMISSIONS)):
        fail(f"metadata.permissions: unknown {', '.join(bad)} (allowed: {', '.join(PERMISSIONS)})")
    try:
        return json.loads(json.dumps(metadata))
    except (TypeError, ValueError):
        fail("metadata must hold only strings, numbers, booleans, lists and tables")


def template_placeholders(template: str, agent: str) -> set[str]:
    """The named placeholders of a str.format template; SeedError naming `agent` if malformed."""
    names = set()
    try:
        for _, name, spec, conversion in string.Formatter().parse(template):
            if name is None:
                continue
            if not name.isidentifier() or spec or conversion:
                raise SeedError(
                    f"agent {agent}: user_prompt_template placeholder {{{name}"
                    f"{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}} "
                    f"is not allowed: use plain names like {{reference_text}}")
            names.add(name)
    except ValueError as exc:
        raise SeedError(f"agent {agent}: user_prompt_template is malformed: {exc} "
                        "(write {{ and }} for literal braces)") from None
    if not names:
        raise SeedError(f"agent {agent}: user_prompt_template has no placeholders")
    return names


def seed_prompts(seeds: list[PromptSeed], update=False, force=False, dry_run=False) -> list[Outcome]:
    """Plan and apply `seeds` in one transaction (nothing is written on --dry-run)."""
    with AIPrompt._meta.database.exclusive_transaction(AIPrompt._meta.table_name) as transaction:
        outcomes = plan(seeds, update=update, force=force)
        if dry_run:
            transaction.rollback()
        else:
            apply(outcomes)
    return outcomes


def plan(seeds: list[PromptSeed], update=False, force=False) -> list[Outcome]:
    """What seeding would do to each agent; reads, never writes."""
    ids = [seed.prompt_id for seed in seeds]
    rows = {row.prompt_id: row for row in AIPrompt.select().where(AIPrompt.prompt_id.in_(ids))}
    outcomes = []
    for seed in seeds:
        row = rows.get(seed.prompt_id)
        if row is None:
            outcomes.append(Outcome(seed, INSERTED, f"version {seed.version}"))
        else:
            status, detail = _compare(seed, row, update, force)
            outcomes.append(Outcome(seed, status, detail, row))
    return outcomes


def _compare(seed: PromptSeed, row: AIPrompt, update: bool, force: bool) -> tuple[str, str]:
    stored, wanted = _semver(row.version), _semver(seed.version)
    if stored is None:
        why = f"stored version {row.version!r} is not a semantic version"
        if not update:
            return SKIPPED, why
        return (UPDATED, f"{why}; replaced by {seed.version} (--force)") if force else (
            CONFLICT, f"{why}; left alone (--force replaces it with {seed.version})")
    if stored > wanted:
        return SKIPPED, (f"stored version {row.version} is newer than the seed's "
                         f"{seed.version}: never downgraded")
    if stored < wanted:
        if not update:
            return SKIPPED, f"seed has {seed.version}, stored {row.version}: run with --update"
        return UPDATED, f"{row.version} -> {seed.version}"
    try:
        same = _same_content(seed, row)
    except PromptDecryptionError as exc:
        if not (update and force):
            raise SeedError(f"{exc.message} Nothing was written; `flask seed-prompts "
                            "--update --force` would overwrite it from the seed.") from None
        return UPDATED, f"undecryptable stored prompt replaced, version {seed.version} (--force)"
    if same:
        return UNCHANGED, f"version {seed.version}"
    why = f"same version {seed.version} but different content"
    if not update:
        return SKIPPED, f"{why} (--update --force overwrites it)"
    if force:
        return UPDATED, f"{why}; overwritten (--force)"
    return CONFLICT, f"{why}; left alone (--force overwrites it)"


def _same_content(seed: PromptSeed, row: AIPrompt) -> bool:
    """Compare cheap columns first: the system prompt is decrypted only if they agree."""
    cheap = ("name", "model_preference", "user_prompt_template", "metadata")
    if any(getattr(seed, name) != getattr(row, name) for name in cheap):
        return False
    return seed.system_prompt == row.system_prompt


def _semver(version: str) -> tuple[int, int, int] | None:
    match = SEMVER.match(version.strip())
    return tuple(int(part) for part in match.groups()) if match else None


def apply(outcomes: list[Outcome]) -> None:
    """Write the planned inserts and updates (call inside a transaction)."""
    for outcome in outcomes:
        if outcome.status == INSERTED:
            AIPrompt.create(**outcome.seed.columns())
        elif outcome.status == UPDATED:
            AIPrompt.update(**outcome.seed.columns()).where(AIPrompt.id == outcome.row.id).execute()
