"""List pages that stay fast on millions of rows.

- Counts: above ESTIMATE_ABOVE rows, PostgreSQL's planner estimate replaces COUNT(*)
  (pg_class.reltuples for a whole table, EXPLAIN's row estimate for a filtered one).
- Search: the full-text expressions of deepref.models.indexes, so the GIN indexes
  serve it on PostgreSQL; a case-insensitive substring match on SQLite.
- Foreign-key labels: one query per referenced table for the whole page (no N+1),
  selecting only the label columns (an AI prompt's encrypted text is never read).
"""

from __future__ import annotations

import re

import peewee as pw
from flask import g, request
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup
from peewee import fn

from deepref.admin import access
from deepref.models import (AIInteraction, AIPrompt, AISession, Bundle, KYCDocument, Reference, User,
                            UserRole)

ESTIMATE_ABOVE = 10_000
DEEP_OFFSET = 2_000  # from here, unfiltered pages are found through the sort index
# Columns stored lower-case (a CHECK, or copied from one): compared without lower().
LOWER_CASE = {("users", "email"), ("audit_log", "actor_email")}

# What a referenced row shows as, and the columns that takes.
LABEL_COLUMNS = {
    User: ("email",),
    UserRole: ("role",),
    Bundle: ("title",),
    Reference: ("referrer_name", "company"),
    AIPrompt: ("prompt_id",),
    AISession: ("session_type", "agent_id"),
    AIInteraction: ("model_used", "created_at"),
    KYCDocument: ("document_type",),
}


def estimate_rows(query: pw.ModelSelect, model, narrowed: bool) -> int | None:
    """The planner's estimate of the rows `query` returns (None where there is none)."""
    db = model._meta.database
    if narrowed:
        return db.estimate_rows(query)
    return db.estimate_rows(table=model._meta.table_name)


def count_rows(query: pw.ModelSelect, model, narrowed: bool) -> tuple[int, bool]:
    """(row count, whether it is an estimate) for an unordered, unpaginated query."""
    estimate = estimate_rows(query, model, narrowed)
    if estimate is not None and estimate >= ESTIMATE_ABOVE:
        return estimate, True
    return query.count(), False


def seek(model, field, desc: bool, offset: int) -> tuple[object, int] | None:
    """For a deep page of an unfiltered list: (boundary value, rows to skip after it).

    `ORDER BY field OFFSET n` reads n rows from the table; reading the n-th value from
    the field's index alone (an index-only scan), then the page from there, reads 20.
    """
    order = field.desc() if desc else field.asc()
    row = list(model.select(field).order_by(order).offset(offset).limit(1).tuples())
    if not row:
        return None
    boundary = row[0][0]
    beyond = (field > boundary) if desc else (field < boundary)
    before = model.select(fn.COUNT(pw.SQL("*"))).where(beyond).scalar()
    return boundary, offset - before


def words(text: str) -> list[str]:
    """The search terms typed, without empty pieces."""
    return [w for w in text.split() if w]


def full_text(document_sql: str, text: str) -> pw.Expression:
    """`document @@ plainto_tsquery('english', text)`: served by the GIN index."""
    return pw.Expression(pw.SQL(document_sql), "@@", fn.plainto_tsquery("english", text))


def prefix_query(document_sql: str, text: str) -> pw.Expression | None:
    """Full-text match of every word as a prefix (for type-ahead lookups)."""
    terms = [re.sub(r"[^\w]", "", w) for w in words(text)]
    terms = [t for t in terms if t]
    if not terms:
        return None
    query = " & ".join(f"{t}:*" for t in terms)
    return pw.Expression(pw.SQL(document_sql), "@@", fn.to_tsquery("english", query))


def contains(fields, text: str) -> pw.Expression | None:
    """Every word appears, in any case, in at least one of `fields`."""
    db = fields[0].model._meta.database
    condition = None
    for word in words(text):
        match = None
        for field in fields:
            stored_lower = (field.model._meta.table_name, field.name) in LOWER_CASE
            term = db.contains(field, word, stored_lower)
            match = term if match is None else (match | term)
        condition = match if condition is None else (condition & match)
    return condition


def attach_labels(rows: list, fk_names: list[str]) -> None:
    """Load the referenced rows of `fk_names` for all `rows`, one query per table."""
    if not rows:
        return
    model = type(rows[0])
    by_target: dict = {}
    for name in fk_names:
        field = model._meta.fields[name]
        by_target.setdefault(field.rel_model, []).append(name)
    for target, names in by_target.items():
        ids = {row.__data__.get(n) for row in rows for n in names} - {None}
        if not ids:
            continue
        pk = target._meta.primary_key
        columns = [pk] + [target._meta.fields[c] for c in LABEL_COLUMNS.get(target, ())]
        found = {obj.__data__[pk.name]: obj for obj in target.select(*columns).where(pk.in_(list(ids)))}
        for row in rows:
            for name in names:
                obj = found.get(row.__data__.get(name))
                if obj is not None:
                    row.__rel__[name] = obj


