"""List filters built explicitly: Flask-Admin cannot guess them for deepref's field types.

Filters on a related table's column use a subquery (`fk IN (SELECT id ...)`), never a
join, so they combine with full-text search and stay on the foreign-key indexes.
"""

from __future__ import annotations

import datetime as dt

from flask_admin.contrib.peewee import filters as fa

from deepref.admin.rules import EARLIEST_YEAR, integer_bounds
from deepref.models.fields import UTC


def choice(column, values, name=None):
    """`column` equals / differs from one of `values` (a select box)."""
    options = [(v, v.replace("_", " ")) for v in values]
    label = name or column.name.replace("_", " ").title()
    return [fa.FilterEqual(column, label, options=options),
            fa.FilterNotEqual(column, label, options=options)]


def flag(column, name=None):
    """A boolean column is yes / no."""
    return [fa.BooleanEqualFilter(column, name or column.name.replace("_", " ").title())]


def text(column, name=None):
    """Equals / contains for a text column."""
    label = name or column.name.replace("_", " ").title()
    return [fa.FilterEqual(column, label), fa.FilterLike(column, label)]


class _Bounded:
    """An integer the column can hold; any other value is an invalid filter, not a 500."""

    @property
    def hint(self) -> str:
        low, high = integer_bounds(self.column)
        return f"a whole number from {low} to {high}"

    def validate(self, value):
        low, high = integer_bounds(self.column)
        try:
            return low <= self.clean(value) <= high
        except ValueError:
            return False


class IntEqual(_Bounded, fa.IntEqualFilter):
    pass


class IntGreater(_Bounded, fa.IntGreaterFilter):
    pass


class IntSmaller(_Bounded, fa.IntSmallerFilter):
    pass


def number(column, name=None):
    """Equals / greater / smaller for an integer column."""
    label = name or column.name.replace("_", " ").title()
    return [IntEqual(column, label), IntGreater(column, label), IntSmaller(column, label)]


class _UTC:
    """Filter values are typed in UTC, from EARLIEST_YEAR on."""

    hint = f"a date and time as YYYY-MM-DD HH:MM:SS (UTC), from the year {EARLIEST_YEAR}"

    def validate(self, value):
        if not super().validate(value):
            return False
        cleaned = self.clean(value)
        return all(v.year >= EARLIEST_YEAR for v in (cleaned if isinstance(cleaned, list) else [cleaned]))

    def clean(self, value):
        cleaned = super().clean(value)
        if isinstance(cleaned, list):
            return [v.replace(tzinfo=UTC) for v in cleaned]
        return cleaned.replace(tzinfo=UTC) if isinstance(cleaned, dt.datetime) else cleaned


class After(_UTC, fa.DateTimeGreaterFilter):
    pass


class Before(_UTC, fa.DateTimeSmallerFilter):
    pass


class Between(_UTC, fa.DateTimeBetweenFilter):
    hint = (f"two dates and times as YYYY-MM-DD HH:MM:SS (UTC), from the year {EARLIEST_YEAR}, "
            "the earlier first, separated by ' to '")


def moment(column, name=None):
    """After / before / between for a timestamp column (UTC)."""
    label = name or column.name.replace("_", " ").title()
    return [After(column, label), Before(column, label), Between(column, label)]


class RelatedEqual(fa.BasePeeweeFilter):
    """The row's `fk` points at a row whose `column` equals the value."""

    def __init__(self, fk, column, name):
        super().__init__(column, name)
        self.fk = fk

    def apply(self, query, value):
        if self.column.name == "email":  # stored lower-case
            value = value.strip().lower()
        target = self.column.model
        ids = target.select(target._meta.primary_key).where(self.column == value)
        return query.where(self.fk.in_(ids))

    def operation(self):
        return "equals"


def related(fk, column, name):
    """Filter on a column of the row that `fk` points at (e.g. the seeker's email)."""
    return [RelatedEqual(fk, column, name)]
