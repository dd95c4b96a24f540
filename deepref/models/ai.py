"""The AI agents' prompts, sessions, interactions and fine-tune data (revision 002)."""

from __future__ import annotations

import uuid

import peewee as pw

from deepref.models.base import BaseModel, check, foreign_key
from deepref.models.core import User
from deepref.models.fields import (
    CreatedAtField,
    EncryptedTextField,
    JSONObjectField,
    TimestampField,
    UUIDKeyField,
    flag_field,
    server_default,
)


class AIPrompt(BaseModel):
    id = UUIDKeyField()
    prompt_id = pw.CharField(max_length=100)
    name = pw.CharField(max_length=200)
    system_prompt = EncryptedTextField(label_field="prompt_id")
    user_prompt_template = pw.TextField()
    version = pw.CharField(max_length=20)
    model_preference = pw.CharField(max_length=100)
    is_active = flag_field(True)
    metadata = JSONObjectField()
    created_at = CreatedAtField()
    updated_at = CreatedAtField()

    class Meta:
        table_name = "ai_prompts"

    def __str__(self):
        return self.prompt_id


class AISession(BaseModel):
    id = UUIDKeyField()
    agent_id = pw.UUIDField(default=uuid.uuid4)
    user = foreign_key(User, "fk_ai_sessions_user_id", "CASCADE", backref="ai_sessions")
    session_type = pw.CharField(max_length=50)
    started_at = CreatedAtField()
    ended_at = TimestampField(null=True)
    metadata = JSONObjectField()
    # Set by every save through deepref (revision 007): the stale-edit check's version.
    updated_at = TimestampField(null=True)

    class Meta:
        table_name = "ai_sessions"
        constraints = [check("ck_ai_sessions_ended_after_started", "ended_at >= started_at")]

    def __str__(self):
        return f"{self.session_type} {self.agent_id}"


class AIInteraction(BaseModel):
    id = UUIDKeyField()
    session = foreign_key(AISession, "fk_ai_interactions_session_id", "CASCADE", backref="interactions")
    prompt = foreign_key(AIPrompt, "fk_ai_interactions_prompt_id", "NO ACTION", backref="interactions")
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

    def __str__(self):
        when = f" at {self.created_at:%Y-%m-%d %H:%M}" if self.created_at else ""
        return f"{self.model_used}{when}"


class AIFinetuneDataset(BaseModel):
    id = UUIDKeyField()
    interaction = foreign_key(AIInteraction, "fk_ai_finetune_datasets_interaction_id", "CASCADE", backref="finetune_entries")
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
