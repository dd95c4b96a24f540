"""Every setting, read once from the environment (and `.env`), validated up front.

Nothing below this module reads `os.environ`: it receives a `Settings`.
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from dotenv import dotenv_values
from dotenv.parser import parse_stream

from deepref.exceptions import DeeprefError

SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
# The only query parameters DATABASE_URL may carry (cloud providers' URLs use them).
URL_PARAMETERS = ("sslmode", "sslrootcert")
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off", "")
DAY = 86400  # seconds: the longest a migration timeout may be
LOG_FORMATS = ("text", "json")


# The revisions that build the schema (tests point an app elsewhere).
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


class ConfigError(DeeprefError):
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

    def describe(self) -> str:
        """A one-line description safe to print: never the password."""
        if self.engine == "sqlite":
            return f"sqlite:///{self.name}"
        user = f"{self.user}@" if self.user else ""
        return f"postgresql://{user}{self.host or 'localhost'}:{self.port}/{self.name}"


@dataclass(frozen=True)
class ReplicaSettings:
    """Read replicas (DATABASE_REPLICA_URL) and when a read must go to the primary."""

    databases: tuple[DatabaseSettings, ...] = ()
    max_lag: float = 10.0  # seconds of replay lag beyond which a replica is skipped
    read_your_writes: float = 5.0  # seconds a user's reads stay on the primary after a write


@dataclass(frozen=True)
class MigrationSettings:
    """How patient a migration is with a live PostgreSQL database (seconds; 0: no limit)."""

    lock_timeout: float = 2.0
    statement_timeout: float = 10.0
    attempts: int = 5


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
    totp_required_for_admins: bool = False
    proxy_fix_hops: int = 0
    # Host names requests may carry (Host, or X-Forwarded-Host behind ProxyFix); () = any.
    trusted_hosts: tuple[str, ...] = ()
    # Where a KYC document's storage key opens, e.g. https://files.example.com/kyc/{key}.
    kyc_document_url: str | None = None
    # deepref's and gunicorn's log lines: "text" or "json" (one object per line).
    log_format: str = "text"
    migrations_dir: Path = MIGRATIONS_DIR
    migration: MigrationSettings = field(default_factory=lambda: MigrationSettings())
    # DATABASE_MIGRATION_URL: a direct connection for `flask db` and start-up migrations
    # when DATABASE_URL goes through a transaction pooler; None: DATABASE_URL itself.
    migration_database: DatabaseSettings | None = None
    replicas: ReplicaSettings = field(default_factory=lambda: ReplicaSettings())


def read_environment(env_file: str | os.PathLike | None = ".env") -> dict[str, str]:
    """The process environment over the values of `.env` (the environment wins)."""
    values = {}
    if env_file and Path(env_file).is_file():
        values.update(_dotenv(Path(env_file)))
    values.update(os.environ)
    return values


def _dotenv(path: Path) -> dict[str, str]:
    """`path`'s settings; a line python-dotenv cannot parse stops start-up.

    python-dotenv itself only warns and drops such a line, and a dropped DATABASE_URL
    would quietly mean the SQLite default. Lines are never shown: they may hold secrets.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path} cannot be read: {exc.strerror}.") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path} line {line} is not UTF-8 text: save the file as UTF-8.") from None
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            raise ConfigError(
                f"{path} line {binding.original.line} cannot be parsed: write NAME=value, "
                "and quote a value holding spaces, quotes or #."
            )
    values = dotenv_values(stream=io.StringIO(text))
    return {k: v for k, v in values.items() if v is not None}


def load_settings(env: dict[str, str], instance_path: str | os.PathLike) -> Settings:
    """Validate `env` into Settings, or raise ConfigError naming the bad variable."""
    if _bool(env, "DATABASE_SYNCHRONIZE", False):
        raise ConfigError(
            "DATABASE_SYNCHRONIZE=true is refused: the schema changes only through "
            "migrations (flask db migrate). Remove the variable or set it to false."
        )
    instance = Path(instance_path)
    database = _database(env, instance)
    return Settings(
        database=database,
        instance_path=instance,
        sql_logging=_bool(env, "DATABASE_LOGGING", False),
        migrations_run=_bool(env, "DATABASE_MIGRATIONS_RUN", False),
        secret_key=env.get("SECRET_KEY") or None,
        prompt_encryption_keys=tuple(
            k.strip() for k in env.get("PROMPT_ENCRYPTION_KEYS", "").split(",") if k.strip()
        ),
        session_cookie_secure=_bool(env, "SESSION_COOKIE_SECURE", False),
        totp_required_for_admins=_bool(env, "TOTP_REQUIRED_FOR_ADMINS", False),
        proxy_fix_hops=_int(env, "PROXY_FIX_HOPS", 0, minimum=0, maximum=10),
        trusted_hosts=_hosts(env, "TRUSTED_HOSTS"),
        kyc_document_url=_url_template(env, "KYC_DOCUMENT_URL"),
        log_format=log_format(env),
        migration=MigrationSettings(
            lock_timeout=_seconds(env, "MIGRATION_LOCK_TIMEOUT", 2.0, maximum=DAY),
            statement_timeout=_seconds(env, "MIGRATION_STATEMENT_TIMEOUT", 10.0, zero=True,
                                       maximum=DAY),
            attempts=_int(env, "MIGRATION_ATTEMPTS", 5, minimum=1, maximum=100),
        ),
        migration_database=_migration_database(env, database),
        replicas=_replicas(env, database),
    )


