"""What a single typed value must be, checked before it reaches the database.

Each check gives a sentence for the form (or the filter) instead of letting the
database, the driver or Python's parser fail on the value later with a 500.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from urllib.parse import urlsplit

import peewee as pw
from email_validator import EmailNotValidError, validate_email
from wtforms.validators import ValidationError

UTC = dt.timezone.utc

NUL_MESSAGE = "This contains a NUL character, which cannot be stored. Remove it and try again."
EARLIEST_YEAR = 1900  # SQLite stores the text of a timestamp: years below 1000 break it
MAX_JSON_BYTES = 100_000
MAX_JSON_DEPTH = 32
MAX_JSON_DIGITS = 100
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f]")


DATETIME_HINT = "a date and time in UTC, as YYYY-MM-DD HH:MM[:SS] (or just YYYY-MM-DD)"


def parse_utc(text: str) -> dt.datetime:
    """A typed or submitted date and time, read as UTC (an explicit offset is converted).

    Takes what a datetime-local input sends (2027-06-30T09:15[:30]), the same with a
    space, a bare date (midnight), and a trailing Z or UTC. ValueError with a sentence
    otherwise, including years before EARLIEST_YEAR.
    """
    cleaned = " ".join(text.split())
    if cleaned.upper().endswith(" UTC"):
        cleaned = cleaned[:-4]
    try:
        value = dt.datetime.fromisoformat(cleaned.replace("z", "Z"))
    except ValueError:
        raise ValueError(f"Enter {DATETIME_HINT}.") from None
    if value.year < EARLIEST_YEAR:
        raise ValueError(f"Enter a date from the year {EARLIEST_YEAR} onwards.")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def integer_bounds(field) -> tuple[int, int]:
    """The values an integer column can hold (PostgreSQL's smallint, integer or bigint)."""
    if isinstance(field, pw.BigIntegerField):
        return -(2**63), 2**63 - 1
    if isinstance(field, pw.SmallIntegerField):
        return -(2**15), 2**15 - 1
    return -(2**31), 2**31 - 1


# -- JSON objects -----------------------------------------------------------------------

class _Refused(ValueError):
    """A JSON value the parser accepts but the database cannot store."""


def _constant(name: str):
    raise _Refused(f"{name} is not a JSON value")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"the number {text[:20]}… is too large")
    return value


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_JSON_DIGITS:
        raise _Refused(f"a number has more than {MAX_JSON_DIGITS} digits")
    return int(text)


def parse_json_object(text: str) -> dict:
    """The JSON object `text` holds; ValueError with a sentence for the form otherwise."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_JSON_BYTES:
        raise ValueError(f"This JSON is too large: at most {MAX_JSON_BYTES // 1000} KB.")
    try:
        value = json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except _Refused as exc:
        raise ValueError(f"This is not valid JSON: {exc}.") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"This is not valid JSON ({exc.msg} at line {exc.lineno}).") from None
    except RecursionError:
        raise ValueError(_too_deep()) from None
    if not isinstance(value, dict):
        raise ValueError('This must be a JSON object, e.g. {"key": "value"}.')
    _check_json(value)
    return value


def _too_deep() -> str:
    return f"This JSON is nested too deeply: at most {MAX_JSON_DEPTH} levels."


def _check_json(value) -> None:
    """Depth, and text PostgreSQL's jsonb refuses (\\u0000, unpaired surrogates)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)) and depth > MAX_JSON_DEPTH:
            raise ValueError(_too_deep())
        if isinstance(item, dict):
            for key, inner in item.items():
                _check_json_text(key)
                stack.append((inner, depth + 1))
        elif isinstance(item, list):
            stack.extend((inner, depth + 1) for inner in item)
        elif isinstance(item, str):
            _check_json_text(item)


def _check_json_text(text: str) -> None:
    if "\x00" in text:
        raise ValueError("This JSON contains \\u0000 (a NUL character), which cannot be stored.")
    if _SURROGATE.search(text):
        raise ValueError("This JSON contains an unpaired \\ud800-\\udfff escape, which is not text.")


# -- validators -------------------------------------------------------------------------

class EmailAddress:
    """A syntactically valid email address (no DNS lookups)."""

    def __call__(self, form, field):
        if not field.data:
            return
        try:
            validate_email(field.data, check_deliverability=False)
        except EmailNotValidError as exc:
            raise ValidationError(f"Enter a valid email address: {exc}") from None


class HttpUrl:
    """An http:// or https:// address with a host: never javascript:, data:, file: ..."""

    message = "Enter a web address starting with https:// or http://, e.g. https://example.com/a.mp4."

    def __call__(self, form, field):
        value = field.data
        if not value:
            return
        if any(c.isspace() for c in value) or _CONTROL.search(value):
            raise ValidationError("A web address cannot contain spaces or control characters.")
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - raises ValueError for a port out of range
        except ValueError:
            raise ValidationError(self.message) from None
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValidationError(self.message)


class StorageKey:
    """A relative storage key such as kyc/<user>/passport.png: no way out of its folder."""

    def __call__(self, form, field):
        value = field.data
        if not value:
            return
        if _CONTROL.search(value):
            raise ValidationError("A storage key cannot contain control characters.")
        if "\\" in value:
            raise ValidationError("Use / between folders, not \\.")
        if value.startswith("/"):
            raise ValidationError("Enter a storage key relative to the store, "
                                  "e.g. kyc/1234/passport.png (not starting with /).")
        if any(part in ("", ".", "..") for part in value.split("/")):
            raise ValidationError("A storage key cannot contain '..' or '.' segments, "
                                  "nor empty ones (// or a trailing /).")
