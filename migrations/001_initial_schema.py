"""001_initial_schema: users, references, bundles, bundle_references, kyc_documents.

Creates the core tables with their CHECK, UNIQUE and FOREIGN KEY constraints and an
index leading with every foreign-key column. Rollback drops the five tables.
"""

import peewee as pw

from deepref.models.base import check, foreign_key, one_of
from deepref.models.fields import (
    CreatedAtField,
    JSONObjectField,
    TimestampField,
    UUIDKeyField,
    choice_field,
    flag_field,
    server_default,
)
from deepref.migrate.ops import declare_indexes

INDEXES = [
    ("users", "uq_users_email", ("email",), True, None),
    ("bundles", "uq_bundles_share_token", ("share_token",), True, None),
    ("references", "ix_references_seeker_id", ("seeker",), False, None),
    ("references", "ix_references_referrer_id", ("referrer",), False, None),
    ("bundles", "ix_bundles_seeker_id", ("seeker",), False, None),
    ("bundle_references", "ix_bundle_references_reference_id", ("reference",), False, None),
    ("kyc_documents", "ix_kyc_documents_user_id", ("user",), False, None),
    ("kyc_documents", "ix_kyc_documents_reviewed_by_id", ("reviewed_by",), False, None),
]


def migrate(migrator, database, *, fake=False):
    @migrator.create_model
    class User(pw.Model):
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
                check("ck_users_role", one_of("role", ("seeker", "referrer", "employer", "admin"))),
                check(
                    "ck_users_kyc_status",
                    one_of("kyc_status", ("pending", "submitted", "verified", "rejected")),
                ),
            ]

    @migrator.create_model
    class Reference(pw.Model):
        id = UUIDKeyField()
        seeker = foreign_key(User, "fk_references_seeker_id", "CASCADE")
        referrer = foreign_key(User, "fk_references_referrer_id", "SET NULL", null=True)
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
                check("ck_references_format", one_of("format", ("text", "video", "audio"))),
                check(
                    "ck_references_status",
                    one_of("status", ("pending", "submitted", "verified", "rejected", "expired")),
                ),
                check("ck_references_rcs_score", "rcs_score >= 0 AND rcs_score <= 100"),
            ]

    @migrator.create_model
    class Bundle(pw.Model):
        id = UUIDKeyField()
        seeker = foreign_key(User, "fk_bundles_seeker_id", "CASCADE")
        title = pw.CharField(max_length=200)
        description = pw.TextField(null=True)
        share_token = pw.CharField(max_length=64)
        aggregated_rcs = pw.DecimalField(
            max_digits=5, decimal_places=2, null=True, auto_round=True
        )
        view_count = pw.IntegerField(default=0, constraints=server_default("0"))
        is_active = flag_field(True)
        expiry_date = TimestampField(null=True)
        created_at = CreatedAtField()
        updated_at = CreatedAtField()

        class Meta:
            table_name = "bundles"
            constraints = [
                check(
                    "ck_bundles_aggregated_rcs", "aggregated_rcs >= 0 AND aggregated_rcs <= 100"
                ),
                check("ck_bundles_view_count", "view_count >= 0"),
            ]

    @migrator.create_model
    class BundleReference(pw.Model):
        bundle = foreign_key(Bundle, "fk_bundle_references_bundle_id", "CASCADE")
        reference = foreign_key(Reference, "fk_bundle_references_reference_id", "CASCADE")
        position = pw.IntegerField(default=0, constraints=server_default("0"))
        added_at = CreatedAtField()

        class Meta:
            table_name = "bundle_references"
            primary_key = pw.CompositeKey("bundle", "reference")

    @migrator.create_model
    class KYCDocument(pw.Model):
        id = UUIDKeyField()
        user = foreign_key(User, "fk_kyc_documents_user_id", "CASCADE")
        document_type = choice_field(30)
        status = choice_field(20, "pending")
        file_path = pw.CharField(max_length=500)
        metadata = JSONObjectField()
        rejection_reason = pw.TextField(null=True)
        reviewed_by = foreign_key(User, "fk_kyc_documents_reviewed_by_id", "NO ACTION", null=True)
        verified_at = TimestampField(null=True)
        created_at = CreatedAtField()
        updated_at = CreatedAtField()

        class Meta:
            table_name = "kyc_documents"
            constraints = [
                check(
                    "ck_kyc_documents_document_type",
                    one_of(
                        "document_type",
                        ("passport", "drivers_license", "national_id", "selfie", "proof_of_address"),
                    ),
                ),
                check(
                    "ck_kyc_documents_status", one_of("status", ("pending", "verified", "rejected"))
                ),
            ]

    declare_indexes(migrator, INDEXES)


def rollback(migrator, database, *, fake=False):
    for table in ("kyc_documents", "bundle_references", "bundles", "references", "users"):
        migrator.remove_model(table)
