"""Database errors as plain sentences, pinned to the form field they concern.

The raw message (SQL, constraint names, values) is logged, never shown.
"""

from __future__ import annotations

import logging
import re

import peewee as pw

from deepref.db import failures

log = logging.getLogger(__name__)

# Unique constraints: constraint name / "table.column" -> (field, sentence).
UNIQUE = {
    "uq_users_email": ("email", "Another user already has this email address."),
    "users.email": ("email", "Another user already has this email address."),
    "uq_bundles_share_token": ("share_token", "Another bundle already uses this share token."),
    "bundles.share_token": ("share_token", "Another bundle already uses this share token."),
    "uq_ai_prompts_prompt_id": ("prompt_id", "Another prompt already has this prompt ID."),
    "ai_prompts.prompt_id": ("prompt_id", "Another prompt already has this prompt ID."),
    "bundle_references_pkey": ("reference_links", "A reference can be in a bundle only once."),
    "bundle_references.bundle_id": ("reference_links", "A reference can be in a bundle only once."),
}


class FriendlyError(Exception):
    """A refusal to show as is: `message`, on `field` when there is one."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def explain(exc: Exception, table: str, fields: set[str]) -> FriendlyError:
    """Translate a database exception into a FriendlyError (logging the raw one)."""
    if isinstance(exc, FriendlyError):
        return exc
    raw = str(exc)
    failure = failures.classify(exc)
    log.warning("database refused a change to %s: %s", table, failure.detail if failure else exc)
    if isinstance(exc, pw.IntegrityError):
        return _integrity(raw, table, fields)
    kind = failure.kind if failure else None
    if kind == failures.POOL_EXHAUSTED:
        return FriendlyError("The server is busy. Nothing was saved; please try again in a moment.")
    if kind == failures.BUSY:
        return FriendlyError("The database is busy. Nothing was saved; please try again in a moment.")
    if kind in (failures.UNREACHABLE, failures.SERVER_FULL):
        # The connection may have dropped during COMMIT: the outcome is then unknown.
        return FriendlyError(
            "The connection to the database failed, so this change may not have been saved. "
            "Reload the record to check before trying again."
        )
    if isinstance(exc, pw.DataError):
        return FriendlyError("A value is too long or not in the expected format. Nothing was saved.")
    return FriendlyError("The database refused this change. Nothing was saved.")


def _integrity(raw: str, table: str, fields: set[str]) -> FriendlyError:
    lowered = raw.lower()
    for key, (field, sentence) in UNIQUE.items():
        if key in lowered:
            return FriendlyError(sentence, field if field in fields else None)
    check = re.search(r"\bck_(\w+)", lowered)
    if check:
        name = check.group(1)
        prefix = f"{table}_"
        column = name[len(prefix):] if name.startswith(prefix) else name
        if column in fields:
            return FriendlyError("This value is outside the allowed range.", column)
        return FriendlyError("These values break one of the table's rules. Nothing was saved.")
    if "foreign key" in lowered or "fk_" in lowered:
        return FriendlyError(
            "This change refers to a row that no longer exists, or other rows still refer "
            "to this one. Nothing was saved."
        )
    if "not null" in lowered or "null value" in lowered:
        column = re.search(r'column "?(\w+)"?|\.(\w+)$', raw)
        name = column and (column.group(1) or column.group(2))
        return FriendlyError("This field is required.", name if name in fields else None)
    return FriendlyError("The database refused this change. Nothing was saved.")
