"""Flask's SECRET_KEY and the prompt encryption keys, resolved once at start-up.

With the embedded SQLite default and no key configured, a key is generated once into
the instance folder (mode 0600) and reused, so `make run` just works. With PostgreSQL
(a shared, deployed database) a missing key stops start-up: a generated key would
differ between machines and be lost with the container.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

from cryptography.fernet import Fernet
from flask import appcontext_pushed

from deepref import crypto
from deepref.config import ConfigError, Settings
from deepref.db import database

log = logging.getLogger(__name__)

SECRET_KEY_FILE = "secret_key"
PROMPT_KEY_FILE = "prompt_encryption_key"
HOW_TO_GENERATE = {
    "SECRET_KEY": "python -c 'import secrets; print(secrets.token_urlsafe(48))'",
    "PROMPT_ENCRYPTION_KEYS": (
        "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
    ),
}


def init_app(app) -> None:
    """Set app.config["SECRET_KEY"] and bind the prompt cipher, or raise ConfigError.

    Runs after deepref.db.init_app: whether keys may be generated depends on the database.
    """
    settings: Settings = app.config["DEEPREF"]
    secret = app.config.get("SECRET_KEY") or settings.secret_key
    prompt_keys = settings.prompt_encryption_keys
    if database.is_postgres:
        missing = [name for name, value in
                   (("SECRET_KEY", secret), ("PROMPT_ENCRYPTION_KEYS", prompt_keys)) if not value]
        if missing:
            hints = "; ".join(f"{name}: {HOW_TO_GENERATE[name]}" for name in missing)
            raise ConfigError(
                f"{' and '.join(missing)} must be set when the database is PostgreSQL "
                f"(keys are generated only for the embedded SQLite database). "
                f"Generate {hints}"
            )
    if not secret:
        secret = instance_key(settings.instance_path / SECRET_KEY_FILE, "SECRET_KEY",
                              lambda: secrets.token_urlsafe(48))
    if not prompt_keys:
        path = settings.instance_path / PROMPT_KEY_FILE
        prompt_keys = (instance_key(path, "PROMPT_ENCRYPTION_KEYS",
                                    lambda: Fernet.generate_key().decode()),)
        validate_fernet_keys(prompt_keys, f"the key file {path}")
    else:
        validate_fernet_keys(prompt_keys, "PROMPT_ENCRYPTION_KEYS")
    app.config["SECRET_KEY"] = secret
    cipher = crypto.PromptCipher(prompt_keys)
    crypto.bind(cipher)

    def use_this_cipher(sender, **extra):
        crypto.bind(cipher)

    appcontext_pushed.connect(use_this_cipher, app, weak=False)


def validate_fernet_keys(keys, source: str) -> None:
    """ConfigError naming `source` and the key's position (never the key) if one is invalid."""
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            where = f"key {position} of {len(keys)}" if len(keys) > 1 else "the key"
            raise ConfigError(
                f"{source}: {where} is not a valid Fernet key (32 random bytes, url-safe "
                f"base64: 44 characters); generate one with: "
                f"{HOW_TO_GENERATE['PROMPT_ENCRYPTION_KEYS']}"
            ) from None


def instance_key(path: Path, variable: str, generate) -> str:
    """The key stored at `path`, generating it (mode 0600) the first time."""
    existing = _read(path, variable)
    if existing is not None:
        return existing
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise ConfigError(f"{variable} is not set and no key file can be written at {path} "
                          f"({exc.strerror}): set {variable}.") from None
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(generate() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            # link, not rename: it fails if another process created the file first,
            # and readers never see a half-written key.
            os.link(temporary, path)
        except FileExistsError:
            return _read(path, variable)
    finally:
        temporary.unlink(missing_ok=True)
    log.warning(
        "%s is not set: generated a key into %s (mode 0600) for the embedded SQLite "
        "database. Keep that file, and back it up with the database; set %s explicitly "
        "for any shared deployment.", variable, path, variable,
    )
    return _read(path, variable)


def _read(path: Path, variable: str) -> str | None:
    try:
        text = path.read_text(encoding="ascii").strip()
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not a key file"
        raise ConfigError(f"{variable}: cannot read the key file {path}: {reason}.") from None
    if not text:
        raise ConfigError(
            f"{variable}: the key file {path} is empty: restore it from a backup, or "
            f"delete it to generate a new key (data encrypted with the old one is lost)."
        )
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("the key file %s can be read by other users: run chmod 600 on it", path)
    return text
