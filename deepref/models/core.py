"""Users, references, bundles and KYC documents (revision 001_initial_schema)."""

from __future__ import annotations

import secrets

import peewee as pw

from deepref.models.base import BaseModel, check, foreign_key, one_of
from deepref.models.fields import (
    CreatedAtField,
    JSONObjectField,
    TimestampField,
    UUIDKeyField,
    choice_field,
    flag_field,
    server_default,
)

USER_ROLES = ("seeker", "referrer", "employer", "admin")
KYC_STATUSES = ("pending", "submitted", "verified", "rejected")
REFERENCE_FORMATS = ("text", "video", "audio")
REFERENCE_STATUSES = ("pending", "submitted", "verified", "rejected", "expired")
DOCUMENT_TYPES = ("passport", "drivers_license", "national_id", "selfie", "proof_of_address")
DOCUMENT_STATUSES = ("pending", "verified", "rejected")


def new_share_token() -> str:
    """A random, unguessable token for a bundle's share link."""
    return secrets.token_urlsafe(32)


class User(BaseModel):
    id = UUIDKeyField()
    email = pw.CharField(max_length=255)
    password_hash = pw.CharField(max_length=255, null=True)
    first_name = pw.CharField(max_length=100, null=True)
    last_name = pw.CharField(max_length=100, null=True)
    role = choice_field(20, "seeker")
    kyc_status = choice_field(20, "pending")
    email_verified = flag_field(False)
    is_active = flag_field(True)
    last_login_at = TimestampField(null=True)
    created_at = CreatedAtField()
    updated_at = CreatedAtField()

    class Meta:
        table_name = "users"
        constraints = [
            check("ck_users_email_lower", "email = lower(email)"),
            check("ck_users_role", one_of("role", USER_ROLES)),
            check("ck_users_kyc_status", one_of("kyc_status", KYC_STATUSES)),
        ]

    def save(self, *args, **kwargs):
        if self.email:
            self.email = self.email.strip().lower()
        return super().save(*args, **kwargs)

    def __str__(self):
        return self.email

    @property
    def can_sign_in(self) -> bool:
        """May this user use the admin console (given the right password)?"""
        return bool(self.is_active and self.role == "admin" and self.password_hash)

    @property
    def is_console_admin(self) -> bool:
        """Is this user an admin of the console (TOTP_REQUIRED_FOR_ADMINS applies)?"""
        return self.role == "admin"

    @classmethod
    def who_can_sign_in(cls) -> pw.Expression:
        """`can_sign_in` as a condition on the users table."""
        return (cls.is_active == True) & (cls.role == "admin") & cls.password_hash.is_null(False)  # noqa: E712


class Reference(BaseModel):
    id = UUIDKeyField()
    seeker = foreign_key(User, "fk_references_seeker_id", "CASCADE", backref="references_sought")
    referrer = foreign_key(User, "fk_references_referrer_id", "SET NULL", backref="references_given", null=True)
    referrer_name = pw.CharField(max_length=200)
    referrer_email = pw.CharField(max_length=255)
    company = pw.CharField(max_length=200)
    role = pw.CharField(max_length=200)
    relationship = pw.CharField(max_length=100, null=True)
    format = choice_field(20, "text")
    status = choice_field(20, "pending")
    content = pw.TextField(null=True)
    media_url = pw.CharField(max_length=500, null=True)
    responses = JSONObjectField()
    rcs_score = pw.DecimalField(max_digits=5, decimal_places=2, null=True, auto_round=True)
    expiry_date = TimestampField(null=True)
    submitted_at = TimestampField(null=True)
    created_at = CreatedAtField()
    updated_at = CreatedAtField()

    class Meta:
        table_name = "references"
        constraints = [
            check("ck_references_format", one_of("format", REFERENCE_FORMATS)),
            check("ck_references_status", one_of("status", REFERENCE_STATUSES)),
            check("ck_references_rcs_score", "rcs_score >= 0 AND rcs_score <= 100"),
        ]

    def __str__(self):
        return f"{self.referrer_name} ({self.company})"


class Bundle(BaseModel):
    id = UUIDKeyField()
    seeker = foreign_key(User, "fk_bundles_seeker_id", "CASCADE", backref="bundles")
    title = pw.CharField(max_length=200)
    description = pw.TextField(null=True)
    share_token = pw.CharField(max_length=64, default=new_share_token)
    aggregated_rcs = pw.DecimalField(max_digits=5, decimal_places=2, null=True, auto_round=True)
    view_count = pw.IntegerField(default=0, constraints=server_default("0"))
    is_active = flag_field(True)
    expiry_date = TimestampField(null=True)
    created_at = CreatedAtField()
    updated_at = CreatedAtField()

    class Meta:
        table_name = "bundles"
        constraints = [
            check("ck_bundles_aggregated_rcs", "aggregated_rcs >= 0 AND aggregated_rcs <= 100"),
            check("ck_bundles_view_count", "view_count >= 0"),
        ]

    def __str__(self):
        return self.title


class BundleReference(BaseModel):
    bundle = foreign_key(Bundle, "fk_bundle_references_bundle_id", "CASCADE", backref="links")
    reference = foreign_key(Reference, "fk_bundle_references_reference_id", "CASCADE", backref="bundle_links")
    position = pw.IntegerField(default=0, constraints=server_default("0"))
    added_at = CreatedAtField()

    class Meta:
        table_name = "bundle_references"
        primary_key = pw.CompositeKey("bundle", "reference")


class KYCDocument(BaseModel):
    id = UUIDKeyField()
    user = foreign_key(User, "fk_kyc_documents_user_id", "CASCADE", backref="kyc_documents")
    document_type = choice_field(30)
    status = choice_field(20, "pending")
    file_path = pw.CharField(max_length=500)
    metadata = JSONObjectField()
    rejection_reason = pw.TextField(null=True)
    reviewed_by = foreign_key(User, "fk_kyc_documents_reviewed_by_id", "NO ACTION", backref="kyc_reviews", null=True)
    verified_at = TimestampField(null=True)
    created_at = CreatedAtField()
    updated_at = CreatedAtField()

    class Meta:
        table_name = "kyc_documents"
        constraints = [
            check("ck_kyc_documents_document_type", one_of("document_type", DOCUMENT_TYPES)),
            check("ck_kyc_documents_status", one_of("status", DOCUMENT_STATUSES)),
        ]

    def __str__(self):
        return f"{(self.document_type or '').replace('_', ' ')} {self.file_path or ''}".strip()
