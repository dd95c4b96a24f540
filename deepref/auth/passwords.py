"""Password hashing (werkzeug's scrypt) and the rules for admin credentials."""

from __future__ import annotations

import functools
import re
import secrets

from werkzeug.security import check_password_hash, generate_password_hash

MIN_LENGTH = 12
MAX_LENGTH = 1024  # long enough for any passphrase, short enough not to be a DoS
EMAIL_MAX_LENGTH = 255
# A practical shape check (the address is typed by an operator, not a stranger):
# one @, no spaces, a dot in the domain.
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def hash_password(password: str) -> str:
    """A salted scrypt hash of `password` (werkzeug's default method)."""
    return generate_password_hash(password)


@functools.cache
def _dummy_hash() -> str:
    # Same method and cost as real hashes, so checking it takes as long.
    return generate_password_hash(secrets.token_urlsafe(16))


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True if `password` matches; always does a full hash check, even with no hash.

    Unknown emails and users without a password are checked against a dummy hash, so
    the response time does not tell whether an account exists.
    """
    if not stored_hash or len(password) > MAX_LENGTH:
        check_password_hash(_dummy_hash(), password)
        return False
    try:
        return check_password_hash(stored_hash, password)
    except ValueError:  # a malformed stored hash: no password can match it
        check_password_hash(_dummy_hash(), password)
        return False


def password_problem(password: str) -> str | None:
    """Why `password` is not acceptable for an admin, or None."""
    if len(password) < MIN_LENGTH:
        return f"the password must be at least {MIN_LENGTH} characters long"
    if len(password) > MAX_LENGTH:
        return f"the password must be at most {MAX_LENGTH} characters long"
    if password != password.strip():
        return "the password must not start or end with spaces"
    return None


def normalise_email(email: str) -> str:
    """The email as stored: trimmed and lower-case."""
    return (email or "").strip().lower()


def email_problem(email: str) -> str | None:
    """Why `email` (already normalised) is not a usable address, or None."""
    if not email:
        return "the email address is empty"
    if len(email) > EMAIL_MAX_LENGTH:
        return f"the email address is longer than {EMAIL_MAX_LENGTH} characters"
    if not EMAIL_PATTERN.match(email):
        return f"{email!r} is not a valid email address"
    return None


def random_password() -> str:
    """A random password for a generated account (24 url-safe characters)."""
    return secrets.token_urlsafe(18)
