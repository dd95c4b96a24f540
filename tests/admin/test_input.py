"""Malformed input from the address bar or a form: a 400 page, a filter or form error, never
a 500 and never a half-saved row. Secrets (share tokens) are generated, never typed."""

from __future__ import annotations

import html
import json
import re

import peewee as pw
import pytest
from support import (
    make_finetune, make_interaction, make_prompt, make_reference,
    make_session, make_user, post, text, reference_form, refused, token, version,
)
from werkzeug.test import encode_multipart

from deepref.admin import errors, guard
from deepref.admin.base import AdminModelView
from deepref.models import AIFinetuneDataset, AuditLog, Bundle, KYCDocument, Reference
from deepref.models.core import new_share_token

NUL_FORM_ERROR = "This contains a NUL character, which cannot be stored."
TOKEN_ALPHABET = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


HUGE = "999999999999999999999999"
REFUSED_URLS = [
    # (url, words of the message)
    (f"/admin/user/?page={HUGE}", "'page' must be a whole number"),
    ("/admin/reference/?page=9223372036854775807", "'page' must be a whole number"),
    ("/admin/bundle/?page=-1", "'page' must be a whole number"),
    ("/admin/auditlog/?page=abc", "'page' must be a whole number"),
    ("/admin/aiinteraction/?page_size=-20", "'page_size' must be a whole number"),
    (f"/admin/kycdocument/?sort={HUGE}&desc=1", "'sort' must be a whole number"),
    (f"/admin/reference/ajax/lookup/?name=seeker&query=ab&offset={HUGE}", "'offset' must be"),
    ("/admin/reference/ajax/lookup/?name=seeker&query=ab&offset=-1", "'offset' must be"),
    ("/admin/reference/ajax/lookup/?name=seeker&query=ab&limit=-1", "'limit' must be"),
    ("/admin/user/?search=a%00b", "NUL character"),
    ("/admin/reference/?search=a%00b", "NUL character"),
    ("/admin/bundle/?search=%00", "NUL character"),
    ("/admin/auditlog/?flt0_who_equals=%00", "NUL character"),
    ("/admin/reference/?flt0_status_equals=%00", "NUL character"),
    ("/admin/reference/?flt0_seeker_email_equals=x%00", "NUL character"),
    ("/admin/reference/ajax/lookup/?name=seeker&query=%00", "NUL character"),
    ("/admin/bundle/ajax/lookup/?name=reference_links-reference&query=ab%00", "NUL character"),
    ("/admin/reference/details/?id=%00", "NUL character"),
    ("/admin/reference/?search=" + "a+" * 21, "at most 20 words"),
    ("/admin/user/?search=" + "x" * 201, "at most 20 words (200 characters)"),
    ("/admin/user/?flt0_email_contains=" + "x" * 2001, "too long"),
    ("/admin/user/?" + "&".join(f"flt{i}_role_equals=admin" for i in range(21)), "at most 20 filters"),
    ("/admin/user/?" + "&".join(f"x{i}=1" for i in range(101)), "too many parameters"),
]


def test_malformed_query_strings_get_a_short_400(client, db):
    make_reference(make_user())
    for url, message in REFUSED_URLS:
        response = client.get(url)
        body = text(response)
        assert response.status_code == 400, (url, response.status_code, body[:300])
        if "/ajax/" in url:
            assert response.is_json and response.json["error"] == "bad_request", url
            body = response.json["message"]
        assert message in html.unescape(body), (url, body[:500])
        assert "Traceback" not in body and "SELECT" not in body and "psycopg2" not in body


