"""Every console role against every console endpoint (issue 10): what a role may do works,
what it may not is refused with a 403 and writes nothing, and no page shows it a link,
button or form that would be refused.

The expectations (ALLOWED) are written out from the issue's definition of the roles, not
read from deepref/admin/access.py, so the table there is checked against them. One test
per endpoint runs all four roles: the refused ones first (one database snapshot before
and after), then each allowed one on rows of its own.
"""

from __future__ import annotations

import itertools
import uuid
from urllib.parse import parse_qsl, urlsplit

import lxml.html
import pytest
from databases import database_of, empty_tables
from support import (
    ADMIN_EMAIL, ADMIN_ID, TOKEN, form_of, make_bundle, make_finetune,
    make_interaction, make_kyc, make_prompt, make_reference, make_session, make_user,
    reference_form, text,
)

from deepref import auth
from deepref.admin import access
from deepref.models import (
    ALL_MODELS, AdminSession, AIFinetuneDataset, AIInteraction, AIPrompt, AISession, AuditLog,
    Bundle, BundleReference, KYCDocument, Reference, User, UserRole,
)

ADMIN, REVIEWER, EDITOR, VIEWER = "admin", "reviewer", "prompt-editor", "viewer"
ROLES = (ADMIN, REVIEWER, EDITOR, VIEWER)
STAFF = [f"{role}@example.com" for role in ROLES if role != ADMIN]
EVERYONE = set(ROLES)
NOBODY: set[str] = set()
READ_MOST = {ADMIN, REVIEWER, VIEWER}  # references, bundles, users, KYC documents
READ_AI = {ADMIN, EDITOR, VIEWER}  # AI prompts, sessions and interactions
_serial = itertools.count()


# -- rows and signed-in clients ------------------------------------------------------------

def make_rows() -> dict:
    """One row of every table (fresh each call, so each allowed role acts on its own)."""
    with AuditLog._meta.database.atomic():  # one commit, not twenty
        return _rows(next(_serial))


def _rows(n: int) -> dict:
    seeker = make_user(f"seeker{n}@example.com")
    session = make_session(seeker)
    prompt = make_prompt(f"coach-{n}")
    interaction = make_interaction(session, prompt)
    staff = make_user(f"staff{n}@example.com", role="admin")
    reference = make_reference(seeker, company="Acme")
    rows = {
        "seeker": seeker, "staff": staff, "reference": reference,
        "bundle": make_bundle(seeker, share_token=f"share-{n}"),
        "kycdocument": make_kyc(seeker, file_path=f"kyc/{n}/secret-passport.png"),
        "aiprompt": make_prompt(f"spare-{n}"),  # no interactions: it can be deleted
        "aisession": session, "aiinteraction": interaction,
        "aifinetunedataset": make_finetune(interaction),
        "userrole": UserRole.create(user=staff, role=VIEWER),
        "user": make_user(f"other{n}@example.com"),
    }
    rows["kycqueue"] = rows["kycdocument"]
    # A change to revert on each table (the row still holds the "after" values).
    rows["entries"] = {view: AuditLog.create(
        action="update", table_name=rows[view]._meta.table_name, row_id=str(rows[view].id),
        changes={field: [before, after]}).id for view, field, before, after in (
            ("reference", "company", "Old Co", "Acme"), ("user", "kyc_status", "verified", "pending"),
            ("aiprompt", "name", "Old name", "Coach"), ("aisession", "session_type", "old", "coaching"),
            ("aiinteraction", "model_used", "old", "claude-sonnet-4-5"))}
    rows["auditlog"] = AuditLog.get_by_id(rows["entries"]["reference"])
    return rows


@pytest.fixture(scope="module")
def signed_in(console, password_hash):
    """(app, {role: a client signed in as a staff account holding only that role}),
    made once per backend for this module; every other row goes after each test."""
    app = console[1]
    database = database_of(app)
    found = {}
    for role in ROLES:
        user = User.create(id=ADMIN_ID if role == ADMIN else uuid.uuid4(),
                           email=ADMIN_EMAIL if role == ADMIN else f"{role}@example.com",
                           role="admin", password_hash=password_hash)
        UserRole.create(user=user, role=role)
        client = app.test_client()
        with client.session_transaction() as session:
            session.update(auth.session_values(user))
        client.token = TOKEN.search(text(client.get("/admin/"))).group(1)
        found[role] = client
    yield app, found
    database_of(app)
    empty_tables(database)


