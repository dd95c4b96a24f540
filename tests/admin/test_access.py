"""Nothing in the console is reachable without signing in; forms need their CSRF token;
its assets are served locally."""

from __future__ import annotations

import re

from support import post, text

SAMPLE_ARGS = {"export_type": "csv", "filename": "admin/js/helpers.js"}


def admin_urls(app) -> list[tuple[str, set[str]]]:
    """Every URL under /admin the app serves, with the methods it accepts."""
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin"):
            continue
        path = rule.rule
        for argument in rule.arguments:
            path = re.sub(rf"<(?:\w+:)?{argument}>", SAMPLE_ARGS.get(argument, "x"), path)
        urls.append((path, set(rule.methods) - {"HEAD", "OPTIONS"}, rule.endpoint))
    return urls


def test_every_admin_url_refuses_anonymous_requests(app, anon):
    urls = admin_urls(app)
    endpoints = {endpoint for _, _, endpoint in urls}
    # The console really is mounted: dashboard, every view, their ajax and edit endpoints.
    for expected in ("admin.index", "reference.index_view", "reference.ajax_lookup",
                     "bundle.edit_view", "reference.delete_confirm", "auditlog.index_view",
                     "aifinetunedataset.action_view", "user.delete_view"):
        assert expected in endpoints
    checked = 0
    for path, methods, endpoint in urls:
        if endpoint.endswith(".static"):
            continue  # Flask-Admin's bootstrap/jquery files: public, no data
        for method in methods:
            page = anon.open(path, method=method)
            assert page.status_code == 302, (method, path, page.status_code)
            assert "/login" in page.headers["Location"], (method, path)
            scripted = anon.open(path, method=method, headers={"Accept": "application/json"})
            assert scripted.status_code == 401, (method, path, scripted.status_code)
            checked += 1
    assert checked > 40


def test_signed_in_admin_sees_the_console(client):
    page = client.get("/admin/")
    assert page.status_code == 200
    body = text(page)
    assert "References by status" in body and "Sign out" in body and "admin@example.com" in body


def test_post_without_csrf_token_is_refused(client, db):
    from deepref.models import User

    response = client.post("/admin/user/new/", data={"email": "new@example.com", "role": "seeker",
                                                     "kyc_status": "pending"})
    assert response.status_code == 400
    assert "could not be accepted" in text(response)
    assert not User.select().where(User.email == "new@example.com").exists()
    # With the token taken from a page, the same form goes through.
    done = post(client, "/admin/user/new/", {"email": "new@example.com", "role": "seeker",
                                             "kyc_status": "pending", "is_active": "y"})
    assert done.status_code == 302
    assert User.select().where(User.email == "new@example.com").exists()


def test_assets_are_local(client):
    body = text(client.get("/admin/reference/"))
    external = re.findall(r'(?:src|href)="(https?:)?//[^"]+"', body)
    assert external == []
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', body)
    assert scripts and all(s.startswith("/admin/static/") for s in scripts)
    for asset in scripts[:3]:
        response = client.get(asset)
        response.close()
        assert response.status_code == 200
    # Flask-Admin's script tags carry this request's CSP nonce.
    page = client.get("/admin/")
    nonce = re.search(r"'nonce-([^']+)'", page.headers["Content-Security-Policy"]).group(1)
    assert f'nonce="{nonce}"' in text(page)


def test_sign_out_from_the_console(client):
    response = post(client, "/logout", {})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 302
