"""Lists sort by every shown column an index serves, and by no other (on big tables a sort
without an index reads the whole table); labels are the same in lists and forms."""

from __future__ import annotations

import peewee as pw

from deepref.admin import labels
from deepref.models import ALL_MODELS

SMALL_TABLES = {"ai_prompts", "user_roles"}  # a handful of rows: any order is cheap


def leading_columns(model) -> set[str]:
    """Columns that lead some index of `model` (the primary key's included)."""
    found = {model._meta.primary_key.name} if not model._meta.composite_key else set()
    for index in model._meta.indexes:
        fields = getattr(index, "_expressions", None) or []
        if fields and isinstance(fields[0], pw.Field):
            found.add(fields[0].name)
    return found


def views(app):
    admin = app.extensions["deepref_admin"]
    return [v for v in admin._views if getattr(v, "model", None) in ALL_MODELS]


def test_every_indexed_shown_column_is_sortable_and_only_those(app):
    for view in views(app):
        model = view.model
        indexed = leading_columns(model)
        shown = {name for name, _ in view._list_columns if name in model._meta.fields}
        sortable = set(view._sortable_columns)
        missing = {c for c in shown & indexed
                   if c not in sortable and not isinstance(model._meta.fields[c], pw.ForeignKeyField)}
        # A view of part of a table (the KYC queue) sorts by what its own index serves.
        assert view.query_narrowed or not missing, (view.endpoint, missing)
        if model._meta.table_name not in SMALL_TABLES:
            unserved = {c for c in sortable if c not in indexed}
            assert not unserved, (view.endpoint, unserved)


def test_lists_and_forms_use_the_same_labels(client, db, app):
    for view in views(app):
        table = view.model._meta.table_name
        for name, label in view._list_columns:
            if name in view.model._meta.fields:
                assert label.removesuffix(" (UTC)") == labels.label(table, name), (view.endpoint, name)
        if not view.can_create:
            continue
        with app.test_request_context():
            form = view.create_form()
        for field in form:
            if field.name in view.model._meta.fields:
                assert field.label.text.removesuffix(" (UTC)") == labels.label(table, field.name)


def test_the_search_placeholder_tells_how_it_searches(client, db, backend):
    body = client.get("/admin/reference/").get_data(as_text=True)
    expected = "whole words" if backend == "postgres" else "any part"
    assert f'placeholder="Referrer, company or role ({expected})"' in body
    assert 'placeholder="Email or name (any part)"' in client.get("/admin/user/").get_data(as_text=True)