def log_format(env: dict[str, str]) -> str:
    """LOG_FORMAT: `text` (default) or `json` (gunicorn.conf.py reads it too)."""
    raw = env.get("LOG_FORMAT", "").strip()
    if raw.lower() not in ("", *LOG_FORMATS):
        raise ConfigError(f"LOG_FORMAT must be text or json, not {raw!r}.")
    return raw.lower() or "text"


def _migration_database(env: dict[str, str], main: DatabaseSettings) -> DatabaseSettings | None:
    url = env.get("DATABASE_MIGRATION_URL", "").strip()
    if not url:
        return None
    settings = _postgres_url(env, "DATABASE_MIGRATION_URL", url, main)
    # One connection does the run (plus the watcher's own, outside the pool).
    return dataclasses.replace(settings, pool_max=2, pool_min=0)


def _replicas(env: dict[str, str], main: DatabaseSettings) -> ReplicaSettings:
    urls = [u.strip() for u in env.get("DATABASE_REPLICA_URL", "").split(",") if u.strip()]
    return ReplicaSettings(
        databases=tuple(_postgres_url(env, "DATABASE_REPLICA_URL", url, main) for url in urls),
        max_lag=_seconds(env, "DATABASE_REPLICA_MAX_LAG", 10.0, maximum=DAY),
        read_your_writes=_seconds(env, "DATABASE_READ_YOUR_WRITES", 5.0, zero=True, maximum=DAY),
    )


def _postgres_url(env: dict[str, str], name: str, url: str,
                  main: DatabaseSettings) -> DatabaseSettings:
    """Another PostgreSQL URL beside DATABASE_URL (same pool sizes, same SSL settings
    unless its own query says otherwise); only next to a PostgreSQL DATABASE_URL."""
    if main.engine != "postgresql":
        raise ConfigError(f"{name} needs DATABASE_URL (or DATABASE_HOST) to be PostgreSQL: "
                          "SQLite has no server to reach another way.")
    pool = {"pool_max": main.pool_max, "pool_min": main.pool_min,
            "pool_timeout": main.pool_timeout}
    try:
        parts = _split_url(url)
        settings = _from_url(parts, _ssl(env, _url_parameters(parts)), pool)
    except ConfigError as exc:
        raise ConfigError(exc.message.replace("DATABASE_URL", name)) from None
    if settings.engine != "postgresql":
        raise ConfigError(f"{name} must be a postgresql:// URL.")
    return settings


_HOST = re.compile(r"^\.?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$|^\[[0-9a-f:.]+\]$")


def _hosts(env: dict[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated host names (a leading dot: that domain and its subdomains)."""
    hosts = tuple(h.strip().lower() for h in env.get(name, "").split(",") if h.strip())
    for host in hosts:
        if not _HOST.match(host):
            raise ConfigError(f"{name}: {host!r} is not a host name (write e.g. "
                              "admin.example.com,.example.org, without scheme or port).")
    return hosts


def _url_template(env: dict[str, str], name: str) -> str | None:
    """An http(s) URL containing {key}, where a storage key is put (URL-quoted)."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    parts = urlsplit(raw.replace("{key}", "k"))
    if raw.count("{key}") != 1 or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name} must be an http:// or https:// URL containing {{key}} once, "
                          "e.g. https://files.example.com/kyc/{key}.")
    return raw


def _database(env: dict[str, str], instance: Path) -> DatabaseSettings:
    pool = {
        "pool_max": _int(env, "DATABASE_POOL_MAX", 20, minimum=1),
        "pool_min": _int(env, "DATABASE_POOL_MIN", 5, minimum=0),
        "pool_timeout": _seconds(env, "DATABASE_POOL_TIMEOUT", 10.0),
    }
    if pool["pool_min"] > pool["pool_max"]:
        raise ConfigError(
            f"DATABASE_POOL_MIN ({pool['pool_min']}) must not exceed "
            f"DATABASE_POOL_MAX ({pool['pool_max']})."
        )
    # Every format is validated even when SQLite is chosen, so a typo never hides.
    port = _int(env, "DATABASE_PORT", 5432, minimum=1, maximum=65535)
    url = env.get("DATABASE_URL", "").strip()
    parts = _split_url(url) if url else None
    ssl = _ssl(env, _url_parameters(parts) if parts else {})
    if parts:
        return _from_url(parts, ssl, pool)
    if env.get("DATABASE_HOST") or env.get("DATABASE_NAME"):
        return DatabaseSettings(
            engine="postgresql",
            name=_required(env, "DATABASE_NAME"),
            host=env.get("DATABASE_HOST") or "localhost",
            port=port,
            user=env.get("DATABASE_USER") or None,
            password=env.get("DATABASE_PASSWORD") or None,
            **ssl,
            **pool,
        )
    return DatabaseSettings(engine="sqlite", name=str(instance / "deepref.sqlite3"), **pool)


