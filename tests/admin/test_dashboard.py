"""The dashboard's charts: references by status and KYC queue age as bars, AI interactions
per day (count, success rate, tokens) over 30 days as lines, drawn as SVG on the server."""

from __future__ import annotations

import datetime as dt
import re

from support import hours_ago, make_interaction, make_kyc, make_prompt, make_reference, make_session, make_user, text

from deepref.admin import dashboard
from deepref.models.fields import utcnow


def test_kyc_queue_ages_in_bands(db):
    user = make_user()
    for hours in (1, 20, 30, 100, 200, 400, 2000):
        make_kyc(user, created_at=hours_ago(hours))
    make_kyc(user, status="verified", created_at=hours_ago(5000))
    assert dashboard.kyc_queue_ages() == [("under 1 day", 2), ("1-3 days", 1), ("3-7 days", 1),
                                          ("1-2 weeks", 1), ("over 2 weeks", 2)]


def test_ai_interactions_per_day_over_30_days(db):
    now = utcnow().replace(hour=12, minute=0, second=0, microsecond=0)
    session, prompt = make_session(make_user()), make_prompt()
    for days_ago, success, tokens in ((0, True, 10), (0, False, 5), (2, True, 7), (29, True, 1),
                                      (30, True, 1000)):
        make_interaction(session, prompt, created_at=now - dt.timedelta(days=days_ago),
                         success=success, tokens_used=tokens)
    daily = dashboard.ai_per_day(now)
    assert len(daily["days"]) == 30 and daily["days"][-1] == now.date()
    assert daily["count"][-1] == 2 and daily["rate"][-1] == 50.0 and daily["tokens"][-1] == 15
    assert daily["count"][-3] == 1 and daily["count"][0] == 1 and sum(daily["count"]) == 4
    assert daily["rate"][-2] is None  # no interaction that day: no rate


def test_the_dashboard_draws_its_charts_as_svg(client, db):
    seeker = make_user()
    make_reference(seeker, status="verified")
    make_kyc(seeker, created_at=hours_ago(300))
    make_interaction(make_session(seeker), make_prompt(), created_at=hours_ago(1))
    body = text(client.get("/admin/"))
    for chart in ("chart-statuses", "chart-kyc-ages", "chart-ai-count", "chart-ai-rate",
                  "chart-ai-tokens"):
        assert f'<svg class="chart" id="{chart}"' in body and f'aria-labelledby="{chart}-title' in body
    assert '<rect class="bar warn"' in body  # over two weeks: shown as late
    assert not re.search(r"<script(?![^>]*nonce=)", body)  # no inline script: the CSP holds
