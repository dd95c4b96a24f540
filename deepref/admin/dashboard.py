"""The admin home: charts and numbers, each from a query that stays fast on millions of rows.

On PostgreSQL, counts of large sets come from the planner's statistics (pg_stats,
EXPLAIN) rather than COUNT(*), and are shown as approximate; small sets and everything
on SQLite are counted exactly. The KYC queue's ages are a COUNT per age band over the
pending documents' (status, created_at) index; AI interactions per day one pass over the
last 30 days' (created_at, success, tokens_used) index, both index-only on PostgreSQL.
Charts are drawn on the server (charts.py).
"""

from __future__ import annotations

import datetime as dt

from flask_admin import AdminIndexView, expose
import peewee as pw
from peewee import fn

from deepref.admin import charts
from deepref.admin.base import ReadsFromReplica
from deepref.admin.listing import ESTIMATE_ABOVE, count_rows
from deepref.models import AIInteraction, AuditLog, Bundle, KYCDocument, Reference
from deepref.models.core import REFERENCE_STATUSES
from deepref.models.fields import utcnow

RECENT_CHANGES = 8
DAYS = 30
# (label, from, to) in days waited; the last ones are shown as a warning.
QUEUE_AGES = (("under 1 day", 0, 1), ("1-3 days", 1, 3), ("3-7 days", 3, 7),
              ("1-2 weeks", 7, 14), ("over 2 weeks", 14, None))
LATE_FROM = 3  # "1-2 weeks" and older


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


def active_bundles() -> tuple[int, bool]:
    return count_rows(Bundle.select().where(Bundle.is_active == True), Bundle, True)  # noqa: E712


def ai_last_24h(now: dt.datetime | None = None) -> dict:
    """Interactions since 24 hours ago: count, successes, success rate, tokens (exact)."""
    since = (now or utcnow()) - dt.timedelta(hours=24)
    total, ok, tokens = (
        AIInteraction.select(  # index-only: ix_ai_interactions_created_at_success_tokens_used
            fn.COUNT(pw.SQL("*")),
            fn.COUNT(pw.SQL("*")).filter(AIInteraction.success == True),  # noqa: E712
            fn.COALESCE(fn.SUM(AIInteraction.tokens_used), 0),
        )
        .where(AIInteraction.created_at >= since)
        .tuples()
        .get()
    )
    rate = (100.0 * int(ok) / total) if total else None
    return {"total": int(total), "succeeded": int(ok), "rate": rate, "tokens": int(tokens)}


def kyc_queue_ages(now: dt.datetime | None = None) -> list[tuple[str, int]]:
    """[(age band, pending documents)] by how long they have waited: one COUNT per band,
    each an index-only range of ix_kyc_documents_status_created_at."""
    now = now or utcnow()
    created = KYCDocument.created_at
    found = []
    for label, low, high in QUEUE_AGES:
        band = (KYCDocument.status == "pending") & (created <= now - dt.timedelta(days=low))
        if high is not None:
            band &= created > now - dt.timedelta(days=high)
        found.append((label, KYCDocument.select(fn.COUNT(pw.SQL("*"))).where(band).scalar()))
    return found


def ai_per_day(now: dt.datetime | None = None, days: int = DAYS) -> dict:
    """The last `days` days (UTC) of AI interactions: per day count, success rate, tokens."""
    now = now or utcnow()
    first = (now - dt.timedelta(days=days - 1)).date()
    start = dt.datetime.combine(first, dt.time(), tzinfo=now.tzinfo)
    day, day_text = AIInteraction._meta.database.utc_day(AIInteraction.created_at)
    rows = (AIInteraction.select(
        day_text, fn.COUNT(pw.SQL("*")),
        fn.COUNT(pw.SQL("*")).filter(AIInteraction.success == True),  # noqa: E712
        fn.COALESCE(fn.SUM(AIInteraction.tokens_used), 0))
        .where(AIInteraction.created_at >= start).group_by(day).tuples())
    found = {dt.date.fromisoformat(d): (int(n), int(ok), int(t)) for d, n, ok, t in rows}
    dates = [first + dt.timedelta(days=k) for k in range(days)]
    counts = [found.get(d, (0, 0, 0)) for d in dates]
    return {
        "days": dates,
        "count": [n for n, _, _ in counts],
        "rate": [100.0 * ok / n if n else None for n, ok, _ in counts],
        "tokens": [t for _, _, t in counts],
    }


def recent_changes() -> list[AuditLog]:
    return list(AuditLog.select().order_by(AuditLog.created_at.desc()).limit(RECENT_CHANGES))


class DashboardView(ReadsFromReplica, AdminIndexView):
    """/admin/: the dashboard."""

    read_views = ("index",)

    @expose("/")
    def index(self):
        statuses, statuses_estimated = references_by_status()
        bundles, bundles_estimated = active_bundles()
        ages = kyc_queue_ages()  # exact: one pass over the pending documents' index
        pending, pending_estimated = sum(n for _, n in ages), False
        daily = ai_per_day()
        figures = {
            "statuses": charts.bars("chart-statuses", "References by status", statuses,
                                    approx=statuses_estimated),
            "ages": charts.bars("chart-kyc-ages", "KYC documents waiting for review, by age",
                                ages, warn_from=LATE_FROM),
            "count": charts.line("chart-ai-count", "AI interactions per day", daily["days"],
                                 daily["count"]),
            "rate": charts.line("chart-ai-rate", "AI success rate per day", daily["days"],
                                daily["rate"], unit="%", decimals=1),
            "tokens": charts.line("chart-ai-tokens", "AI tokens used per day", daily["days"],
                                  daily["tokens"]),
        }
        return self.render(
            "admin/deepref/dashboard.html",
            statuses=statuses, statuses_estimated=statuses_estimated,
            kyc_pending=pending, kyc_pending_estimated=pending_estimated,
            active_bundles=bundles, active_bundles_estimated=bundles_estimated,
            ai=ai_last_24h(), recent=recent_changes(), ages=ages, daily=daily, charts=figures,
        )
