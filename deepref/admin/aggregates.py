"""Numbers derived from other rows, kept up to date by the console's writes.

A bundle's aggregated RCS is the mean RCS score of its linked references (those that
have one), to two decimals; empty when none has a score. It changes when links change
(bundles.py) and when a linked reference's score changes or the reference is deleted
(references.py); each change of it is in the audit log.
"""

from __future__ import annotations

import decimal

from peewee import fn

from deepref.admin import trail
from deepref.models import Bundle, BundleReference, Reference

CENT = decimal.Decimal("0.01")


def mean_rcs(bundle_id, without=None) -> decimal.Decimal | None:
    """The mean score of the bundle's linked references (optionally but one)."""
    query = (BundleReference.select(fn.AVG(Reference.rcs_score)).join(Reference)
             .where(BundleReference.bundle == bundle_id))
    if without is not None:
        query = query.where(BundleReference.reference != without)
    value = query.scalar()
    return None if value is None else decimal.Decimal(str(value)).quantize(CENT, decimal.ROUND_HALF_UP)


def refresh(bundle, without=None) -> tuple[float | None, float | None]:
    """Store the bundle's mean; (old, new) as the audit log writes them."""
    old = bundle.aggregated_rcs
    new = mean_rcs(bundle.id, without)
    if old != new:
        Bundle.update(aggregated_rcs=new).where(Bundle.id == bundle.id).execute()
        bundle.aggregated_rcs = new
    return trail.jsonable(old), trail.jsonable(new)


def refresh_bundles_of(reference_id, without: bool = False) -> int:
    """Refresh every bundle linking `reference_id` (as if it were gone, if `without`);
    one audit row per bundle whose aggregate moved. Call inside the write's transaction."""
    bundles = (Bundle.select(Bundle.id, Bundle.aggregated_rcs)
               .join(BundleReference).where(BundleReference.reference == reference_id))
    moved = 0
    for bundle in bundles:
        old, new = refresh(bundle, reference_id if without else None)
        if old != new:
            trail.record("update", "bundles", str(bundle.id), {"aggregated_rcs": [old, new]})
            moved += 1
    return moved