def test_ordinary_paging_and_lookups_still_work(client, db):
    seeker = make_user("pager@example.com")
    make_reference(seeker)
    for url in ("/admin/reference/?page=0", "/admin/reference/?page=999&page_size=100",
                "/admin/reference/?sort=0&desc=1", "/admin/reference/?page=",
                "/admin/reference/?" + "&".join(
                    f"flt{i}_status_not_equal=expired" for i in range(guard.MAX_FILTERS)),
                "/admin/reference/?search=" + "+".join(["acme"] * guard.MAX_WORDS)):
        assert client.get(url).status_code == 200, url
    found = client.get("/admin/reference/ajax/lookup/?name=seeker&query=pager&offset=0&limit=5")
    assert found.status_code == 200 and found.json == [[str(seeker.id), "pager@example.com"]]
    beyond = client.get("/admin/reference/ajax/lookup/?name=seeker&query=pager&offset=1000000000")
    assert beyond.status_code == 200 and beyond.json == []


def test_filter_values_out_of_range_are_a_filter_error(client, db):
    seeker = make_user()
    prompt = make_prompt()
    for score in (2, 4):
        make_finetune(make_interaction(make_session(seeker), prompt), quality_score=score)
    for url in ("/admin/aifinetunedataset/?flt0_quality_score_equals=9223372036854775808",
                "/admin/aifinetunedataset/?flt0_quality_score_greater_than=2147483648",
                "/admin/aifinetunedataset/?flt0_quality_score_smaller_than=-99999999999999999999",
                "/admin/aifinetunedataset/?flt0_quality_score_equals=1e400"):
        body = text(client.get(url))  # the filter is ignored, and said so
        assert "was not applied" in body and "a whole number from -2147483648 to 2147483647" in body
        assert body.count('name="rowid"') == 2, url
    body = text(client.get("/admin/aifinetunedataset/?flt0_quality_score_greater_than=3"))
    assert "was not applied" not in body and body.count('name="rowid"') == 1
    for url in ("/admin/reference/?flt0_created_greater_than=0001-01-01+00:00:00",
                "/admin/reference/?flt0_created_smaller_than=2027-02-30T10:00"):
        assert "was not applied" in text(client.get(url)), url


JSON_CASES = [
    ('{"a":' + "[" * 100_000 + "]" * 100_000 + "}", "too large"),
    ('{"a":' + "[" * 5_000 + "]" * 5_000 + "}", "nested too deeply"),
    ('{"a":' + "[" * 40 + "]" * 40 + "}", "nested too deeply"),
    ('{"a": ' + "9" * 5000 + "}", "more than 100 digits"),
    ('{"a": NaN}', "NaN is not a JSON value"),
    ('{"a": -Infinity}', "-Infinity is not a JSON value"),
    ('{"a": 1e400}', "is too large"),
    ('{"a": "x\\u0000y"}', "NUL character"),
    ('{"\\u0000": 1}', "NUL character"),
    ('{"a": ["\\ud800"]}', "unpaired"),
    ('{"a": "' + "x" * 100_001 + '"}', "at most 100 KB"),
]


def test_json_fields_refuse_what_cannot_be_stored(client, db):
    seeker = make_user()
    for value, message in JSON_CASES:
        body = refused(post(client, "/admin/reference/new/", reference_form(seeker, responses=value)),
                       message)
        assert "Typed Company" in body and "Something went wrong" not in body, message
    refused(post(client, "/admin/kycdocument/new/", {
        "user": str(seeker.id), "document_type": "passport", "status": "pending",
        "file_path": "kyc/p.png", "metadata": '{"x": NaN}'}), "NaN is not a JSON value")
    assert Reference.select().count() == 0 and KYCDocument.select().count() == 0
    nested = {"q": [{"a": [1, 2.5, "ok", None, True]}], "n": 10**99}
    response = post(client, "/admin/reference/new/",
                    reference_form(seeker, responses=json.dumps(nested)))
    assert response.status_code == 302, text(response)[:2000]
    assert Reference.get().responses == nested


