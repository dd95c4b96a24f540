"""AI sessions and interactions (read-only lists with filters) and fine-tune datasets."""

from __future__ import annotations

import uuid

from flask import flash, request
from flask_admin.actions import action

from deepref.admin import errors, filters, trail
from deepref.admin.base import AdminModelView
from deepref.models import AIFinetuneDataset, AIInteraction, AIPrompt, AISession, User


class AISessionAdmin(AdminModelView):
    """Read-only, except closing a session: ended_at (never before started_at)."""

    can_create = False
    can_delete = False
    column_list = ("user", "session_type", "agent_id", "started_at", "ended_at")
    column_sortable_list = ("session_type", "agent_id", "started_at", "ended_at")
    column_default_sort = ("started_at", True)
    label_columns = ("user",)
    search_fields = ("session_type",)
    search_hint = "Session type or user email"
    search_related = {"user": ("email",)}
    column_filters = [
        *filters.text(AISession.session_type),
        *filters.related(AISession.user, User.email, "User email"),
        *filters.moment(AISession.started_at),
        *filters.moment(AISession.ended_at),
    ]
    form_columns = ("ended_at",)

    def __init__(self, *args, **kwargs):
        super().__init__(AISession, *args, name="AI sessions", endpoint="aisession", **kwargs)

    def check_record(self, form) -> bool:
        model = self.get_one(request.args.get("id", ""))
        ended = form.ended_at.data
        if model is not None and ended is not None and ended < model.started_at:
            form.ended_at.errors = list(form.ended_at.errors) + [
                "The end cannot be before the start "
                f"({model.started_at:%Y-%m-%d %H:%M:%S} UTC)."]
            return False
        return True


class AIInteractionAdmin(AdminModelView):
    can_create = False
    can_edit = False
    can_delete = False
    column_list = ("created_at", "session", "prompt", "model_used", "success", "tokens_used",
                   "response_time_ms")
    column_sortable_list = ("created_at", "model_used", "success")
    label_columns = ("session", "prompt")
    search_related = {"prompt": ("prompt_id",)}
    search_hint = "Prompt ID"
    column_filters = [
        *filters.flag(AIInteraction.success),
        *filters.text(AIInteraction.model_used),
        *filters.related(AIInteraction.prompt, AIPrompt.prompt_id, "Prompt ID"),
        *filters.related(AIInteraction.session, AISession.session_type, "Session type"),
        *filters.moment(AIInteraction.created_at),
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(AIInteraction, *args, name="AI interactions", endpoint="aiinteraction",
                         **kwargs)


class FinetuneAdmin(AdminModelView):
    can_create = False
    can_delete = False
    column_list = ("interaction", "quality_score", "included_in_training", "human_feedback",
                   "updated_at")
    column_sortable_list = ("quality_score", "included_in_training")
    label_columns = ("interaction",)
    search_fields = ("human_feedback",)
    search_hint = "Human feedback"
    column_filters = [
        *filters.number(AIFinetuneDataset.quality_score),
        *filters.flag(AIFinetuneDataset.included_in_training),
        *filters.moment(AIFinetuneDataset.created_at),
    ]
    form_columns = ("quality_score", "human_feedback", "included_in_training")
    ranges = {"quality_score": (1, 5)}

    def __init__(self, *args, **kwargs):
        super().__init__(AIFinetuneDataset, *args, name="Fine-tune datasets",
                         endpoint="aifinetunedataset", **kwargs)

    @action("include", "Include in training", "Include the selected examples in training?")
    def action_include(self, ids):
        self._set_included(ids, True)

    @action("exclude", "Exclude from training", "Exclude the selected examples from training?")
    def action_exclude(self, ids):
        self._set_included(ids, False)

    def _set_included(self, ids, included: bool) -> None:
        """One transaction: the rows that change, and one audit row for each."""
        model = AIFinetuneDataset
        try:
            with model._meta.database.write_transaction():
                changing = list(model.select(model.id).where(
                    model.id.in_(_valid_ids(ids)) & (model.included_in_training != included)))
                if changing:
                    model.update(included_in_training=included).where(
                        model.id.in_([row.id for row in changing])).execute()
                for row in changing:
                    trail.record("bulk", model._meta.table_name, str(row.id),
                                 {"included_in_training": [not included, included]})
        except Exception as exc:  # noqa: BLE001
            flash(errors.explain(exc, model._meta.table_name, set()).message, "error")
            return
        verb = "included in" if included else "excluded from"
        flash(f"{len(changing)} example(s) {verb} training.", "success")


def _valid_ids(ids):
    valid = []
    for value in ids:
        try:
            valid.append(str(uuid.UUID(str(value))))
        except ValueError:
            continue
    return valid
