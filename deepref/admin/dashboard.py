"""The admin home: a few numbers, each from a query that stays fast on millions of rows.

On PostgreSQL, counts of large sets come from the planner's statistics (pg_stats,
EXPLAIN) rather than COUNT(*), and are shown as approximate; small sets, the last 24
hours of AI interactions and everything on SQLite are counted exactly.
"""

from __future__ import annotations

import datetime as dt

from flask_admin import AdminIndexView, expose
from peewee import Case, fn

from deepref.admin.listing import ESTIMATE_ABOVE, count_rows
from deepref.models import AIInteraction, AuditLog, Bundle, KYCDocument, Reference
from deepref.models.core import REFERENCE_STATUSES
from deepref.models.fields import utcnow

RECENT_CHANGES = 8


def references_by_status() -> tuple[list[tuple[str, int]], bool]:
    """[(status, count)] in schema order, and whether the counts are estimates."""
    estimated = _status_estimates(Reference._meta.database)
    if estimated is not None:
        return [(s, estimated.get(s, 0)) for s in REFERENCE_STATUSES], True
    rows = dict(Reference.select(Reference.status, fn.COUNT(Reference.id))
                .group_by(Reference.status).tuples())
    return [(s, rows.get(s, 0)) for s in REFERENCE_STATUSES], False


def _status_estimates(db) -> dict[str, int] | None:
    """Per-status counts from planner statistics, for a large analyzed table."""
    total = db.estimate_rows(table="references")
    if total is None or total < ESTIMATE_ABOVE:
        return None
    shares = db.value_frequencies("references", "status")
    if shares is None:
        return None
    return {value: round(share * total) for value, share in shares.items()}


def kyc_awaiting_review() -> tuple[int, bool]:
    return count_rows(KYCDocument.select().where(KYCDocument.status == "pending"), KYCDocument, True)


def active_bundles() -> tuple[int, bool]:
    return count_rows(Bundle.select().where(Bundle.is_active == True), Bundle, True)  # noqa: E712


def ai_last_24h(now: dt.datetime | None = None) -> dict:
    """Interactions since 24 hours ago: count, successes, success rate, tokens (exact)."""
    since = (now or utcnow()) - dt.timedelta(hours=24)
    total, ok, tokens = (
        AIInteraction.select(
            fn.COUNT(AIInteraction.id),
            fn.COALESCE(fn.SUM(Case(None, [(AIInteraction.success == True, 1)], 0)), 0),  # noqa: E712
            fn.COALESCE(fn.SUM(AIInteraction.tokens_used), 0),
        )
        .where(AIInteraction.created_at >= since)
        .tuples()
        .get()
    )
    rate = (100.0 * int(ok) / total) if total else None
    return {"total": int(total), "succeeded": int(ok), "rate": rate, "tokens": int(tokens)}


def recent_changes() -> list[AuditLog]:
    return list(AuditLog.select().order_by(AuditLog.created_at.desc()).limit(RECENT_CHANGES))


class DashboardView(AdminIndexView):
    """/admin/: the dashboard."""

    @expose("/")
    def index(self):
        statuses, statuses_estimated = references_by_status()
        pending, pending_estimated = kyc_awaiting_review()
        bundles, bundles_estimated = active_bundles()
        return self.render(
            "admin/deepref/dashboard.html",
            statuses=statuses, statuses_estimated=statuses_estimated,
            kyc_pending=pending, kyc_pending_estimated=pending_estimated,
            active_bundles=bundles, active_bundles_estimated=bundles_estimated,
            ai=ai_last_24h(), recent=recent_changes(),
        )