def test_nul_in_a_form_value_is_a_form_error(client, db):
    seeker = make_user()
    for changes in ({"company": "Typed\x00Company"}, {"content": "a\x00b"},
                    {"referrer_email": "rita\x00@acme.example"}):
        refused(post(client, "/admin/reference/new/", reference_form(seeker, **changes)),
                NUL_FORM_ERROR)
    assert Reference.select().count() == 0
    reference = make_reference(seeker)
    refused(post(client, "/admin/bundle/new/", {
        "seeker": str(seeker.id), "title": "B",
        "reference_links-0-reference": str(reference.id), "reference_links-0-position": "1\x00"}),
        NUL_FORM_ERROR)
    assert Bundle.select().count() == 0
    page = post(client, "/admin/reference/delete/", {"id": f"{reference.id}\x00"}, follow=True)
    assert page.status_code == 200 and Reference.select().count() == 1
    example = make_finetune(make_interaction(make_session(seeker), make_prompt()))
    page = post(client, f"/admin/aifinetunedataset/edit/?id={example.id}", {
        "quality_score": "5", "human_feedback": "", "row_version": version(example) + "\x00"})
    assert "a hidden value (row_version) contains a NUL character" in text(page)
    assert AIFinetuneDataset.get().quality_score == 3
    assert AuditLog.select().count() == 0


def test_numbers_and_dates_that_cannot_be_stored_are_form_errors(client, db):
    seeker = make_user()
    for value in ("NaN", "sNaN", "Infinity", "-inf"):
        refused(post(client, "/admin/reference/new/", reference_form(seeker, rcs_score=value)),
                "Not a valid decimal value")
    refused(post(client, "/admin/reference/new/", reference_form(seeker, expiry_date="0001-01-01 00:00:00")),
            "Enter a date from the year 1900 onwards.")
    refused(post(client, "/admin/bundle/new/", {
        "seeker": str(seeker.id), "title": "B", "reference_links-0-reference": "",
        "reference_links-0-position": "9223372036854775808"}),
        "Number must be between 0 and 1000000")
    example = make_finetune(make_interaction(make_session(seeker), make_prompt()))
    refused(post(client, f"/admin/aifinetunedataset/edit/?id={example.id}", {
        "quality_score": "99999999999999999999999", "human_feedback": "",
        "row_version": version(example)}), "Enter a number from 1 to 5.")
    assert Reference.select().count() == 0 and Bundle.select().count() == 0
    assert AIFinetuneDataset.get().quality_score == 3


def test_media_url_must_be_a_web_address(client, db):
    seeker = make_user()
    for url in ("javascript:alert(1)", "JavaScript://%0aalert(1)", "data:text/html,<b>x</b>",
                "file:///etc/passwd", "ftp://example.com/v.mp4", "https://", "//example.com/v.mp4",
                "https://example.com:99999/v.mp4", " https://example.com/v.mp4",
                "https://exa mple.com/v.mp4"):
        body = refused(post(client, "/admin/reference/new/", reference_form(seeker, media_url=url)))
        assert "web address" in body, url
    assert Reference.select().count() == 0
    good = "https://cdn.example.com/refs/v.mp4?t=1"
    assert post(client, "/admin/reference/new/",
                reference_form(seeker, media_url=good)).status_code == 302
    assert Reference.get().media_url == good


def test_kyc_file_path_is_a_relative_storage_key(client, db):
    user = make_user()
    form = {"user": str(user.id), "document_type": "passport", "status": "pending",
            "metadata": "{}"}
    for path, message in (("/etc/passwd", "not starting with /"),
                          ("../secrets/key.pem", "segments"),
                          ("kyc/../../etc/passwd", "segments"),
                          ("kyc//passport.png", "segments"),
                          ("kyc\\passport.png", "Use / between folders"),
                          ("kyc/pass\x01port.png", "control characters"),
                          ("kyc/pass\nport.png", "control characters")):
        refused(post(client, "/admin/kycdocument/new/", {**form, "file_path": path}), message)
    assert KYCDocument.select().count() == 0
    response = post(client, "/admin/kycdocument/new/", {**form, "file_path": "kyc/1234/passport.png"})
    assert response.status_code == 302 and KYCDocument.get().file_path == "kyc/1234/passport.png"