@pytest.fixture
def app(signed_in):
    """The module's app, bound; the rows a test made (all but the signed-in users) go after it."""
    app, _ = signed_in
    database = database_of(app)
    yield app
    database_of(app)
    keep = [ADMIN_ID] + [u.id for u in User.select(User.id).where(User.email.in_(STAFF))]
    with database.atomic():
        for model in (AuditLog, AIFinetuneDataset, AIInteraction, AISession, AIPrompt, KYCDocument,
                      BundleReference, Bundle, Reference):
            model.delete().execute()
        UserRole.delete().where(UserRole.user.not_in(keep) | (UserRole.granted_by.is_null(False))
                                ).execute()
        User.delete().where(User.id.not_in(keep)).execute()
    if not database.is_closed():
        database.close()


@pytest.fixture
def clients(signed_in, app):
    return signed_in[1]


def send(client, method, url, data=None):
    """One request, read to its end (a streamed CSV too) and closed."""
    if method == "GET":
        response = client.get(url)
    else:
        response = client.post(url, data={**(data or {}), "csrf_token": client.token})
    response.get_data()
    response.close()
    return response


def snapshot() -> dict:
    """Every row of every table but the sessions (a refused request changes none)."""
    database = AuditLog._meta.database
    return {m._meta.table_name: sorted(map(str, database.execute_sql(
        f'SELECT * FROM "{m._meta.table_name}"').fetchall()))
        for m in ALL_MODELS if m is not AdminSession}


# -- the endpoints -------------------------------------------------------------------------

def edit_form(view, change):
    """The edit form as the acting role loaded it (an admin's copy for a refused role)."""
    def build(rows, client, role):
        url = f"/admin/{view}/edit/?id={rows[view].id}"
        shown = client.get(url).status_code == 200
        return {**(form_of(client, url) if shown else {}), **change(role)}
    return build


CREATE = {
    "reference": lambda rows, role: reference_form(rows["seeker"]),
    "bundle": lambda rows, role: {"seeker": str(rows["seeker"].id), "title": f"New {role}",
                                  "description": "", "is_active": "y", "expiry_date": ""},
    "kycdocument": lambda rows, role: {"user": str(rows["seeker"].id), "document_type": "passport",
                                       "file_path": "kyc/new.png", "metadata": "{}"},
    "user": lambda rows, role: {"email": f"new-{role}@example.com", "role": "seeker",
                                "kyc_status": "pending", "is_active": "y"},
    "aiprompt": lambda rows, role: {"prompt_id": f"new-{role}-{next(_serial)}", "name": "New",
                                    "version": "1.0.0", "model_preference": "m", "is_active": "y",
                                    "system_prompt": "Be kind.", "user_prompt_template": "{x}",
                                    "metadata": "{}"},
    "userrole": lambda rows, role: {"user": str(rows["staff"].id), "role": REVIEWER},
}
EDITS = {
    "reference": lambda role: {"company": f"Changed by {role}"},
    "bundle": lambda role: {"title": f"Changed by {role}"},
    "kycdocument": lambda role: {"file_path": f"kyc/changed-{role}.png"},
    "user": lambda role: {"kyc_status": "verified"},
    "aiprompt": lambda role: {"name": f"Changed by {role}"},
    "aisession": lambda role: {"ended_at": f"2099-01-0{ROLES.index(role) + 1}T10:00:00"},
    "aifinetunedataset": lambda role: {"human_feedback": f"Changed by {role}"},
}
LOOKUPS = {"reference": "seeker", "bundle": "seeker", "kycdocument": "user", "userrole": "user"}
# view -> roles that may read it, and that may write it (create, edit, delete).
VIEWS = {
    "reference": (READ_MOST, {ADMIN}), "bundle": (READ_MOST, {ADMIN}),
    "kycdocument": (READ_MOST, {ADMIN}), "kycqueue": (READ_MOST, NOBODY),
    "user": (READ_MOST, {ADMIN}), "userrole": ({ADMIN, VIEWER}, {ADMIN}),
    "aiprompt": (READ_AI, {ADMIN, EDITOR}), "aisession": (READ_AI, NOBODY),
    "aiinteraction": (READ_AI, NOBODY), "aifinetunedataset": ({ADMIN, VIEWER}, NOBODY),
    "auditlog": ({ADMIN, VIEWER}, NOBODY),
}
PAGES = {"admin", "account", "database"}  # the dashboard, your account, the migrations' state
EDITORS = {"aisession": {ADMIN}, "aifinetunedataset": {ADMIN}, "aiprompt": {ADMIN, EDITOR},
           "userrole": NOBODY}
