"""Type-ahead lookups for foreign keys (select2 ajax), instead of a list of every row."""

from __future__ import annotations

import uuid

from flask import request
from flask_admin.contrib.peewee.ajax import QueryAjaxModelLoader

from deepref.admin import listing
from deepref.models import Reference, User
from deepref.models.indexes import REFERENCE_FTS_DOCUMENT

PAGE = 10
MAX_PAGE = 50


class Lookup(QueryAjaxModelLoader):
    """Finds rows by typed text; loads only the columns of their label."""

    model_class = None
    label_columns: tuple[str, ...] = ()
    placeholder = "Type to search"

    def __init__(self, name: str):
        super().__init__(name, self.model_class, fields=list(self.label_columns),
                         placeholder=self.placeholder, minimum_input_length=2)

    def get_one(self, pk):
        try:
            uuid.UUID(str(pk))
        except ValueError:
            return None
        return self.model.get_or_none(self.model._meta.primary_key == pk)

    def _columns(self):
        return [self.model._meta.primary_key] + [getattr(self.model, c) for c in self.label_columns]

    def condition(self, term: str):
        return listing.contains([getattr(self.model, c) for c in self.label_columns], term)

    def get_list(self, term, offset=0, limit=PAGE):
        """A page of matches (deepref.admin.guard has refused negative or huge numbers)."""
        query = self.model.select(*self._columns())
        condition = self.condition(term or "")
        if condition is not None:
            query = query.where(condition)
        offset, limit = max(offset or 0, 0), min(max(limit or PAGE, 1), MAX_PAGE)
        return list(query.order_by(*self.order()).offset(offset).limit(limit))

    def order(self):
        return [getattr(self.model, self.label_columns[0])]


class UserLookup(Lookup):
    model_class = User
    label_columns = ("email",)
    placeholder = "Type part of an email address"


class ReferenceLookup(Lookup):
    model_class = Reference
    label_columns = ("referrer_name", "company")
    placeholder = "Type the referrer's name, company or role"

    def condition(self, term: str):
        if self.model._meta.database.has_full_text_search:
            return listing.prefix_query(REFERENCE_FTS_DOCUMENT, term)
        return listing.contains([Reference.referrer_name, Reference.company, Reference.role], term)

    def order(self):
        return [Reference.created_at.desc()]


class SeekersReferenceLookup(ReferenceLookup):
    """A bundle's references: only those of the seeker chosen on the form (static/admin-forms.js
    sends it as `seeker`); nothing before one is chosen."""

    placeholder = "Type part of the referrer's name, company or role"

    def condition(self, term: str):
        seeker = request.args.get("seeker", "")
        try:
            uuid.UUID(seeker)
        except ValueError:
            return Reference.id.is_null()  # matches nothing
        own = Reference.seeker == seeker
        words = listing.contains([Reference.referrer_name, Reference.company, Reference.role], term)
        return own if words is None else own & words
