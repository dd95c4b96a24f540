"""002_ai_system_tables: ai_prompts, ai_sessions, ai_interactions, ai_finetune_datasets.

Rollback drops the four tables.
"""

import uuid

import peewee as pw

from deepref.models.base import check, foreign_key
from deepref.models.fields import (
    CreatedAtField,
    JSONObjectField,
    TimestampField,
    UUIDKeyField,
    flag_field,
    server_default,
)
from deepref.migrate.ops import declare_indexes

INDEXES = [
    ("ai_prompts", "uq_ai_prompts_prompt_id", ("prompt_id",), True, None),
    ("ai_sessions", "uq_ai_sessions_agent_id", ("agent_id",), True, None),
    ("ai_finetune_datasets", "uq_ai_finetune_datasets_interaction_id", ("interaction",), True, None),
    ("ai_sessions", "ix_ai_sessions_user_id", ("user",), False, None),
    ("ai_interactions", "ix_ai_interactions_session_id", ("session",), False, None),
    ("ai_interactions", "ix_ai_interactions_prompt_id", ("prompt",), False, None),
]


def migrate(migrator, database, *, fake=False):
    users = migrator.orm["users"]

    @migrator.create_model
    class AIPrompt(pw.Model):
        id = UUIDKeyField()
        prompt_id = pw.CharField(max_length=100)
        name = pw.CharField(max_length=200)
        system_prompt = pw.TextField()
        user_prompt_template = pw.TextField()
        version = pw.CharField(max_length=20)
        model_preference = pw.CharField(max_length=100)
        is_active = flag_field(True)
        metadata = JSONObjectField()
        created_at = CreatedAtField()
        updated_at = CreatedAtField()

        class Meta:
            table_name = "ai_prompts"

    @migrator.create_model
    class AISession(pw.Model):
        id = UUIDKeyField()
        agent_id = pw.UUIDField(default=uuid.uuid4)
        user = foreign_key(users, "fk_ai_sessions_user_id", "CASCADE")
        session_type = pw.CharField(max_length=50)
        started_at = CreatedAtField()
        ended_at = TimestampField(null=True)
        metadata = JSONObjectField()

        class Meta:
            table_name = "ai_sessions"
            constraints = [check("ck_ai_sessions_ended_after_started", "ended_at >= started_at")]

    @migrator.create_model
    class AIInteraction(pw.Model):
        id = UUIDKeyField()
        session = foreign_key(AISession, "fk_ai_interactions_session_id", "CASCADE")
        prompt = foreign_key(AIPrompt, "fk_ai_interactions_prompt_id", "NO ACTION")
        user_input = pw.TextField()
        ai_response = pw.TextField(null=True)
        model_used = pw.CharField(max_length=100)
        tokens_used = pw.IntegerField(default=0, constraints=server_default("0"))
        response_time_ms = pw.IntegerField(null=True)
        success = flag_field(True)
        error_message = pw.TextField(null=True)
        created_at = CreatedAtField()

        class Meta:
            table_name = "ai_interactions"
            constraints = [
                check("ck_ai_interactions_tokens_used", "tokens_used >= 0"),
                check("ck_ai_interactions_response_time_ms", "response_time_ms >= 0"),
            ]

    @migrator.create_model
    class AIFinetuneDataset(pw.Model):
        id = UUIDKeyField()
        interaction = foreign_key(
            AIInteraction, "fk_ai_finetune_datasets_interaction_id", "CASCADE"
        )
        quality_score = pw.IntegerField()
        human_feedback = pw.TextField(null=True)
        included_in_training = flag_field(False)
        created_at = CreatedAtField()
        updated_at = CreatedAtField()

        class Meta:
            table_name = "ai_finetune_datasets"
            constraints = [
                check("ck_ai_finetune_datasets_quality_score", "quality_score BETWEEN 1 AND 5")
            ]

    declare_indexes(migrator, INDEXES)


def rollback(migrator, database, *, fake=False):
    for table in ("ai_finetune_datasets", "ai_interactions", "ai_sessions", "ai_prompts"):
        migrator.remove_model(table)