DELETERS = {"aiprompt": {ADMIN}, "userrole": {ADMIN}}
CREATORS = {"userrole": {ADMIN}, "aiprompt": {ADMIN, EDITOR}}


def endpoints():
    """(id, method, url(rows), data(rows, client, role), roles allowed, what "works" is)."""
    yield "dashboard", "GET", lambda r: "/admin/", None, EVERYONE, 200
    yield "database-page", "GET", lambda r: "/admin/database/", None, {ADMIN}, 200
    yield "account-page", "GET", lambda r: "/admin/account/", None, EVERYONE, 200
    yield "account-enrol-form", "GET", lambda r: "/admin/account/second-factor", None, EVERYONE, 200
    yield "account-password", "POST", lambda r: "/admin/account/password", \
        lambda r, c, role: {"current_password": "wrong", "new_password": "x"}, EVERYONE, 200
    yield "account-remove-factor", "POST", lambda r: "/admin/account/second-factor/remove", \
        lambda r, c, role: {}, EVERYONE, 200
    for view, (readers, writers) in VIEWS.items():
        editors = EDITORS.get(view, writers)
        creators = CREATORS.get(view, writers if view in CREATE else NOBODY)
        deleters = DELETERS.get(view, writers if view not in ("aiprompt",) else NOBODY)
        row = lambda r, v=view: r[v].id  # noqa: E731
        yield f"{view}-list", "GET", lambda r, v=view: f"/admin/{v}/", None, readers, 200
        yield f"{view}-details", "GET", lambda r, v=view: f"/admin/{v}/details/?id={row(r, v)}", \
            None, readers, 200
        yield f"{view}-history", "GET", lambda r, v=view: f"/admin/{v}/history/?id={row(r, v)}", \
            None, readers, 200
        yield f"{view}-export", "GET", lambda r, v=view: f"/admin/{v}/export.csv", None, readers, 200
        yield f"{view}-new-form", "GET", lambda r, v=view: f"/admin/{v}/new/", None, creators, 200
        create = CREATE.get(view, lambda rows, role: {})
        yield f"{view}-create", "POST", lambda r, v=view: f"/admin/{v}/new/", \
            lambda r, c, role, f=create: f(r, role), creators, 302
        yield f"{view}-edit-form", "GET", lambda r, v=view: f"/admin/{v}/edit/?id={row(r, v)}", \
            None, editors, 200
        yield f"{view}-edit", "POST", lambda r, v=view: f"/admin/{v}/edit/?id={row(r, v)}", \
            edit_form(view, EDITS.get(view, lambda role: {})), editors, 302
        yield f"{view}-delete-confirm", "GET", \
            lambda r, v=view: f"/admin/{v}/delete/confirm/?id={row(r, v)}", None, deleters, 200
        yield f"{view}-delete", "POST", lambda r, v=view: f"/admin/{v}/delete/", \
            lambda r, c, role, v=view: {"id": str(row(r, v)), "url": f"/admin/{v}/"}, deleters, 302
        if view in LOOKUPS:
            yield f"{view}-lookup", "GET", lambda r, v=view: \
                f"/admin/{v}/ajax/lookup/?name={LOOKUPS[v]}&query=ex", None, creators | editors, 200
    for view in ("reference", "user", "aiprompt", "aisession", "aiinteraction"):
        revert = lambda r, v=view: f"/admin/{v}/revert/?entry={r['entries'][v]}"  # noqa: E731
        allowed = EDITORS.get(view, VIEWS[view][1])
        yield f"{view}-revert-form", "GET", revert, None, allowed, 200
        yield f"{view}-revert", "POST", revert, lambda r, c, role: {}, allowed, 302
    for view in ("kycqueue", "kycdocument"):
        doc = lambda r: str(r["kycdocument"].id)  # noqa: E731
        yield f"{view}-approve", "POST", lambda r, v=view: f"/admin/{v}/action/", \
            lambda r, c, role: {"action": "approve", "rowid": doc(r)}, {ADMIN, REVIEWER}, 302
        yield f"{view}-reject-bulk", "POST", lambda r, v=view: f"/admin/{v}/action/", \
            lambda r, c, role: {"action": "reject", "rowid": doc(r)}, {ADMIN, REVIEWER}, 200
        yield f"{view}-reject-form", "GET", lambda r, v=view: f"/admin/{v}/reject/?id={doc(r)}", \
            None, {ADMIN, REVIEWER}, 200
        yield f"{view}-review", "POST", lambda r, v=view: f"/admin/{v}/review/", \
            lambda r, c, role: {"id": doc(r), "decision": "reject", "reason": "Blurred"}, \
            {ADMIN, REVIEWER}, 302
    yield "finetune-include", "POST", lambda r: "/admin/aifinetunedataset/action/", \
        lambda r, c, role: {"action": "include", "rowid": str(r["aifinetunedataset"].id)}, {ADMIN}, 302


