"""System prompts encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256, `cryptography`).

Keys come from PROMPT_ENCRYPTION_KEYS (resolved by deepref.keys): the first key
encrypts, every key decrypts (MultiFernet), so keys can be rotated.

Decryption is lazy. A row read from the database holds its column as a `Sealed`
token; only reading the model attribute (`prompt.system_prompt`) decrypts it. So
listing prompts, reading their other columns, or saving a prompt whose system prompt
was not touched never needs a key, and one undecryptable row fails only the code that
reads that row's system prompt, with a PromptDecryptionError naming its prompt_id.
Queries returning dicts or tuples yield `Sealed` values: call `.reveal(prompt_id)`.
An encrypted column cannot be searched or compared in SQL (each encryption differs).
"""

from __future__ import annotations

import contextlib
from typing import Sequence

import click
import peewee as pw
from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class PromptDecryptionError(click.ClickException):
    """A stored system prompt cannot be decrypted; names the prompt, never the key."""

    exit_code = 1

    def __init__(self, prompt_id: str):
        self.prompt_id = prompt_id
        super().__init__(
            f"the system prompt of {prompt_id} cannot be decrypted: it was encrypted with "
            "a key that is not in PROMPT_ENCRYPTION_KEYS, or the stored value was altered."
        )


class PromptCipher:
    """MultiFernet over the configured keys: the first encrypts, all decrypt."""

    def __init__(self, keys: Sequence[str | bytes]):
        if not keys:
            raise ValueError("at least one key is needed")
        fernets = [Fernet(key) for key in keys]
        self._primary = fernets[0]
        self._all = MultiFernet(fernets)

    def __repr__(self):
        return "<PromptCipher>"

    def encrypt(self, text: str) -> str:
        return self._all.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str, prompt_id: str) -> str:
        try:
            return self._all.decrypt(_bytes(token)).decode("utf-8")
        except (InvalidToken, UnicodeDecodeError):
            raise PromptDecryptionError(prompt_id) from None

    def is_current(self, token: str) -> bool:
        """True when `token` is already encrypted with the first key."""
        try:
            self._primary.decrypt(_bytes(token))
        except InvalidToken:
            return False
        return True

    def rotate(self, token: str, prompt_id: str) -> str:
        """`token` re-encrypted with the first key (its timestamp is kept)."""
        try:
            return self._all.rotate(_bytes(token)).decode("ascii")
        except InvalidToken:
            raise PromptDecryptionError(prompt_id) from None


def _bytes(token: str) -> bytes:
    try:
        return token.encode("ascii")
    except UnicodeEncodeError:  # not a Fernet token at all, e.g. plain text written by SQL
        return b"!"


_cipher: PromptCipher | None = None


def bind(cipher: PromptCipher) -> None:
    """Make `cipher` the one the models use (like db.bind: one per process, the last app wins)."""
    global _cipher
    _cipher = cipher


def cipher() -> PromptCipher:
    if _cipher is None:
        raise RuntimeError("prompt encryption is not configured: create the app first")
    return _cipher


class Sealed:
    """Ciphertext as read from the database; `reveal` decrypts it."""

    __slots__ = ("token",)

    def __init__(self, token: str):
        self.token = token

    def __eq__(self, other):
        return isinstance(other, Sealed) and other.token == self.token

    def __hash__(self):
        return hash(self.token)

    def __repr__(self):
        return "<Sealed ciphertext>"

    def reveal(self, prompt_id: str) -> str:
        return cipher().decrypt(self.token, prompt_id)


class _DecryptingAccessor(pw.FieldAccessor):
    def __get__(self, instance, instance_type=None):
        if instance is None:
            return self.field
        value = instance.__data__.get(self.name)
        if isinstance(value, Sealed):
            return value.reveal(self.field.label_of(instance))
        return value


class EncryptedTextField(pw.TextField):
    """A `text` column holding Fernet tokens; plain text through the model attribute.

    `label_field` names the column identifying a row in errors (e.g. "prompt_id").
    """

    accessor_class = _DecryptingAccessor

    def __init__(self, label_field: str | None = None, **kwargs):
        self.label_field = label_field
        super().__init__(**kwargs)

    def db_value(self, value):
        if value is None or isinstance(value, pw.Node):
            return value
        if isinstance(value, Sealed):  # unchanged since it was read: write it back as is
            return value.token
        return cipher().encrypt(str(value))

    def python_value(self, value):
        return None if value is None else Sealed(value)

    def label_of(self, instance) -> str:
        label = instance.__data__.get(self.label_field) if self.label_field else None
        if label:
            return str(label)
        pk = self.model._meta.primary_key
        return f"{self.model.__name__} {instance.__data__.get(pk.name) if pk else '?'}"


def exclusive_transaction(model):
    """A transaction that holds off other writers of `model`'s table until it ends."""
    from deepref.models.fields import is_postgres  # here: the models import this module

    db = model._meta.database
    if not is_postgres(db):
        return db.atomic(lock_type="IMMEDIATE")
    return _postgres_locked(db, model._meta.table_name)


@contextlib.contextmanager
def _postgres_locked(db, table):
    # The LOCK runs inside the transaction's `with`: if it fails (e.g. the table does
    # not exist yet), the transaction is rolled back and closed, never left open.
    with db.atomic() as txn:
        db.execute_sql(f'LOCK TABLE "{table}" IN SHARE ROW EXCLUSIVE MODE')
        yield txn


def reencrypt(field: EncryptedTextField) -> tuple[int, int]:
    """Re-encrypt every row's `field` with the first key, in one transaction.

    Returns (rows changed, rows in total). One undecryptable row aborts the whole
    run with PromptDecryptionError, leaving every row as it was.
    """
    model, current = field.model, cipher()
    pk = model._meta.primary_key
    label = getattr(model, field.label_field) if field.label_field else pk
    changed = total = 0
    with exclusive_transaction(model):
        rows = model.select(pk, label, field).order_by(label, pk).tuples()
        for key, name, sealed in list(rows):
            total += 1
            if sealed is None or current.is_current(sealed.token):
                continue
            token = current.rotate(sealed.token, str(name))
            model.update({field: Sealed(token)}).where(pk == key).execute()
            changed += 1
    return changed, total
