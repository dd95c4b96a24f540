"""AI prompts: the system prompt is edited as plain text (encrypted at rest by the model).

The list and the details page never show it; the list does not even read the column.
A prompt with recorded interactions cannot be deleted (NO ACTION): it is deactivated.
"""

from __future__ import annotations

from flask import flash, redirect
from flask_admin import expose
from flask_admin.helpers import get_redirect_target

from deepref.admin import filters
from deepref.admin.base import AdminModelView
from deepref.crypto import PromptDecryptionError
from deepref.models import AIPrompt

LISTED = ("prompt_id", "name", "version", "model_preference", "is_active", "updated_at")


class PromptAdmin(AdminModelView):
    column_list = LISTED
    column_details_exclude_list = ("system_prompt",)
    column_export_exclude_list = ("system_prompt",)
    column_sortable_list = ("prompt_id", "model_preference", "is_active", "updated_at")
    column_default_sort = ("prompt_id", False)
    search_fields = ("prompt_id", "name")
    search_hint = "Prompt ID or name"
    column_filters = [
        *filters.flag(AIPrompt.is_active),
        *filters.text(AIPrompt.model_preference),
    ]
    form_columns = ("prompt_id", "name", "version", "model_preference", "is_active",
                    "system_prompt", "user_prompt_template", "metadata")
    form_widget_args = {"system_prompt": {"rows": 16}, "user_prompt_template": {"rows": 8}}
    unique_fields = {"prompt_id": "Another prompt already has this prompt ID."}
    refusals = {
        "prompt": (
            "This prompt has {count} recorded AI interaction(s), so it cannot be deleted: "
            "their history must keep pointing at it. Deactivate it instead (untick Active "
            "and save). Nothing was deleted."
        ),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(AIPrompt, *args, name="AI prompts", endpoint="aiprompt", **kwargs)

    def get_query(self):
        pk = AIPrompt._meta.primary_key
        return AIPrompt.select(pk, *[getattr(AIPrompt, c) for c in LISTED])

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self):
        try:
            return super().edit_view()
        except PromptDecryptionError as exc:
            flash(f"This prompt cannot be edited here: {exc.message}", "error")
            return redirect(get_redirect_target() or self.get_url(".index_view"))