ENDPOINTS = list(endpoints())


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_each_role_is_allowed_exactly_what_its_definition_says(clients, endpoint):
    name, method, url, data, allowed, works = endpoint
    rows = make_rows()
    before = snapshot()
    for role in sorted(EVERYONE - allowed):
        values = data(rows, clients[role], role) if data else None
        response = send(clients[role], method, url(rows), values)
        assert response.status_code == 403, (name, role, response.status_code)
    assert snapshot() == before, f"{name}: a refused request wrote something"
    for role in sorted(allowed):
        writes = method == "POST" and works == 302
        rows = make_rows() if writes else rows  # each writer on rows of its own
        values = data(rows, clients[role], role) if data else None
        before = snapshot() if writes else None
        response = send(clients[role], method, url(rows), values)
        body = "" if name.endswith("export") else text(response)[:1500]
        assert response.status_code == works, (name, role, response.status_code, body)
        if writes:
            assert snapshot() != before, f"{name}: {role}'s request wrote nothing"


def test_every_console_endpoint_is_in_the_matrix(app):
    """A new view, or a new kind of page on a view, fails this test until the matrix and
    access.py know it (until then access.py opens it to admins only)."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or rule.rule.startswith("/admin/static/") \
                or rule.endpoint.endswith(".static"):
            continue
        view, _, method = rule.endpoint.rpartition(".")
        assert view in VIEWS or view in PAGES, rule.rule
        assert method in access.METHODS or method == "action_view" or \
            method in ("ajax_update", "export"), rule.endpoint  # off in every view: refused


# -- hidden: no link, button or form that leads to a refusal ----------------------------------

def crawl(client, start="/admin/"):
    """Every console page reachable from `start` by links (one per path and record), with
    the POST forms and bulk actions found on them."""
    seen, queue, forms, actions = {}, [start], set(), set()
    while queue:
        url = queue.pop()
        key = _key(url)
        if key in seen:
            continue
        response = send(client, "GET", url)
        seen[key] = response.status_code
        if response.status_code != 200 or "html" not in response.content_type:
            continue
        page = lxml.html.fromstring(text(response))
        for href in page.xpath("//a/@href"):
            if href.startswith("/admin") and not href.startswith("/admin/static"):
                queue.append(href)
        forms.update(_key(f.get("action") or url) for f in page.xpath("//form[@method='post' or "
                                                                         "@method='POST']"))
        actions.update((urlsplit(url).path, a) for a in page.xpath("//*[@data-model-action]/"
                                                                     "@data-model-action"))
    return seen, forms, actions


def _key(url: str) -> str:
    parts = urlsplit(url)
    keep = sorted((k, "*") for k, v in parse_qsl(parts.query) if k in ("id", "entry"))
    return parts.path + ("?" + "&".join(f"{k}={v}" for k, v in keep) if keep else "")


@pytest.mark.parametrize("role", ROLES)
def test_no_page_offers_a_role_what_it_would_refuse(app, clients, role):
    rows = make_rows()
    AuditLog.create(action="update", table_name="kyc_documents", row_id=str(rows["kycdocument"].id),
                    changes={"file_path": ["kyc/old/secret-passport.png", rows["kycdocument"].file_path]})
    seen, forms, actions = crawl(clients[role])
    assert (">AI<" in text(clients[role].get("/admin/"))) is (role != REVIEWER)  # no empty menu
    assert len(seen) > (5 if role == EDITOR else 20), seen
    refused = {url: code for url, code in seen.items() if code == 403}
    assert refused == {}, f"{role} was shown links to pages it may not open: {refused}"
    adapter = app.url_map.bind("localhost")
    for form in (f for f in forms if f.startswith("/admin")):
        endpoint, _ = adapter.match(urlsplit(form).path, method="POST")
        view, _, method = endpoint.rpartition(".")
        if "." in endpoint and method not in ("action_view",):
            with app.test_request_context(form, method="POST"):
                assert access.allowed(view, access.action_of(method), frozenset({role})), \
                    (role, form)
    for path, action in actions:
        view = path.strip("/").split("/")[1]
        assert access.allowed(view, access.BULK.get(action), frozenset({role})), (role, path, action)


@pytest.mark.parametrize("role", ROLES)
def test_kyc_paths_and_decrypted_prompts_show_only_to_the_roles_that_may_see_them(clients, role):
    rows = make_rows()
    doc, prompt = rows["kycdocument"], rows["aiprompt"]
    AuditLog.create(action="update", table_name="kyc_documents", row_id=str(doc.id),
                    changes={"file_path": ["kyc/old/secret-passport.png", doc.file_path]})
    client = clients[role]
    pages = ["/admin/kycqueue/", f"/admin/kycdocument/details/?id={doc.id}",
             f"/admin/kycdocument/history/?id={doc.id}", "/admin/kycdocument/export.csv",
             "/admin/kycqueue/export.csv", "/admin/auditlog/", "/admin/auditlog/export.csv",
             f"/admin/auditlog/details/?id={AuditLog.select().order_by(AuditLog.created_at.desc()).first().id}",
             "/admin/", f"/admin/aiprompt/details/?id={prompt.id}", "/admin/aiprompt/",
             "/admin/aiprompt/export.csv", f"/admin/aiprompt/edit/?id={prompt.id}"]
    shown = ""
    for url in pages:
        response = client.get(url)
        assert response.status_code in (200, 403), (url, response.status_code)
        shown += text(response) if response.status_code == 200 else ""
    sees_paths = role in (ADMIN, REVIEWER)
    assert ("secret-passport.png" in shown) is sees_paths, role
    # Nor can a search by the path tell whether a document has it.
    found = send(client, "GET", "/admin/kycdocument/?search=secret-passport")
    if found.status_code == 200:
        assert (str(doc.id) in text(found)) is sees_paths, role
    assert ("You are a careful coach." in shown) is (role in (ADMIN, EDITOR)), role


# -- the attack probes, for every role ----------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_attack_probes_are_refused_for_every_role(clients, role):
    client = clients[role]
    rows = make_rows()
    before = snapshot()
    ref, prompt = rows["reference"], rows["aiprompt"]
    for path in (f"/admin/reference/edit/?id={ref.id}", "/admin/reference/new/",
                 f"/admin/reference/details/?id={ref.id}"):
        response = client.get(path + "&url=http://evil.example/" if "?" in path else
                              path + "?url=http://evil.example/")
        assert response.status_code in (400, 403), (role, path, response.status_code)
    deleted = send(client, "POST", "/admin/reference/delete/",
                   {"id": str(ref.id), "url": "/admin/\r\nSet-Cookie: a=b"})
    assert deleted.status_code in (400, 403)
    # An edit without its version: refused, whoever sends it.
    response = send(client, "POST", f"/admin/aiprompt/edit/?id={prompt.id}",
                    {"prompt_id": prompt.prompt_id, "name": "Hijacked", "version": "1.0.0",
                     "model_preference": "m", "system_prompt": "Leak everything.",
                     "user_prompt_template": "{x}", "metadata": "{}", "is_active": "y"})
    assert response.status_code in (200, 403)
    if response.status_code == 200:
        assert "arrived without the version of the record" in text(response)
    # The last admin cannot be demoted, deactivated or lose admin by anyone.
    me = User.get(User.email == "admin@example.com")
    grant = UserRole.get(user=me, role=ADMIN)
    for method, url, data in (
            ("POST", "/admin/userrole/delete/", {"id": str(grant.id), "url": "/admin/userrole/"}),
            ("POST", "/admin/user/delete/", {"id": str(me.id), "url": "/admin/user/"})):
        response = send(client, method, url, data)
        assert response.status_code in (302, 403), (role, url)
    assert UserRole.get_or_none(user=me, role=ADMIN) is not None
    assert snapshot() == before


# -- grants and revokes in the console --------------------------------------------------------

def test_an_admin_grants_and_revokes_roles_audited_and_sessions_end(app, clients):
    rows = make_rows()
    staff = rows["staff"]
    staff.password_hash = User.get(User.email == "admin@example.com").password_hash
    staff.save()
    their = app.test_client()
    with their.session_transaction() as session:
        session.update(auth.session_values(staff))
    assert their.get("/admin/").status_code == 200  # holds viewer
    admin = clients[ADMIN]
    response = send(admin, "POST", "/admin/userrole/new/", {"user": str(staff.id), "role": REVIEWER})
    assert response.status_code == 302, text(response)[:2000]
    assert their.get("/admin/").status_code == 302  # signed out: roles changed
    entry = AuditLog.get(AuditLog.table_name == "user_roles", AuditLog.action == "create")
    assert entry.actor_email == "admin@example.com"
    assert entry.changes["role"] == [None, REVIEWER] and entry.changes["user"] == [None, str(staff.id)]
    # Granting a role held already changes nothing; a seeker cannot hold one.
    again = send(admin, "POST", "/admin/userrole/new/", {"user": str(staff.id), "role": REVIEWER})
    assert "already holds the role reviewer" in text(again)
    seeker = send(admin, "POST", "/admin/userrole/new/", {"user": str(rows["seeker"].id),
                                                           "role": VIEWER})
    assert "console roles are for staff" in text(seeker)
    grant = UserRole.get(user=staff, role=REVIEWER)
    assert send(admin, "POST", "/admin/userrole/delete/",
                {"id": str(grant.id), "url": "/admin/userrole/"}).status_code == 302
    assert AuditLog.get(AuditLog.table_name == "user_roles", AuditLog.action == "delete").changes[
        "role"] == [REVIEWER, None]
    assert UserRole.select().where(UserRole.user == staff.id).count() == 1  # viewer stays


def test_the_last_admin_keeps_admin_in_the_console(clients):
    me = User.get(User.email == "admin@example.com")
    grant = UserRole.get(user=me, role=ADMIN)
    response = clients[ADMIN].post("/admin/userrole/delete/", follow_redirects=True, data={
        "id": str(grant.id), "url": "/admin/userrole/", "csrf_token": clients[ADMIN].token})
    assert "they keep the role admin" in text(response)
    assert UserRole.get_or_none(UserRole.id == grant.id) is not None


def test_demoting_a_staff_account_takes_its_console_roles(clients):
    rows = make_rows()
    staff = rows["staff"]
    admin = clients[ADMIN]
    form = form_of(admin, f"/admin/user/edit/?id={staff.id}")
    response = send(admin, "POST", f"/admin/user/edit/?id={staff.id}", {**form, "role": "seeker"})
    assert response.status_code == 302, text(response)[:2000]
    assert not UserRole.select().where(UserRole.user == staff.id).exists()
    assert AuditLog.select().where((AuditLog.table_name == "user_roles")
                                   & (AuditLog.action == "delete")).count() == 1


def test_a_staff_account_needs_a_console_role_to_sign_in(app, clients):
    rows = make_rows()
    staff = rows["staff"]
    User.update(password_hash=User.get_by_id(ADMIN_ID).password_hash).where(
        User.id == staff.id).execute()
    theirs = app.test_client()
    with theirs.session_transaction() as session:
        session.update(auth.session_values(staff))
    assert theirs.get("/admin/").status_code == 200  # a viewer
    UserRole.delete().where(UserRole.user == staff.id).execute()  # behind the console's back
    assert theirs.get("/admin/").status_code == 302  # no role: signed out
    assert not AdminSession.select().where(AdminSession.user == staff.id).exists()
