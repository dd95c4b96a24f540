"""009_second_factor: two-factor sign-in to the console (issue 10, point 3).

- second_factors: at most one per user (unique user_id): the TOTP secret, encrypted with
  PROMPT_ENCRYPTION_KEYS (a Fernet token), when it was confirmed (NULL while enrolment
  waits for its first code), and the last time-step a code was accepted for, so a code
  is never accepted twice.
- recovery_codes: the hashes of a user's single-use recovery codes, and when each was used.

Both are new tables (nothing to lock, nothing to backfill); deleting a user deletes them.
Rollback drops both: everyone signs in with a password alone again.
"""

import peewee as pw

from deepref.models.base import foreign_key
from deepref.models.fields import CreatedAtField, EncryptedTextField, TimestampField, UUIDKeyField
from deepref.migrate.ops import declare_indexes

INDEXES = [
    ("second_factors", "uq_second_factors_user_id", ("user",), True, None),
    ("recovery_codes", "ix_recovery_codes_user_id", ("user",), False, None),
]


def migrate(migrator, database, *, fake=False):
    users = migrator.orm["users"]

    @migrator.create_model
    class SecondFactor(pw.Model):
        id = UUIDKeyField()
        user = foreign_key(users, "fk_second_factors_user_id", "CASCADE")
        secret = EncryptedTextField()
        confirmed_at = TimestampField(null=True)
        last_used_step = pw.BigIntegerField(null=True)
        created_at = CreatedAtField()

        class Meta:
            table_name = "second_factors"

    @migrator.create_model
    class RecoveryCode(pw.Model):
        id = UUIDKeyField()
        user = foreign_key(users, "fk_recovery_codes_user_id", "CASCADE")
        code_hash = pw.CharField(max_length=255)
        used_at = TimestampField(null=True)
        created_at = CreatedAtField()

        class Meta:
            table_name = "recovery_codes"

    declare_indexes(migrator, INDEXES)


def rollback(migrator, database, *, fake=False):
    migrator.remove_model("recovery_codes")
    migrator.remove_model("second_factors")