_BAD_URL = (
    "DATABASE_URL is not a valid URL: expected postgresql://user:password@host:port/name "
    "(optionally ?sslmode=...&sslrootcert=...) or sqlite:///path/to/file."
)


def _split_url(url: str):
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a port that is not a number
    except ValueError:
        raise ConfigError(_BAD_URL) from None
    if parts.fragment:
        raise ConfigError(_BAD_URL)
    return parts


def _url_parameters(parts) -> dict[str, str]:
    """DATABASE_URL's query: sslmode and sslrootcert only, each at most once."""
    if not parts.query:
        return {}
    try:
        pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise ConfigError("DATABASE_URL: its query string is not name=value&name=value.") from None
    found: dict[str, str] = {}
    for name, value in pairs:
        if parts.scheme == "sqlite" or name not in URL_PARAMETERS:
            allowed = "none" if parts.scheme == "sqlite" else " and ".join(URL_PARAMETERS)
            raise ConfigError(
                f"DATABASE_URL: the query parameter {name!r} is not supported "
                f"(supported: {allowed})."
            )
        if name in found:
            raise ConfigError(f"DATABASE_URL: the query parameter {name!r} is given twice.")
        found[name] = value
    return found


def _from_url(parts, ssl: dict, pool: dict) -> DatabaseSettings:
    bad = ConfigError(_BAD_URL)
    port = parts.port
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


def _ssl(env: dict[str, str], url: dict[str, str]) -> dict:
    """sslmode and sslrootcert from DATABASE_SSL_MODE / _ROOT_CERT or DATABASE_URL's query.

    Given in both places they must agree (a conflict is refused, never settled
    silently); either one wins over DATABASE_SSL.
    """
    enabled = _bool(env, "DATABASE_SSL", False)
    mode = _one_of(env, url, "DATABASE_SSL_MODE", "sslmode", lower=True)
    if mode is not None and mode not in SSL_MODES:
        raise ConfigError(f"{_source(env, 'DATABASE_SSL_MODE', 'sslmode')} must be one of "
                          f"{', '.join(SSL_MODES)}.")
    if mode is None:
        # false means no SSL at all, not libpq's "prefer" (try SSL, fall back silently).
        mode = "require" if enabled else "disable"
    root_cert = _one_of(env, url, "DATABASE_SSL_ROOT_CERT", "sslrootcert")
    where = _source(env, "DATABASE_SSL_ROOT_CERT", "sslrootcert")
    if root_cert and not Path(root_cert).is_file():
        raise ConfigError(f"{where}: no readable file at {root_cert}.")
    if mode in ("verify-ca", "verify-full") and not root_cert:
        given = ("DATABASE_SSL_MODE=" + mode if env.get("DATABASE_SSL_MODE", "").strip()
                 else f"sslmode={mode} in DATABASE_URL")
        raise ConfigError(f"{given} needs DATABASE_SSL_ROOT_CERT or sslrootcert in "
                          "DATABASE_URL (the CA file).")
    return {"ssl_mode": mode, "ssl_root_cert": root_cert}


def _one_of(env, url, variable: str, parameter: str, lower: bool = False) -> str | None:
    """The value of `variable` or of DATABASE_URL's `parameter`; both given must agree."""
    values = [env.get(variable, "").strip(), url.get(parameter, "").strip()]
    if lower:
        values = [v.lower() for v in values]
    ours, theirs = values
    if ours and theirs and ours != theirs:
        raise ConfigError(
            f"{variable}={ours} and {parameter}={theirs} in DATABASE_URL disagree: "
            "give one of them (or the same value in both)."
        )
    return ours or theirs or None


def _source(env, variable: str, parameter: str) -> str:
    return variable if env.get(variable, "").strip() else f"{parameter} in DATABASE_URL"


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


def _seconds(env, name, default: float, zero: bool = False,
             maximum: float | None = None) -> float:
    """A number of seconds: more than 0 (or 0, "no limit", where `zero` allows it), finite,
    at most `maximum` when given."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, not {raw!r}.") from None
    low = value >= 0 if zero else value > 0
    high = value <= maximum if maximum is not None else value != float("inf")
    if value != value or not (low and high):
        if maximum is None:
            raise ConfigError(f"{name} must be a positive number of seconds, not {raw!r}.")
        allowed = "from 0 (no limit) to" if zero else "more than 0 and at most"
        raise ConfigError(f"{name} must be {allowed} {maximum:g} seconds, not {raw!r}.")
    return value
