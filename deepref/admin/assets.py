"""Static files with versioned URLs and long-lived caching, so a navigation in the
console fetches only the page.

Every asset URL the console's templates build carries `v=<hash of the file's content>`
(templates/admin/static.html routes Flask-Admin's own through here too). A response to
such a URL may be kept for a year and is never revalidated: a changed file has a new
hash, hence a new URL. Unversioned requests keep Flask's default (revalidate).
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from flask import current_app, request, url_for

ONE_YEAR = 365 * 24 * 3600
ENDPOINTS = ("static", "admin.static")


@functools.lru_cache(maxsize=512)
def _digest(path: str) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
    except OSError:
        return "missing"


def _folder(endpoint: str) -> str:
    if endpoint == "static":
        return current_app.static_folder
    return current_app.blueprints[endpoint.split(".")[0]].static_folder


def asset_url(endpoint: str, filename: str) -> str:
    """The URL of `filename` under `endpoint`'s static folder, versioned by content."""
    cache = current_app.extensions.setdefault("deepref_asset_urls", {})
    key = (endpoint, filename, request.script_root)
    if key not in cache:
        version = _digest(str(Path(_folder(endpoint)) / filename))
        cache[key] = url_for(endpoint, filename=filename, v=version)
    return cache[key]


def menu(admin_view) -> list[tuple[str, str | None, bool, list]]:
    """[(name, url, active, children)] of the console's menu, its URLs built once per
    process (Flask-Admin's menu macro builds each on every page)."""
    urls = current_app.extensions.setdefault("deepref_menu_urls", {})

    def entry(item):
        if item.is_category():
            children = [entry(child) for child in item.get_children()
                        if child.is_accessible() and child.is_visible()]
            return item.name, None, any(c[2] for c in children), children
        if id(item) not in urls:
            urls[id(item)] = item.get_url()
        return item.name, urls[id(item)], item.is_active(admin_view), []

    shown = [entry(item) for item in admin_view.admin.menu()
             if item.is_category() or (item.is_accessible() and item.is_visible())]
    return [e for e in shown if e[1] is not None or e[3]]  # no empty category


def cache_versioned(response):
    """after_request: a versioned asset is immutable for a year; anything else unchanged."""
    if (request.endpoint in ENDPOINTS and request.args.get("v")
            and response.status_code in (200, 304)):
        response.cache_control.no_cache = None
        response.cache_control.public = True
        response.cache_control.max_age = ONE_YEAR
        response.cache_control.immutable = True
    return response


def init_app(app) -> None:
    app.jinja_env.globals["asset_url"] = asset_url
    app.jinja_env.globals["deepref_menu"] = menu
    app.after_request(cache_versioned)
