"""Writes that lose nothing: each create, update and delete is one transaction with its
audit row; deletes follow the database's rules; stale edits are refused, not applied.
"""

from __future__ import annotations

import logging

import peewee as pw
from flask import flash

from deepref.admin import deletes, errors, trail
from deepref.db import is_database_error

log = logging.getLogger(__name__)

CHANGED_MEANWHILE = (
    "Someone else changed this record after you opened it, so your changes were not "
    "saved. Your edits are still in the form: compare them with the current record "
    "(open it in another tab), then save again to overwrite it."
)
DELETED_MEANWHILE = (
    "This record was deleted by someone else while you were editing it; your changes "
    "could not be saved."
)
MISSING_VERSION = (
    "This form arrived without the version of the record it was loaded with, so it "
    "could not be checked against changes made since. Nothing was saved: reload the "
    "record and make your changes again."
)
UNEXPECTED = "Something went wrong and nothing was saved. Please try again."


class WritesMixin:
    """create_model / update_model / delete_model for AdminModelView."""

    def _report(self, form, exc: Exception) -> None:
        """Show a failed write as a plain sentence, on its field when it has one."""
        if not isinstance(exc, errors.FriendlyError) and not is_database_error(exc):
            log.exception("unexpected error saving %s", self.model._meta.table_name)
            flash(UNEXPECTED, "error")
            return
        problem = errors.explain(exc, self.model._meta.table_name, set(form._fields))
        field = getattr(form, problem.field, None) if problem.field else None
        if field is not None:
            field.errors = list(field.errors) + [problem.message]
            flash("Nothing was saved: please correct the highlighted field.", "error")
        else:
            flash(problem.message, "error")

    # -- writes -----------------------------------------------------------------------

    def save_related(self, form, model) -> dict:
        """Write rows edited alongside this one (bundles' references); return changes."""
        return {}

    def create_model(self, form):
        try:
            with self.database.write_transaction():
                model = self.model()
                form.populate_obj(model)
                self._on_model_change(form, model, True)
                model.save(force_insert=True)
                changes = trail.created(trail.snapshot(model))
                changes.update(self.save_related(form, model))
                trail.record("create", self.model._meta.table_name, trail.row_key(model), changes)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a form message
            self._report(form, exc)
            return False
        self.after_model_change(form, model, True)
        return model

    def update_model(self, form, model):
        before = trail.snapshot(model)
        try:
            with self.database.write_transaction():
                self._check_version(form, model)
                form.populate_obj(model)
                self._on_model_change(form, model, False)
                changes = trail.diff(before, trail.snapshot(model))
                changes.pop("updated_at", None)
                if changes:
                    model.save()
                related = self.save_related(form, model)
                if related and not changes and self._versioned():
                    model.save()  # the row's version moves with its related rows
                changes.update(related)
                if changes:
                    trail.record("update", self.model._meta.table_name, trail.row_key(model), changes)
        except Exception as exc:  # noqa: BLE001
            if isinstance(exc, errors.FriendlyError) and exc.message == CHANGED_MEANWHILE:
                _set_hidden(form.row_version, getattr(exc, "current_version", ""))
            self._report(form, exc)
            return False
        self.after_model_change(form, model, False)
        return True

    def _check_version(self, form, model) -> None:
        field = getattr(form, "row_version", None)
        if field is None:
            return
        pk = self.model._meta.primary_key
        query = self.model.select(self.model.updated_at).where(pk == model.get_id())
        row = self.database.for_update(query).first()
        if row is None:
            raise errors.FriendlyError(DELETED_MEANWHILE)
        current = version(row)
        if not field.data:
            raise errors.FriendlyError(MISSING_VERSION)
        if field.data != current:
            problem = errors.FriendlyError(CHANGED_MEANWHILE)
            problem.current_version = current
            raise problem

    def delete_model(self, model):
        table = self.model._meta.table_name
        before = trail.snapshot(model)
        try:
            going = deletes.effects(self.model, model.get_id())
            with self.database.write_transaction():
                self.on_model_delete(model)
                if not deletes.delete_row(self.model, model.get_id()):
                    raise errors.FriendlyError("This record had already been deleted.")
                changes = trail.deleted(before)
                cascaded = {e.table: e.count for e in going if e.kind == "delete"}
                if cascaded:
                    changes["deleted_with_it"] = [cascaded, None]
                trail.record("delete", table, trail.row_key(model), changes)
        except Exception as exc:  # noqa: BLE001
            flash(self._refusal(model, exc), "error")
            return False
        self.after_model_delete(model)
        return True

    def _refusal(self, model, exc: Exception) -> str:
        if not isinstance(exc, pw.IntegrityError):
            if not isinstance(exc, errors.FriendlyError) and not is_database_error(exc):
                log.exception("unexpected error deleting from %s", self.model._meta.table_name)
                return UNEXPECTED
            return errors.explain(exc, self.model._meta.table_name, set()).message
        errors.explain(exc, self.model._meta.table_name, set())  # logs the raw message
        blocking = deletes.blockers(self.model, model.get_id())
        for effect in blocking:
            if effect.field in self.refusals:
                return self.refusals[effect.field].format(count=effect.count)
        if blocking:
            listed = ", ".join(e.sentence() for e in blocking)
            return f"This record cannot be deleted: other rows still refer to it ({listed}). Nothing was deleted."
        return "This record cannot be deleted: other rows still refer to it. Nothing was deleted."


NEVER_UPDATED = "not-updated-since-created"  # updated_at NULL (ai_sessions before 007)


def version(row) -> str:
    """A row's version: its updated_at as text."""
    value = getattr(row, "updated_at", None)
    return value.isoformat() if value is not None else NEVER_UPDATED


def _set_hidden(field, value: str) -> None:
    field.data = value
    field.raw_data = [value]

