"""Form pieces: the CSRF-aware base form, the model-to-form converter, custom fields.

The base form takes its CSRF token from Flask-WTF, the same token the app-wide
CSRFProtect checks, so every Flask-Admin form (edit, delete, bulk action) carries one.
"""

from __future__ import annotations

import datetime as dt
import json

import peewee as pw
from email_validator import EmailNotValidError, validate_email
from flask_admin.contrib.peewee.form import CustomModelConverter
from flask_admin.form import BaseForm, DateTimePickerWidget
from flask_admin.model.fields import AjaxSelectField
from flask_wtf import FlaskForm
from wtforms import fields, validators

from deepref.models.fields import UTC, TimestampField

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class AdminForm(BaseForm):
    """Flask-Admin's form with Flask-WTF's CSRF token (the one CSRFProtect validates)."""

    class Meta(FlaskForm.Meta):
        pass


class UTCDateTimeField(fields.DateTimeField):
    """A timestamp typed and shown in UTC; gives an aware datetime."""

    widget = DateTimePickerWidget()

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.pop("filters", None)  # wtfpeewee's null filter expects strings
        kwargs.setdefault("description", "UTC, as YYYY-MM-DD HH:MM:SS")
        super().__init__(label, validators, format=DATETIME_FORMAT, **kwargs)

    def process_formdata(self, valuelist):
        if valuelist and not " ".join(valuelist).strip():
            self.data = None
            return
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError("Enter a date and time as YYYY-MM-DD HH:MM:SS (UTC).") from None
        if self.data is not None:
            self.data = self.data.replace(tzinfo=UTC)

    def _value(self):
        if self.raw_data:
            return " ".join(self.raw_data)
        if isinstance(self.data, dt.datetime):
            return self.data.astimezone(UTC).strftime(DATETIME_FORMAT)
        return ""


class JSONObjectFormField(fields.TextAreaField):
    """JSON text that must be an object ({...}); empty means {}."""

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
            value = json.loads(text)
        except ValueError as exc:
            self.data = None
            raise ValueError(f"This is not valid JSON ({exc.msg} at line {exc.lineno}).") from None
        if not isinstance(value, dict):
            self.data = None
            raise ValueError('This must be a JSON object, e.g. {"key": "value"}.')
        self.data = value


class RowVersionField(fields.HiddenField):
    """The updated_at the edit form was loaded with; never written to the row."""

    def populate_obj(self, obj, name):
        pass


class EmailAddress:
    """A syntactically valid email address (no DNS lookups)."""

    def __call__(self, form, field):
        if not field.data:
            return
        try:
            validate_email(field.data, check_deliverability=False)
        except EmailNotValidError as exc:
            raise validators.ValidationError(f"Enter a valid email address: {exc}") from None


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
        self.converters = {**own, **self.converters}

    def handle_foreign_key(self, model, field, **kwargs):
        loader = getattr(self.view, "_form_ajax_refs", {}).get(field.name)
        if loader is None:
            return super().handle_foreign_key(model, field, **kwargs)
        kwargs["validators"] = [v for v in kwargs["validators"] if not _is_required(v)]
        kwargs.pop("filters", None)
        return field.name, LookupField(loader, allow_blank=field.null, **kwargs)

    def handle_timestamp(self, model, field, **kwargs):
        return field.name, UTCDateTimeField(**kwargs)

    def handle_json_object(self, model, field, **kwargs):
        kwargs["validators"] = [v for v in kwargs["validators"] if not _is_required(v)]
        return field.name, JSONObjectFormField(**kwargs)


def _is_required(validator) -> bool:
    return type(validator).__name__ in ("ValueRequired", "DataRequired", "InputRequired")
