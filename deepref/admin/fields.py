"""Form pieces: the CSRF-aware base form, the model-to-form converter, custom fields.

The base form takes its CSRF token from Flask-WTF, the same token the app-wide
CSRFProtect checks, so every Flask-Admin form (edit, delete, bulk action) carries one.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json

import peewee as pw
from flask import flash
from flask_admin.contrib.peewee.form import CustomModelConverter
from flask_admin.form import BaseForm
from flask_admin.model.fields import AjaxSelectField
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import fields, validators, widgets

from deepref.admin import rules
from deepref.models.fields import UTC, TimestampField

INPUT_FORMAT = "%Y-%m-%dT%H:%M:%S"  # what datetime-local inputs hold


class AdminForm(BaseForm):
    """Flask-Admin's form with Flask-WTF's CSRF token (the one CSRFProtect validates).

    Every form of the console (records, deletes, bulk actions) also refuses a NUL
    character in any value, as an error on the field that holds it: PostgreSQL cannot
    store one, and the typed values stay in the form.
    """

    class Meta(FlaskForm.Meta):
        pass

    def process(self, formdata=None, obj=None, data=None, extra_filters=None, **kwargs):
        wrapped = _unix_newlines(self.meta.wrap_formdata(self, formdata))
        self._nul_names = sorted(
            name for name in (wrapped.keys() if wrapped is not None else ())
            if any(isinstance(v, str) and "\x00" in v for v in wrapped.getlist(name)))
        super().process(wrapped, obj, data=data, extra_filters=extra_filters, **kwargs)

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        for name in getattr(self, "_nul_names", ()):
            field = _owner(list(self), name)
            if field is None:
                continue  # not read by this form
            if isinstance(field, fields.HiddenField):
                flash(f"Nothing was saved: a hidden value ({name}) contains a NUL character.", "error")
            else:
                field.errors = list(field.errors) + [rules.NUL_MESSAGE]
            valid = False
        return valid


def _unix_newlines(formdata):
    """Browsers send a textarea's line breaks as CRLF: store them as the LF they were
    shown as, so an untouched text is not a change."""
    if formdata is None or not any(isinstance(v, str) and "\r" in v
                                   for _, v in formdata.items(multi=True)):
        return formdata
    return MultiDict([(k, v.replace("\r\n", "\n") if isinstance(v, str) else v)
                      for k, v in formdata.items(multi=True)])


def _owner(form_fields, name: str):
    """The field that reads form key `name` (inside inline lists: the innermost one)."""
    for field in form_fields:
        if field.name == name:
            return field
        if name.startswith(field.name + "-"):
            inner = getattr(field, "entries", None)
            if inner is None and hasattr(getattr(field, "form", None), "_fields"):
                inner = list(field.form)
            return _owner(inner or [], name) or field
    return None


class UTCDateTimeField(fields.Field):
    """A timestamp in a native datetime-local input, typed and shown in UTC.

    The input shows seconds, not the microseconds a stored value may have: a value
    posted back unchanged keeps the stored one, so saving an untouched form changes
    nothing (and writes no audit row).
    """

    widget = widgets.DateTimeLocalInput()

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.pop("filters", None)  # wtfpeewee's null filter expects strings
        render_kw = {"step": "1", **(kwargs.pop("render_kw", None) or {})}
        super().__init__(label, validators, render_kw=render_kw, **kwargs)
        if not self.label.text.endswith("(UTC)"):
            self.label.text += " (UTC)"

    def process_formdata(self, valuelist):
        text = " ".join(valuelist or ()).strip()
        self.data = None
        if text:
            self.data = rules.parse_utc(text)

    def _value(self):
        if self.raw_data:
            return " ".join(self.raw_data)
        if isinstance(self.data, dt.datetime):
            return self.data.astimezone(UTC).strftime(INPUT_FORMAT)
        return ""

    def populate_obj(self, obj, name):
        stored = getattr(obj, name, None)
        if (isinstance(stored, dt.datetime) and self.data is not None
                and self.data == stored.replace(microsecond=0)):
            return  # shown to the second and sent back as is: keep the stored value
        setattr(obj, name, self.data)


class JSONObjectFormField(fields.TextAreaField):
    """JSON text that must be an object ({...}); empty means {}. See rules.parse_json_object."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.pop("filters", None)
        super().__init__(label, validators, **kwargs)

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return json.dumps(self.data if self.data is not None else {}, indent=2, ensure_ascii=False)

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        text = valuelist[0].strip()
        if not text:
            self.data = {}
            return
        try:
            self.data = rules.parse_json_object(text)
        except ValueError:
            self.data = None
            raise


class RowVersionField(fields.HiddenField):
    """The updated_at the edit form was loaded with; never written to the row."""

    def populate_obj(self, obj, name):
        pass


class FiniteDecimalField(fields.DecimalField):
    """A decimal number: NaN and Infinity are refused like any other non-number."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if isinstance(self.data, decimal.Decimal) and not self.data.is_finite():
            self.data = None
            raise ValueError(self.gettext("Not a valid decimal value."))


class LookupField(AjaxSelectField):
    """A foreign key chosen through a type-ahead lookup; says so when left unset."""

    def pre_validate(self, form):
        if not self.allow_blank and self.data is None:
            raise validators.ValidationError(
                "Choose one from the suggestions (type a few letters to search).")


class Converter(CustomModelConverter):
    """Flask-Admin's converter, knowing deepref's timestamp and JSON-object fields."""

    def __init__(self, view, additional=None):
        super().__init__(view, additional)
        own = {TimestampField: self.handle_timestamp, pw.JSONField: self.handle_json_object}
        numbers = {pw.DecimalField: self.handle_decimal, pw.IntegerField: self.handle_integer}
        # Numbers last: the more specific converters (e.g. primary keys) win.
        self.converters = {**own, **self.converters, **numbers}

    def handle_foreign_key(self, model, field, **kwargs):
        loader = getattr(self.view, "_form_ajax_refs", {}).get(field.name)
        if loader is None:
            return super().handle_foreign_key(model, field, **kwargs)
        kwargs["validators"] = [v for v in kwargs["validators"] if not _is_required(v)]
        kwargs.pop("filters", None)
        return field.name, LookupField(loader, allow_blank=field.null, **kwargs)

    def handle_timestamp(self, model, field, **kwargs):
        return field.name, UTCDateTimeField(**kwargs)

    def handle_decimal(self, model, field, **kwargs):
        return field.name, FiniteDecimalField(**kwargs)

    def handle_integer(self, model, field, **kwargs):
        """An integer form field never takes a value its column cannot hold."""
        low, high = rules.integer_bounds(field)
        kwargs["validators"] = [*kwargs["validators"], validators.NumberRange(
            low, high, message=f"Enter a whole number from {low} to {high}.")]
        return field.name, fields.IntegerField(**kwargs)

    def handle_json_object(self, model, field, **kwargs):
        kwargs["validators"] = [v for v in kwargs["validators"] if not _is_required(v)]
        return field.name, JSONObjectFormField(**kwargs)


def _is_required(validator) -> bool:
    return type(validator).__name__ in ("ValueRequired", "DataRequired", "InputRequired")
