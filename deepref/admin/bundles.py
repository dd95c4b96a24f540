"""Bundles, with the references they contain edited on the same page.

The links (bundle_references) are written in the bundle's own transaction and appear in
its audit record as one "links" change. Flask-Admin's inline models need a single-column
primary key; bundle_references has (bundle_id, reference_id), hence this small editor.
Only the bundle's own seeker's references can be linked (the lookup offers no others;
anything else posted is a form error). Aggregated RCS is the mean RCS of the linked
references (aggregates.py), kept up to date when links or scores change, never typed;
the view count is the platform's, read-only here.

The share token is a secret: generated with the row (deepref.models.core.new_share_token),
never shown, masked in the audit log, and replaced by a new one on request ("regenerate
the share link"), which is also how a leaked link is revoked.
"""

from __future__ import annotations

from flask_admin.form import BaseForm
from flask_admin.model.fields import InlineFieldList, InlineModelFormField
from flask import request
from wtforms import BooleanField, IntegerField, validators

from deepref.admin import aggregates, errors, filters
from deepref.admin.base import AdminModelView
from deepref.admin.fields import LookupField
from deepref.admin.lookups import SeekersReferenceLookup, UserLookup
from deepref.models import Bundle, BundleReference, Reference, User
from deepref.models.core import new_share_token
from deepref.models.indexes import BUNDLE_FTS_DOCUMENT

LINKS = "reference_links"  # the form field; not a model attribute, so Flask-Admin leaves it alone
LINKS_LOOKUP = "reference_links-reference"
MAX_POSITION = 1_000_000


class LinksField(InlineFieldList):
    """The bundle's references in order (filled by BundleAdmin.edit_form)."""

    def display_row_controls(self, field):
        return field.get_pk() is not None

    def populate_obj(self, obj, name):
        pass  # written by BundleAdmin.save_related, after the bundle row exists

    def wanted(self) -> list[tuple[object, int]]:
        """(reference id, position) for every entry not marked for removal."""
        rows = []
        for entry in self.entries:
            if self.should_delete(entry):
                continue
            reference = entry.form.reference.data
            if reference is not None:
                rows.append((reference.id, entry.form.position.data or 0))
        return rows


class RegenerateField(BooleanField):
    """Ticked: the bundle gets a new share token, and its current link stops working."""

    def populate_obj(self, obj, name):
        if self.data:
            obj.share_token = new_share_token()


def links_of(bundle) -> list[BundleReference]:
    """The bundle's links with their references' labels, in one query."""
    query = (BundleReference
             .select(BundleReference, Reference.id, Reference.referrer_name, Reference.company)
             .join(Reference)
             .where(BundleReference.bundle == bundle.id)
             .order_by(BundleReference.position, Reference.referrer_name))
    return list(query)


def _link_form(loader):
    class LinkForm(BaseForm):  # part of the bundle's form, which carries the CSRF token
        reference = LookupField(loader, "Reference")
        position = IntegerField("Position", default=0, validators=[
            validators.Optional(), validators.NumberRange(0, MAX_POSITION)])

    return LinkForm


class BundleAdmin(AdminModelView):
    column_list = ("title", "seeker", "is_active", "aggregated_rcs", "view_count",
                   "expiry_date", "created_at")
    column_sortable_list = ("title", "is_active", "aggregated_rcs", "expiry_date", "created_at")
    column_details_exclude_list = ("share_token",)
    label_columns = ("seeker",)
    search_document = BUNDLE_FTS_DOCUMENT
    search_hint = "Title or description"
    search_fields = ("title", "description")
    column_filters = [
        *filters.flag(Bundle.is_active),
        *filters.related(Bundle.seeker, User.email, "Seeker email"),
        *filters.moment(Bundle.created_at),
        *filters.moment(Bundle.expiry_date),
    ]
    form_columns = ("seeker", "title", "description", "is_active", "expiry_date")
    related_fields = ("links",)
    related_model = Reference

    def __init__(self, *args, **kwargs):
        self.form_ajax_refs = {"seeker": UserLookup("seeker")}
        super().__init__(Bundle, *args, **kwargs)

    def scaffold_form(self):
        form_class = super().scaffold_form()
        loader = SeekersReferenceLookup(LINKS_LOOKUP)
        self._form_ajax_refs[LINKS_LOOKUP] = loader
        setattr(form_class, LINKS, LinksField(
            InlineModelFormField(_link_form(loader), "reference"), label="References in this bundle"))
        return form_class

    def get_edit_form(self):
        form_class = super().get_edit_form()
        field = RegenerateField("Regenerate the share link", description=(
            "Gives the bundle a new random link; the current link stops working at once."))
        return type(form_class.__name__, (form_class,), {"regenerate_share_link": field})

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        if obj is not None and request.method == "GET":
            form[LINKS].process(None, links_of(obj))
        return form

    def check_record(self, form) -> bool:
        links = form[LINKS]
        ids = [ref for ref, _ in links.wanted()]
        if len(ids) != len(set(ids)):
            links.errors = list(links.errors) + ["A reference can be in a bundle only once."]
            return False
        seeker = form.seeker.data
        others = list(Reference.select(Reference.id, Reference.referrer_name, Reference.company)
                      .where(Reference.id.in_(ids) & (Reference.seeker != getattr(seeker, "id", None))))
        if ids and seeker is not None and others:
            named = "; ".join(str(ref) for ref in others[:5])
            links.errors = list(links.errors) + [
                f"Only references of this bundle's seeker ({seeker.email}) can be in it; "
                f"not: {named}."]
            return False
        return True

    def related_snapshot(self, model) -> list:
        return [{"reference": str(link.reference_id), "position": link.position}
                for link in BundleReference.select().where(BundleReference.bundle == model.id)
                .order_by(BundleReference.position, BundleReference.reference)]

    def save_related(self, form, model) -> dict:
        """Make the bundle's links exactly those of the form; return the change."""
        before = self.related_snapshot(model)
        wanted = dict(form[LINKS].wanted())
        if len(wanted) != len(form[LINKS].wanted()):
            raise errors.FriendlyError("A reference can be in a bundle only once.", LINKS)
        existing = {link.reference_id: link for link in
                    BundleReference.select().where(BundleReference.bundle == model.id)}
        gone = [ref for ref in existing if ref not in wanted]
        if gone:
            BundleReference.delete().where(
                (BundleReference.bundle == model.id) & BundleReference.reference.in_(gone)).execute()
        for ref, position in wanted.items():
            if ref not in existing:
                BundleReference.insert(bundle=model.id, reference=ref, position=position).execute()
            elif existing[ref].position != position:
                BundleReference.update(position=position).where(
                    (BundleReference.bundle == model.id) & (BundleReference.reference == ref)).execute()
        after = self.related_snapshot(model)
        changes = {"links": [before, after]} if before != after else {}
        old, new = aggregates.refresh(model)
        if old != new:
            changes["aggregated_rcs"] = [old, new]
        return changes

    def restore_related(self, row, wanted):
        """A revert puts the links back as they were."""
        BundleReference.delete().where(BundleReference.bundle == row.id).execute()
        for link in wanted:
            if Reference.select().where(Reference.id == link["reference"]).exists():
                BundleReference.insert(bundle=row.id, reference=link["reference"],
                                       position=link["position"]).execute()
        return self.related_snapshot(row)

    def after_revert(self, row) -> dict:
        old, new = aggregates.refresh(row)
        return {"aggregated_rcs": [old, new]} if old != new else {}
