"""List filters built explicitly: Flask-Admin cannot guess them for deepref's field types.

Filters on a related table's column use a subquery (`fk IN (SELECT id ...)`), never a
join, so they combine with full-text search and stay on the foreign-key indexes.
"""

from __future__ import annotations

from flask_admin.contrib.peewee import filters as fa

from deepref.admin.labels import of_column
from deepref.admin.rules import DATETIME_HINT, integer_bounds, parse_utc


def choice(column, values, name=None):
    """`column` equals / differs from one of `values` (a select box)."""
    options = [(v, v.replace("_", " ")) for v in values]
    label = name or of_column(column)
    return [fa.FilterEqual(column, label, options=options),
            fa.FilterNotEqual(column, label, options=options)]


def flag(column, name=None):
    """A boolean column is yes / no."""
    return [fa.BooleanEqualFilter(column, name or of_column(column))]


def text(column, name=None):
    """Equals / contains for a text column."""
    label = name or of_column(column)
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
    label = name or of_column(column)
    return [IntEqual(column, label), IntGreater(column, label), IntSmaller(column, label)]


class _UTC:
    """Filter values read like the forms' timestamps (rules.parse_utc), in a native
    datetime-local input (static/admin-forms.js turns the "deepref-datetime" type into one)."""

    hint = DATETIME_HINT

    def __init__(self, column, name, options=None, data_type=None):
        super().__init__(column, name, options)
        self.data_type = "deepref-datetime"

    def validate(self, value):
        try:
            parse_utc(value)
        except ValueError:
            return False
        return True

    def clean(self, value):
        return parse_utc(value)


class After(_UTC, fa.DateTimeGreaterFilter):
    pass


class Before(_UTC, fa.DateTimeSmallerFilter):
    pass


def moment(column, name=None):
    """After / before a timestamp (UTC); both together make a range."""
    label = name or of_column(column)
    return [After(column, label), Before(column, label)]


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
