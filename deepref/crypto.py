"""System prompts encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256, `cryptography`).

A leaf: the cipher and its keys, nothing else (the column type that uses it is
deepref.models.fields.EncryptedTextField). Keys come from PROMPT_ENCRYPTION_KEYS
(resolved by deepref.keys): the first key encrypts, every key decrypts (MultiFernet),
so keys can be rotated.

Decryption is lazy. A row read from the database holds its column as a `Sealed`
token; only reading the model attribute (`prompt.system_prompt`) decrypts it. So
listing prompts, reading their other columns, or saving a prompt whose system prompt
was not touched never needs a key, and one undecryptable row fails only the code that
reads that row's system prompt, with a PromptDecryptionError naming its prompt_id.
Queries returning dicts or tuples yield `Sealed` values: call `.reveal(prompt_id)`.
An encrypted column cannot be searched or compared in SQL (each encryption differs).
"""

from __future__ import annotations

from typing import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from deepref.exceptions import DeeprefError


class PromptDecryptionError(DeeprefError):
    """A stored system prompt cannot be decrypted; names the prompt, never the key."""

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
