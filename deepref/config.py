"""Every setting, read once from the environment (and `.env`), validated up front.

Nothing below this module reads `os.environ`: it receives a `Settings`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import click
from dotenv import dotenv_values

SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off", "")


class ConfigError(click.ClickException):
    """A setting is missing or invalid; the message names the variable, never a secret."""

    exit_code = 2


@dataclass(frozen=True)
class DatabaseSettings:
    """Where the database is and how to talk to it."""

    engine: str  # "postgresql" or "sqlite"
    name: str  # database name, or the SQLite file path
    host: str | None = None
    port: int = 5432
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    ssl_mode: str | None = None
    ssl_root_cert: str | None = None
    pool_max: int = 20
    pool_min: int = 5
    pool_timeout: float = 10.0

    @property
    def is_postgres(self) -> bool:
        return self.engine == "postgresql"

    def describe(self) -> str:
        """A one-line description safe to print: never the password."""
        if not self.is_postgres:
            return f"sqlite:///{self.name}"
        user = f"{self.user}@" if self.user else ""
        return f"postgresql://{user}{self.host or 'localhost'}:{self.port}/{self.name}"


@dataclass(frozen=True)
class Settings:
    """The application's settings."""

    database: DatabaseSettings
    instance_path: Path
    sql_logging: bool = False
    migrations_run: bool = False
    secret_key: str | None = field(default=None, repr=False)
    prompt_encryption_keys: tuple[str, ...] = field(default=(), repr=False)
    session_cookie_secure: bool = False
    proxy_fix_hops: int = 0


def read_environment(env_file: str | os.PathLike | None = ".env") -> dict[str, str]:
    """The process environment over the values of `.env` (the environment wins)."""
    values = {}
    if env_file and Path(env_file).is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ)
    return values


def load_settings(env: dict[str, str], instance_path: str | os.PathLike) -> Settings:
    """Validate `env` into Settings, or raise ConfigError naming the bad variable."""
    if _bool(env, "DATABASE_SYNCHRONIZE", False):
        raise ConfigError(
            "DATABASE_SYNCHRONIZE=true is refused: the schema changes only through "
            "migrations (flask db migrate). Remove the variable or set it to false."
        )
    instance = Path(instance_path)
    return Settings(
        database=_database(env, instance),
        instance_path=instance,
        sql_logging=_bool(env, "DATABASE_LOGGING", False),
        migrations_run=_bool(env, "DATABASE_MIGRATIONS_RUN", False),
        secret_key=env.get("SECRET_KEY") or None,
        prompt_encryption_keys=tuple(
            k.strip() for k in env.get("PROMPT_ENCRYPTION_KEYS", "").split(",") if k.strip()
        ),
        session_cookie_secure=_bool(env, "SESSION_COOKIE_SECURE", False),
        proxy_fix_hops=_int(env, "PROXY_FIX_HOPS", 0, minimum=0, maximum=10),
    )


def _database(env: dict[str, str], instance: Path) -> DatabaseSettings:
    pool = {
        "pool_max": _int(env, "DATABASE_POOL_MAX", 20, minimum=1),
        "pool_min": _int(env, "DATABASE_POOL_MIN", 5, minimum=0),
        "pool_timeout": _float(env, "DATABASE_POOL_TIMEOUT", 10.0),
    }
    if pool["pool_min"] > pool["pool_max"]:
        raise ConfigError(
            f"DATABASE_POOL_MIN ({pool['pool_min']}) must not exceed "
            f"DATABASE_POOL_MAX ({pool['pool_max']})."
        )
    ssl = _ssl(env)  # validated even when SQLite is chosen, so a typo never hides
    url = env.get("DATABASE_URL", "").strip()
    if url:
        return _from_url(url, ssl, pool)
    if env.get("DATABASE_HOST") or env.get("DATABASE_NAME"):
        return DatabaseSettings(
            engine="postgresql",
            name=_required(env, "DATABASE_NAME"),
            host=env.get("DATABASE_HOST") or "localhost",
            port=_int(env, "DATABASE_PORT", 5432, minimum=1, maximum=65535),
            user=env.get("DATABASE_USER") or None,
            password=env.get("DATABASE_PASSWORD") or None,
            **ssl,
            **pool,
        )
    return DatabaseSettings(engine="sqlite", name=str(instance / "deepref.sqlite3"), **pool)


def _from_url(url: str, ssl: dict, pool: dict) -> DatabaseSettings:
    bad = ConfigError(
        "DATABASE_URL is not a valid URL: expected postgresql://user:password@host:port/name "
        "or sqlite:///path/to/file."
    )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise bad from None
    if parts.scheme == "sqlite":
        path = unquote(parts.path)
        if parts.netloc or not path or path == "/":
            raise bad
        # sqlite:///relative.db -> "relative.db"; sqlite:////abs/x.db -> "/abs/x.db"
        return DatabaseSettings(engine="sqlite", name=path[1:], **pool)
    if parts.scheme not in ("postgresql", "postgres") or not parts.hostname:
        raise bad
    name = unquote(parts.path.lstrip("/"))
    if not name or "/" in name:
        raise bad
    return DatabaseSettings(
        engine="postgresql",
        name=name,
        host=parts.hostname,
        port=port or 5432,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        **ssl,
        **pool,
    )


def _ssl(env: dict[str, str]) -> dict:
    mode = env.get("DATABASE_SSL_MODE", "").strip().lower() or None
    if mode is not None and mode not in SSL_MODES:
        raise ConfigError(f"DATABASE_SSL_MODE must be one of {', '.join(SSL_MODES)}.")
    if mode is None:
        # false means no SSL at all, not libpq's "prefer" (try SSL, fall back silently).
        mode = "require" if _bool(env, "DATABASE_SSL", False) else "disable"
    root_cert = env.get("DATABASE_SSL_ROOT_CERT") or None
    if root_cert and not Path(root_cert).is_file():
        raise ConfigError(f"DATABASE_SSL_ROOT_CERT: no readable file at {root_cert}.")
    if mode in ("verify-ca", "verify-full") and not root_cert:
        raise ConfigError(f"DATABASE_SSL_MODE={mode} needs DATABASE_SSL_ROOT_CERT (the CA file).")
    return {"ssl_mode": mode, "ssl_root_cert": root_cert}


def _required(env: dict[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} must be set when DATABASE_HOST is set.")
    return value


def _bool(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}.")


def _int(env, name, default, minimum=None, maximum=None) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}.") from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        bounds = f"at least {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise ConfigError(f"{name} must be {bounds}, not {value}.")
    return value


def _float(env, name, default) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, not {raw!r}.") from None
    if not value > 0 or value == float("inf"):
        raise ConfigError(f"{name} must be a positive number of seconds, not {raw!r}.")
    return value
