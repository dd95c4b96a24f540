"""`flask seed-prompts` and `flask rotate-prompt-key`: the AI agents' prompts.

Exit codes: 0 success, 1 failure (nothing written), 2 bad usage.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from deepref import crypto, seeds
from deepref.cli.errors import command_errors
from deepref.models import AIPrompt, SecondFactor
from deepref.models.fields import EncryptedTextField

ORDER = (seeds.INSERTED, seeds.UPDATED, seeds.UNCHANGED, seeds.SKIPPED, seeds.CONFLICT)
DRY_WORDS = {seeds.INSERTED: "would insert", seeds.UPDATED: "would update"}


@click.command("seed-prompts")
@click.option("--update", is_flag=True,
              help="Also update agents whose seed version is newer than the stored one.")
@click.option("--force", is_flag=True,
              help="With --update: overwrite agents whose content differs at the same version.")
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@with_appcontext
@command_errors
def seed_prompts_command(update, force, dry_run):
    """Load the four AI agents from seeds/ into ai_prompts (idempotent)."""
    if force and not update:
        raise click.UsageError("--force only makes sense with --update")
    directory = Path(current_app.config.get("SEEDS_DIR", seeds.SEEDS_DIR))
    outcomes = seeds.seed_prompts(seeds.load_prompt_seeds(directory),
                                  update=update, force=force, dry_run=dry_run)
    for outcome in outcomes:
        word = DRY_WORDS.get(outcome.status, outcome.status) if dry_run else outcome.status
        click.echo(f"{word:<12} {outcome.seed.prompt_id}: {outcome.detail}")
    click.echo(_summary(outcomes, dry_run))


def _summary(outcomes, dry_run: bool) -> str:
    counts = {status: sum(o.status == status for o in outcomes) for status in ORDER}
    parts = [f"{n} {DRY_WORDS.get(s, s) if dry_run else s}" for s, n in counts.items() if n]
    text = f"{len(outcomes)} agent(s): {', '.join(parts)}."
    return f"Dry run, nothing written. {text}" if dry_run else text


@click.command("rotate-prompt-key")
@with_appcontext
@command_errors
def rotate_prompt_key_command():
    """Re-encrypt every system prompt with the first PROMPT_ENCRYPTION_KEYS key."""
    changed, total = reencrypt(AIPrompt.system_prompt)
    click.echo(f"Re-encrypted {changed} of {total} prompt(s) with the first key; "
               f"{total - changed} already used it.")
    factors, factor_total = reencrypt(SecondFactor.secret)  # the same keys protect these
    if factor_total:
        click.echo(f"Re-encrypted {factors} of {factor_total} second-factor secret(s).")
    if total:
        click.echo("Every prompt now uses the first key: older keys can be removed "
                   "from PROMPT_ENCRYPTION_KEYS.")



def reencrypt(field: EncryptedTextField) -> tuple[int, int]:
    """Re-encrypt every row's `field` with the first key, in one transaction.

    Returns (rows changed, rows in total). One undecryptable row aborts the whole
    run with PromptDecryptionError, leaving every row as it was.
    """
    model, current = field.model, crypto.cipher()
    pk = model._meta.primary_key
    label = getattr(model, field.label_field) if field.label_field else pk
    changed = total = 0
    with model._meta.database.exclusive_transaction(model._meta.table_name):
        rows = model.select(pk, label, field).order_by(label, pk).tuples()
        for key, name, sealed in list(rows):
            total += 1
            if sealed is None or current.is_current(sealed.token):
                continue
            token = current.rotate(sealed.token, str(name))
            model.update({field: crypto.Sealed(token)}).where(pk == key).execute()
            changed += 1
    return changed, total
