"""The second factor: an authenticator app's time-based codes (TOTP, RFC 6238, by pyotp)
and single-use recovery codes.

- Enrolment is two steps: `start_enrolment` stores a new secret (encrypted, like system
  prompts) that does not count yet; `confirm_enrolment` with a first valid code makes it
  count and returns the recovery codes, shown once. Until then sign-in is unchanged.
- A code is accepted for the current 30-second step or one step either side (clock
  drift), and only for a step later than the last one accepted: the row is updated only
  if its `last_used_step` is still older, so a replayed code fails even when two
  requests race.
- Recovery codes are random (about 49 bits), stored hashed with werkzeug's hasher
  (pbkdf2: a memory-hard hash buys nothing for random codes, and there are ten to check),
  and each is marked used by a conditional update: usable once.
Enrolment, removal and reset are written to the audit log as an "update" of the user
(field `second_factor`), since the log's action CHECK allows only create/update/delete/bulk.
"""

from __future__ import annotations

import logging
import re
import secrets

import pyotp
import segno

from deepref.exceptions import DeeprefError
from deepref.models import AuditLog, RecoveryCode, SecondFactor, User
from deepref.models.fields import utcnow
from werkzeug.security import check_password_hash, generate_password_hash

log = logging.getLogger(__name__)

ISSUER = "deepref admin"
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper
RECOVERY_LENGTH = 10
RECOVERY_HASH = "pbkdf2:sha256:100000"
DRIFT_STEPS = 1
CODE_PATTERN = re.compile(r"^\d{6}$")
ENROLLED, NONE = "enrolled", "none"


def enrolled_factor(user) -> SecondFactor | None:
    """The user's confirmed second factor, or None."""
    return (SecondFactor.select()
            .where((SecondFactor.user == user.id) & SecondFactor.confirmed_at.is_null(False))
            .first())


def is_enrolled(user) -> bool:
    return enrolled_factor(user) is not None


def must_enrol(user, required_for_admins: bool) -> bool:
    """Does TOTP_REQUIRED_FOR_ADMINS keep `user` out of the console until they enrol?"""
    return bool(required_for_admins and user.is_console_admin and not is_enrolled(user))


def start_enrolment(user) -> SecondFactor:
    """A secret waiting for its first code (the same one again if one is waiting already).

    Raises AlreadyEnrolled if the user has a confirmed factor: remove it first.
    """
    with SecondFactor._meta.database.write_transaction():
        factor = SecondFactor.get_or_none(SecondFactor.user == user.id)
        if factor is not None and factor.confirmed_at is not None:
            raise AlreadyEnrolled("a second factor is already set up: remove it first")
        if factor is None:
            factor = SecondFactor.create(user=user.id, secret=pyotp.random_base32())
        return factor


class AlreadyEnrolled(Exception):
    """start_enrolment on a user who has a confirmed second factor."""


def provisioning_uri(factor: SecondFactor, user) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(factor.secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The QR code of `uri` as an inline SVG element (drawn here: no external service)."""
    return segno.make(uri, error="m").svg_inline(scale=5, title="QR code for an authenticator app")


def confirm_enrolment(user, code: str, actor=None) -> list[str] | None:
    """Make the waiting secret count if `code` is valid for it; the new recovery codes
    (to show once), or None if the code is wrong or nothing is waiting."""
    factor = (SecondFactor.select()
              .where((SecondFactor.user == user.id) & SecondFactor.confirmed_at.is_null())
              .first())
    if factor is None or not _accept_totp(factor, code):
        return None
    with SecondFactor._meta.database.write_transaction():
        if not (SecondFactor.update(confirmed_at=utcnow())
                .where((SecondFactor.id == factor.id) & SecondFactor.confirmed_at.is_null())
                .execute()):
            return None  # confirmed meanwhile by another request, which showed the codes
        codes = new_recovery_codes(user)
        _audit(user, NONE, ENROLLED, actor or user)
    return codes


def check_code(user, code: str) -> bool:
    """True if `code` is a fresh authenticator code or an unused recovery code of `user`
    (which is then used up)."""
    code = normalise(code)
    factor = enrolled_factor(user)
    if factor is None or not code:
        return False
    if CODE_PATTERN.match(code):
        return _accept_totp(factor, code)
    return _use_recovery_code(user, code)


def normalise(code: str) -> str:
    """What was typed, without spaces or dashes, lower-case (codes are read off paper)."""
    return re.sub(r"[\s-]", "", code or "").lower()[:64]


def remove(user, actor=None) -> bool:
    """Remove the user's second factor and recovery codes; False if there was none."""
    with SecondFactor._meta.database.write_transaction():
        had = is_enrolled(user)
        SecondFactor.delete().where(SecondFactor.user == user.id).execute()
        RecoveryCode.delete().where(RecoveryCode.user == user.id).execute()
        if had:
            _audit(user, ENROLLED, NONE, actor)
    return had


def remaining_recovery_codes(user) -> int:
    return (RecoveryCode.select()
            .where((RecoveryCode.user == user.id) & RecoveryCode.used_at.is_null()).count())


def _accept_totp(factor: SecondFactor, code: str) -> bool:
    code = normalise(code)
    if not CODE_PATTERN.match(code):
        return False
    try:
        totp = pyotp.TOTP(factor.secret)
    except DeeprefError as exc:  # its key left PROMPT_ENCRYPTION_KEYS: no code can match
        log.error("second factor of user %s: %s", factor.user_id, exc)
        return False
    now = totp.timecode(utcnow())
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if totp.verify(code, for_time=step * totp.interval):
            fresh = (SecondFactor.last_used_step.is_null()) | (SecondFactor.last_used_step < step)
            return bool(SecondFactor.update(last_used_step=step)
                        .where((SecondFactor.id == factor.id) & fresh).execute())
    return False


def new_recovery_codes(user) -> list[str]:
    """Replace the user's recovery codes with RECOVERY_CODES new ones; the codes, shown once."""
    RecoveryCode.delete().where(RecoveryCode.user == user.id).execute()
    codes = ["".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
             for _ in range(RECOVERY_CODES)]
    RecoveryCode.insert_many(
        [{"user": user.id, "code_hash": generate_password_hash(code, RECOVERY_HASH)}
         for code in codes]).execute()
    half = RECOVERY_LENGTH // 2
    return [f"{code[:half]}-{code[half:]}" for code in codes]


def _use_recovery_code(user, code: str) -> bool:
    unused = (RecoveryCode.select()
              .where((RecoveryCode.user == user.id) & RecoveryCode.used_at.is_null()))
    for row in unused:
        if check_password_hash(row.code_hash, code):
            return bool(RecoveryCode.update(used_at=utcnow())
                        .where((RecoveryCode.id == row.id) & RecoveryCode.used_at.is_null())
                        .execute())
    return False


def _audit(user, before: str, after: str, actor) -> None:
    AuditLog.create(user=actor.id if actor is not None else None,
                    actor_email=actor.email if actor is not None else None,
                    action="update", table_name=User._meta.table_name, row_id=str(user.id),
                    changes={"second_factor": [before, after]})


def reset(email: str) -> tuple[bool, int] | None:
    """`flask create-admin EMAIL --reset-second-factor`: remove the second factor of
    `email` and end their sessions (a lost phone may be a stolen one); (had one, sessions
    ended), or None for no such user."""
    from deepref.auth.session import end_sessions

    user = User.get_or_none(User.email == email)
    if user is None:
        return None
    with User._meta.database.write_transaction():
        had = remove(user, actor=None)
        ended = end_sessions(user.id) if had else 0
    return had, ended