def test_share_tokens_are_generated_never_typed_and_masked(client, db):
    seeker = make_user()
    page = text(client.get("/admin/bundle/new/"))
    assert 'name="share_token"' not in page
    response = post(client, "/admin/bundle/new/", {
        "seeker": str(seeker.id), "title": "Mine", "share_token": "../../x"})
    assert response.status_code == 302, text(response)[:2000]
    bundle = Bundle.get()
    token = bundle.share_token
    assert TOKEN_ALPHABET.match(token) and token != "../../x"
    assert AuditLog.get(AuditLog.action == "create").changes["share_token"] == [None, "***"]

    edit = text(client.get(f"/admin/bundle/edit/?id={bundle.id}"))
    assert token not in edit and 'name="regenerate_share_link"' in edit
    form = {"seeker": str(seeker.id), "title": "Mine"}
    post(client, f"/admin/bundle/edit/?id={bundle.id}",
         {**form, "title": "Renamed", "share_token": "a", "row_version": version(bundle)})
    assert Bundle.get().share_token == token  # a typed token is ignored
    response = post(client, f"/admin/bundle/edit/?id={bundle.id}", {
        **form, "title": "Renamed", "regenerate_share_link": "y", "row_version": version(bundle)})
    assert response.status_code == 302
    fresh = Bundle.get().share_token
    assert fresh != token and TOKEN_ALPHABET.match(fresh)
    changes = [entry.changes for entry in AuditLog.select().where(AuditLog.action == "update")]
    assert {"share_token": ["***", "***"]} in changes
    raw = " ".join(str(row[0]) for row in db.execute_sql("SELECT changes FROM audit_log"))
    assert token not in raw and fresh not in raw
    assert TOKEN_ALPHABET.match(new_share_token())


def test_a_form_too_large_to_read_gets_a_short_page(client, db):
    seeker = make_user()
    # Sent as the console's forms are (multipart), encoded in memory.
    fields = {"csrf_token": token(client), **reference_form(seeker, content="x" * 600_000)}
    boundary, body = encode_multipart(fields)
    response = client.post("/admin/reference/new/", data=body,
                           content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 413 and "shorten the long fields" in text(response)
    assert Reference.select().count() == 0


def test_an_sqlite_refusal_is_not_called_a_lost_connection():
    database = pw.SqliteDatabase(":memory:")
    with pytest.raises(pw.OperationalError) as caught:
        database.execute_sql("SELECT json(?)", ('{"a": NaN}',))
    problem = errors.explain(caught.value, "references", {"responses"})
    assert problem.message == "The database refused this change. Nothing was saved."


@pytest.fixture
def served(app, monkeypatch):
    """The app as served (exceptions become responses, as in production)."""
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    return app


def test_an_unexpected_error_is_a_short_page_without_internals(client, db, served, monkeypatch):
    reference = make_reference(make_user())

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals: SELECT * FROM users")

    for name in ("get_list", "get_one"):
        monkeypatch.setattr(AdminModelView, name, broken)
    for url in ("/admin/reference/", f"/admin/reference/details/?id={reference.id}",
                f"/admin/reference/edit/?id={reference.id}"):
        response = client.get(url)
        body = text(response)
        assert response.status_code == 500, (url, response.status_code)
        assert "Something went wrong" in body and "Back to the admin console" in body
        assert "secret internals" not in body and "Traceback" not in body
    monkeypatch.undo()
    missing = client.get("/admin/no-such-page/")
    assert missing.status_code == 404 and "There is no such page" in text(missing)
    lookup = client.get("/admin/bundle/ajax/lookup/?name=nope&query=ab")
    assert lookup.status_code == 404 and lookup.json["error"] == "not_found"
    elsewhere = client.get("/no-such-page")
    assert elsewhere.status_code == 404 and "admin console" not in text(elsewhere)