class ListMixin:
    """get_list for AdminModelView: search, filters, estimated counts, deep pages, labels."""

    search_hint = "Search"
    query_narrowed = False  # get_query() is already a part of the table (estimate it so)

    def init_search(self):
        return bool(self.search_document or self.search_fields or self.search_related)

    def search_placeholder(self):
        """What is searched, and how: the truth for this view on this database."""
        by_words = bool(self.search_document) and self.database.has_full_text_search
        return f"{self.search_hint} ({'whole words' if by_words else 'any part'})"

    def get_invalid_value_msg(self, value, filter):
        """An unusable filter value is ignored (Flask-Admin's rule), and said so plainly."""
        shown = value if len(value) <= 40 else value[:40] + "…"
        hint = getattr(filter, "hint", None)
        return (f"The filter “{filter.name}” was not applied: “{shown}” is not a valid value"
                + (f"; enter {hint}." if hint else "."))

    def search_condition(self, text: str):
        if self.search_document and self.database.has_full_text_search:
            condition = full_text(self.search_document, text)
        else:
            # A column the user's console role does not show is not searched either.
            hidden = access.hidden_columns(self.model._meta.table_name)
            own = [getattr(self.model, f) for f in self.search_fields if f not in hidden]
            condition = contains(own, text) if own else None
        for fk_name, columns in self.search_related.items():
            fk = getattr(self.model, fk_name)
            target = fk.rel_model
            match = contains([getattr(target, c) for c in columns], text)
            if match is None:
                continue
            related = fk.in_(target.select(target._meta.primary_key).where(match))
            condition = related if condition is None else (condition | related)
        return condition

    def delete_form(self):
        """None on the list: its rows link to the delete confirmation page instead of
        carrying a delete form each (Flask-Admin builds one for every list request)."""
        if request.endpoint == f"{self.endpoint}.index_view":
            return None
        return super().delete_form()

    def filter_groups_json(self) -> Markup:
        """The filters' description for the page's script, serialised once per process."""
        if getattr(self, "_filter_groups_json", None) is None:
            self._filter_groups_json = Markup(htmlsafe_json_dumps(self._get_filter_groups()))
        return self._filter_groups_json

    def list_cells(self, rows) -> list[tuple[object, list]]:
        """[(pk, [cell, ...])] for a page: each column's formatter is looked up once per
        page, not once per cell as Flask-Admin's get_list_value does (the list's main cost)."""
        plan = []
        for name, _label in self._list_columns:
            formatter = self.column_formatters.get(name)
            choices = self._column_choices_map.get(name, {})
            plan.append((name, formatter, choices))
        types = list(self.column_type_formatters.items())
        found = []
        for row in rows:
            cells = []
            for name, formatter, choices in plan:
                value = formatter(self, None, row, name) if formatter else getattr(row, name, None)
                if choices:
                    value = choices.get(value) or value
                for kind, type_formatter in types:
                    if isinstance(value, kind):
                        value = type_formatter(self, value, name)
                        break
                cells.append(value)
            found.append((self.get_pk_value(row), cells))
        return found

    def filtered_query(self, search, filters) -> tuple[pw.ModelSelect, bool]:
        """The list's query with its search and filters; whether they narrow the table."""
        query = self.get_query()
        narrowed = self.query_narrowed
        if search and self._search_supported:
            condition = self.search_condition(search)
            if condition is not None:
                query, narrowed = query.where(condition), True
        for index, _name, value in filters or ():
            flt = self._filters[index]
            query, narrowed = flt.apply(query, flt.clean(value)), True
        return query, narrowed

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None):
        query, narrowed = self.filtered_query(search, filters)
        page_size = self.page_size if page_size is None else page_size
        offset = (page or 0) * (page_size or 0)
        estimate = estimate_rows(query, self.model, narrowed)
        estimated = estimate is not None and estimate >= ESTIMATE_ABOVE
        g.deepref_count_estimated = estimated
        counted = query
        order, (field, desc) = self._ordering(sort_column, sort_desc)
        if estimated and not narrowed and offset >= DEEP_OFFSET and not field.null:
            found = seek(self.model, field, desc, offset)
            if found is None:
                return estimate, []
            boundary, offset = found
            query = query.where(field <= boundary if desc else field >= boundary)
        query = query.order_by(*order)
        if page_size:
            query = query.limit(page_size)
            if offset:
                query = query.offset(offset)
        if not execute:
            return (estimate if estimated else counted.count()), query
        rows = list(query)
        # Counted apart from the page: `count(*) OVER ()` on the page query would make
        # PostgreSQL evaluate the search on every row while walking the sort index.
        count = estimate if estimated else counted.count()
        attach_labels(rows, list(self.label_columns))
        return count, rows

    def _ordering(self, sort_column, sort_desc):
        """(ORDER BY clauses, (sort field, descending)); an unsortable column: the default."""
        if sort_column is not None and sort_column in self._sortable_columns:
            field, desc = self._sortable_columns[sort_column], bool(sort_desc)
        else:
            name, desc = self.column_default_sort
            field = getattr(self.model, name)
        if isinstance(field, str):
            field = getattr(self.model, field)
        pk = self.model._meta.primary_key
        clauses = [field.desc() if desc else field.asc()]
        if not self.model._meta.composite_key and field is not pk:
            clauses.append(pk.desc() if desc else pk.asc())  # a stable order across pages
        return clauses, (field, desc)
