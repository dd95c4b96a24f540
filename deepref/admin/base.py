"""The console's ModelView: what each table declares, its forms, and its pages.

- Writes (writes.py): one transaction with the audit row; deletes by the database's
  rules, after a confirmation page listing what goes with the row; stale edits refused.
- Lists (listing.py): estimated counts, full-text search, labels without N+1.
- Forms (fields.py, errors.py): enumerations as choices, ranges, emails, JSON objects,
  duplicates reported on their field, database errors as plain sentences.
"""

from __future__ import annotations

import datetime as dt
import uuid

import peewee as pw
from flask import abort, flash, redirect, request
from flask_admin import expose
from flask_admin.contrib.peewee import ModelView
from flask_admin.helpers import get_redirect_target
from flask_admin.model import typefmt
from wtforms import validators

from deepref.admin import deletes, labels
from deepref.admin.export import ExportMixin
from deepref.admin.history_pages import HistoryMixin
from deepref.admin.fields import AdminForm, Converter, RowVersionField
from deepref.admin.listing import ListMixin
from deepref.admin.rules import EmailAddress
from deepref.admin.writes import DELETED_MEANWHILE, WritesMixin, version
from deepref.db import replicas
from deepref.models.fields import UTC, TimestampField

def _moment(view, value, name):
    """Lists: to the minute (the header names the zone), so a row stays one line."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def _flag(view, value, name):
    """A boolean as a word: readable by everyone, screen readers included."""
    return "yes" if value else "no"


def _moment_detail(view, value, name):
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _label(view, context, row, name):
    """A foreign key as its loaded label, else its id: never a query per row."""
    related = row.__rel__.get(name)
    return str(related) if related is not None else (row.__data__.get(name) or "")


def _label_detail(view, context, row, name):
    """On a details page one query per foreign key is fine."""
    try:
        related = getattr(row, name)
    except pw.DoesNotExist:
        related = None
    return str(related) if related is not None else ""


class ReadsFromReplica:
    """Views whose GET pages only read run on a read replica when one is fit
    (deepref.db.replicas: lag, read-your-writes; any transaction stays on the primary)."""

    read_views: tuple[str, ...] = ()

    def _run_view(self, fn, *args, **kwargs):
        if request.method == "GET" and getattr(fn, "__name__", "") in self.read_views:
            with replicas.reading():
                return super()._run_view(fn, *args, **kwargs)
        return super()._run_view(fn, *args, **kwargs)


class AdminModelView(ReadsFromReplica, HistoryMixin, ExportMixin, WritesMixin, ListMixin,
                     ModelView):
    """Base of every console view; subclasses declare what is specific to their table."""

    read_views = ("index_view", "details_view")  # lists (and their search), details
    form_base_class = AdminForm
    model_form_converter = Converter
    list_template = "admin/deepref/list.html"
    details_template = "admin/deepref/details.html"
    create_template = "admin/deepref/create.html"
    edit_template = "admin/deepref/edit.html"
    page_size = 20
    can_set_page_size = True
    page_size_options = (20, 50, 100)
    can_view_details = True
    named_filter_urls = True  # ?flt0_status_equals=verified: readable, linkable
    action_disallowed_list = ["delete"]  # one row at a time, after the confirmation page
    form_excluded_columns = ("created_at", "updated_at")
    column_default_sort = ("created_at", True)
    column_type_formatters = {**typefmt.BASE_FORMATTERS, bool: _flag, dt.datetime: _moment}
    column_type_formatters_detail = {**typefmt.DETAIL_FORMATTERS, bool: _flag,
                                     dt.datetime: _moment_detail}

    # What differs per table.
    label_columns: tuple[str, ...] = ()  # foreign keys whose labels the list shows
    search_document: str | None = None  # full-text document (PostgreSQL)
    search_fields: tuple[str, ...] = ()  # substring search (and the SQLite fallback)
    search_related: dict[str, tuple[str, ...]] = {}  # fk -> columns of the row it points at
    choices: dict[str, tuple[str, ...]] = {}
    ranges: dict[str, tuple[float, float]] = {}
    email_fields: tuple[str, ...] = ()
    unique_fields: dict[str, str] = {}  # field -> sentence when taken
    refusals: dict[str, str] = {}  # blocking fk name -> sentence ({count} rows)

    def __init__(self, model, *args, **kwargs):
        table = model._meta.table_name
        self.column_labels = {**labels.for_table(table, model._meta.fields),
                              **(self.column_labels or {})}
        self.form_args = self._field_rules()
        self.column_formatters = {
            **{name: _label for name in self.label_columns},
            **(self.column_formatters or {}),
        }
        fks = [f.name for f in model._meta.sorted_fields if isinstance(f, pw.ForeignKeyField)]
        self.column_formatters_detail = {
            **{name: _label_detail for name in fks},
            **(self.column_formatters_detail or {}),
        }
        super().__init__(model, *args, **kwargs)

    def get_list_columns(self):
        """[(column, label)]; timestamps' headers name their zone (cells are UTC)."""
        return [(name, f"{text} (UTC)" if isinstance(self.model._meta.fields.get(name), TimestampField)
                 else text) for name, text in super().get_list_columns()]

    # -- forms ------------------------------------------------------------------------

    def _field_rules(self) -> dict:
        args = {name: {k: list(v) if isinstance(v, list) else v for k, v in opts.items()}
                for name, opts in (self.form_args or {}).items()}  # never append to the class's lists
        for name, text in self.column_labels.items():
            args.setdefault(name, {}).setdefault("label", text)
        for name, values in self.choices.items():
            args.setdefault(name, {})["choices"] = [(v, v.replace("_", " ")) for v in values]
        for name, (low, high) in self.ranges.items():
            rule = validators.NumberRange(
                low, high, message=f"Enter a number from {_number(low)} to {_number(high)}.")
            args.setdefault(name, {}).setdefault("validators", []).append(rule)
        for name in self.email_fields:
            args.setdefault(name, {}).setdefault("validators", []).append(EmailAddress())
        return args

    @property
    def database(self):
        return self.model._meta.database

    def _versioned(self) -> bool:
        return "updated_at" in self.model._meta.fields

    def get_edit_form(self):
        form_class = super().get_edit_form()
        if not self._versioned():
            return form_class
        return type(form_class.__name__, (form_class,), {"row_version": RowVersionField()})

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        # Only a form being shown takes the row's version: a posted form must bring the
        # one it was loaded with, or be refused (writes.MISSING_VERSION).
        if obj is not None and hasattr(form, "row_version") and request.method == "GET":
            form.row_version.data = version(obj)
        return form

    def validate_form(self, form):
        valid = super().validate_form(form)
        if not valid or not hasattr(form, "_fields") or not self._is_record_form(form):
            return valid
        valid = self._check_unique(form) and valid
        return self.check_record(form) and valid

    def _is_record_form(self, form) -> bool:
        return isinstance(form, (self._create_form_class, self._edit_form_class))

    def check_record(self, form) -> bool:
        """Rules spanning several fields; subclasses add field errors and return False."""
        return True

    def _check_unique(self, form) -> bool:
        ok = True
        current = request.args.get("id")
        for name, sentence in self.unique_fields.items():
            field = getattr(form, name, None)
            if field is None or not field.data:
                continue
            value = field.data.strip().lower() if name in self.email_fields else field.data
            column = getattr(self.model, name)
            query = self.model.select(self.model._meta.primary_key).where(column == value)
            if current and is_uuid(current):
                query = query.where(self.model._meta.primary_key != current)
            if query.exists():
                field.errors = list(field.errors) + [sentence]
                ok = False
        return ok

    # -- views ------------------------------------------------------------------------

    def get_one(self, id):
        if not self.model._meta.composite_key and not is_uuid(id):
            return None
        return self.model.get_or_none(self.model._meta.primary_key == id)

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self):
        if request.method == "POST" and self.can_edit:
            row_id = request.args.get("id")
            if row_id is not None and self.get_one(row_id) is None:
                flash(DELETED_MEANWHILE, "error")
                return redirect(get_redirect_target() or self.get_url(".index_view"))
        return super().edit_view()

    @expose("/delete/confirm/")
    def delete_confirm(self):
        """What deleting this row takes with it, and the button to do it."""
        if not self.can_delete:
            abort(404)
        return_url = get_redirect_target() or self.get_url(".index_view")
        model = self.get_one(request.args.get("id", ""))
        if model is None:
            flash("This record does not exist (it may have been deleted already).", "error")
            return redirect(return_url)
        going = deletes.effects(self.model, model.get_id())
        form = self.delete_form()
        form.id.data = str(model.get_id())
        form.url.data = return_url
        return self.render(
            "admin/deepref/delete_confirm.html", model=model, form=form,
            effects=deletes.summary(going), return_url=return_url,
            noun=deletes.label(self.model._meta.table_name, 1),
        )


def _number(value) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
