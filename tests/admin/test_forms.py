"""Forms that tell the truth: native date and time inputs in UTC, and a form saved
unchanged writes nothing (no row update, no audit row) on every editable view."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest
from support import (
    form_of, make_bundle, make_finetune, make_interaction, make_kyc, make_prompt,
    make_reference, make_session, make_user, post, text,
)

from deepref.admin import trail
from deepref.models import AuditLog, BundleReference, Reference
from deepref.models.fields import UTC

SUB_SECOND = dt.datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)


def as_a_browser_sends(form: dict) -> dict:
    """Browsers send a textarea's line breaks as CRLF."""
    return {k: [v.replace("\n", "\r\n") for v in values] for k, values in form.items()}


def full_rows():
    """A row of every editable table with every field filled, timestamps to the microsecond."""
    seeker = make_user("full@example.com", first_name="Ann", last_name="Lee",
                       last_login_at=SUB_SECOND)
    ref = make_reference(seeker, relationship="manager", content="Line one.\nLine two.",
                         media_url="https://media.example.com/a.mp4", responses={"q": "a\nb"},
                         rcs_score=decimal.Decimal("87.50"), expiry_date=SUB_SECOND,
                         submitted_at=SUB_SECOND, status="submitted")
    bundle = make_bundle(seeker, description="For\nInitech", expiry_date=SUB_SECOND,
                         aggregated_rcs=decimal.Decimal("87.50"))  # its links' mean
    BundleReference.create(bundle=bundle, reference=ref, position=3)
    session = make_session(seeker, ended_at=SUB_SECOND + dt.timedelta(days=400))
    prompt = make_prompt(system_prompt="Be careful.\nBe kind.", metadata={"priority": 1})
    return {
        "reference": ref, "bundle": bundle, "user": seeker, "aiprompt": prompt,
        "kycdocument": make_kyc(seeker, metadata={"pages": 2}),
        "aisession": session,
        "aifinetunedataset": make_finetune(make_interaction(session, prompt), quality_score=4,
                                           human_feedback="Good.\nVery good."),
    }


def test_saving_an_unchanged_form_writes_nothing_on_every_editable_view(client, db):
    for view, row in full_rows().items():
        before = trail.snapshot(type(row).get_by_id(row.id))
        form = as_a_browser_sends(form_of(client, f"/admin/{view}/edit/?id={row.id}"))
        response = post(client, f"/admin/{view}/edit/?id={row.id}", form)
        assert response.status_code == 302, (view, text(response)[:3000])
        after = trail.snapshot(type(row).get_by_id(row.id))
        assert after == before, (view, trail.diff(before, after))
        assert AuditLog.select().count() == 0, (view, [e.changes for e in AuditLog.select()])


def test_timestamps_are_native_inputs_in_utc(client, db):
    ref = make_reference(make_user(), expiry_date=SUB_SECOND)
    page = text(client.get(f"/admin/reference/edit/?id={ref.id}"))
    assert 'type="datetime-local"' in page and 'step="1"' in page
    assert 'value="2026-03-04T05:06:07"' in page
    assert ">Expires (UTC)" in page and "datetimepicker" not in page
    assert "daterangepicker" not in page and "moment.min.js" not in page


@pytest.mark.parametrize("typed, stored", [
    ("2027-06-30", dt.datetime(2027, 6, 30, tzinfo=UTC)),
    ("2027-06-30T09:15", dt.datetime(2027, 6, 30, 9, 15, tzinfo=UTC)),
    ("2027-06-30T09:15:42", dt.datetime(2027, 6, 30, 9, 15, 42, tzinfo=UTC)),
    ("2027-06-30 09:15:42 UTC", dt.datetime(2027, 6, 30, 9, 15, 42, tzinfo=UTC)),
    ("2027-06-30T11:15:42+02:00", dt.datetime(2027, 6, 30, 9, 15, 42, tzinfo=UTC)),
])
def test_dates_typed_are_read_in_utc(client, db, typed, stored):
    ref = make_reference(make_user())
    form = form_of(client, f"/admin/reference/edit/?id={ref.id}")
    form["expiry_date"] = [typed]
    assert post(client, f"/admin/reference/edit/?id={ref.id}", form).status_code == 302
    assert Reference.get_by_id(ref.id).expiry_date == stored


@pytest.mark.parametrize("typed", ["30/06/2027", "2027-02-30", "0002-01-01 00:00:00027-06-30",
                                   "tomorrow", "1899-12-31"])
def test_bad_dates_are_form_errors(client, db, typed):
    ref = make_reference(make_user())
    form = form_of(client, f"/admin/reference/edit/?id={ref.id}")
    form["expiry_date"] = [typed]
    body = text(post(client, f"/admin/reference/edit/?id={ref.id}", form))
    assert "is-invalid" in body and ("Enter a date and time in UTC" in body or "year 1900" in body)
    assert Reference.get_by_id(ref.id).expiry_date is None and AuditLog.select().count() == 0
