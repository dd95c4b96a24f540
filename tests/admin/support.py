"""Helpers for the admin console tests: forms as a browser posts them, and rows."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import uuid


from deepref.models import (
    AIFinetuneDataset,
    AIInteraction,
    AIPrompt,
    AISession,
    Bundle,
    KYCDocument,
    Reference,
    User,
)
from deepref.models.fields import utcnow

ADMIN_EMAIL = "admin@example.com"
PASSWORD = "correct horse battery staple"
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
# The signed-in admin: the same id and hash in every test, so one sign-in serves all.
ADMIN_ID = uuid.UUID("00000000-0000-4000-8000-00000000ad01")


def token(client, page="/admin/") -> str:
    """The CSRF token of the session, read from a page as a browser would."""
    response = client.get(page)
    assert response.status_code == 200, (page, response.status_code)
    return TOKEN.search(response.get_data(as_text=True)).group(1)


def post(client, url, data, follow=False, **kwargs):
    """POST a form the way the console's pages do: with the session's CSRF token."""
    return client.post(url, data={"csrf_token": token(client), **data},
                       follow_redirects=follow, **kwargs)


def text(response) -> str:
    return response.get_data(as_text=True)


def version(row) -> str:
    """What the edit form carries as row_version."""
    return type(row).get_by_id(row.id).updated_at.isoformat()


@contextlib.contextmanager
def counting_queries(database):
    """Record the (sql, params) that `database` runs inside the block."""
    calls = []
    original = database.execute_sql

    def counted(sql, params=None, *args, **kwargs):
        calls.append((sql, params))
        return original(sql, params, *args, **kwargs)

    database.execute_sql = counted
    try:
        yield calls
    finally:
        del database.execute_sql


# -- rows ---------------------------------------------------------------------------------

def make_user(email="seeker@example.com", **fields) -> User:
    return User.create(email=email, **fields)


def make_reference(seeker, **fields) -> Reference:
    values = {"referrer_name": "Rita Ref", "referrer_email": "rita@acme.example",
              "company": "Acme", "role": "Manager", **fields}
    return Reference.create(seeker=seeker, **values)


def make_bundle(seeker, **fields) -> Bundle:
    return Bundle.create(seeker=seeker, **{"title": "My bundle", **fields})


def make_kyc(user, **fields) -> KYCDocument:
    values = {"document_type": "passport", "file_path": "kyc/passport.png", **fields}
    return KYCDocument.create(user=user, **values)


def make_prompt(prompt_id="coach-v1", **fields) -> AIPrompt:
    values = {"name": "Coach", "system_prompt": "You are a careful coach.",
              "user_prompt_template": "Help with {reference_text}", "version": "1.0.0",
              "model_preference": "claude-sonnet-4-5", **fields}
    return AIPrompt.create(prompt_id=prompt_id, **values)


def make_session(user, **fields) -> AISession:
    return AISession.create(user=user, session_type=fields.pop("session_type", "coaching"), **fields)


def make_interaction(session, prompt, **fields) -> AIInteraction:
    values = {"user_input": "hello", "model_used": "claude-sonnet-4-5", "tokens_used": 10, **fields}
    return AIInteraction.create(session=session, prompt=prompt, **values)


def make_finetune(interaction, **fields) -> AIFinetuneDataset:
    return AIFinetuneDataset.create(interaction=interaction, quality_score=fields.pop("quality_score", 3),
                                    **fields)


def hours_ago(hours: float) -> dt.datetime:
    return utcnow() - dt.timedelta(hours=hours)


def reference_form(owner, **changes):
    """The fields of a valid new reference of `owner`, with `changes`."""
    return {"seeker": str(owner.id), "referrer": "", "referrer_name": "Rita Ref",
            "referrer_email": "rita@acme.example", "company": "Typed Company", "role": "CTO",
            "relationship": "", "format": "text", "status": "pending", "content": "",
            "media_url": "", "responses": "{}", "rcs_score": "", "expiry_date": "",
            "submitted_at": "", **changes}


def refused(response, *messages):
    """The form came back (200) with every message (nothing was written)."""
    body = text(response)
    assert response.status_code == 200, body[:1000]
    for message in messages:
        assert message in body, (message, body[:3000])
    return body


def form_of(client, url, form_class="admin-form") -> dict:
    """The fields of the page's form exactly as a browser would submit them unchanged."""
    import lxml.html

    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    forms = lxml.html.fromstring(text(page)).xpath(
        f"//form[contains(concat(' ', @class, ' '), ' {form_class} ')]")
    assert forms, f"no form.{form_class} on {url}"
    # An HTML parser drops a textarea's first line break (libxml2 does not: do it here).
    textareas = {el.name for el in forms[0].xpath(".//textarea")}
    values: dict[str, list[str]] = {}
    for name, value in forms[0].form_values():
        if name in textareas and value.startswith(("\r\n", "\n")):
            value = value[2:] if value.startswith("\r\n") else value[1:]
        values.setdefault(name, []).append(value)
    return values
