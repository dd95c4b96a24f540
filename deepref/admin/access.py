"""Who may do what in the console: one rule table, consulted on every /admin request.

RULES maps a view's endpoint to {action: roles}. A view's pages, buttons and menu item
are shown only for what the signed-in user's console roles allow (AdminModelView's
can_create / can_edit / can_delete / can_export_csv / is_accessible /
is_action_allowed and `may` read this table per request), and `check_request`, a
before_request gate, answers 403 to anything else, before any view runs: nothing is
read or written for a refused request.

Actions: read (list, details, history, CSV export), create, edit (edit form, revert,
type-ahead lookups, bulk edits), delete, review (KYC approve / reject), paths (see
KYC documents' storage keys) and own (the account page: one's own password, sessions and
second factor). `admin` holds every action a view has; an action a view
does not list is refused to everyone (an AI interaction is never created here).

Adding an endpoint: a Flask-Admin view's methods map to actions through METHODS; a page
whose endpoint is not in RULES is open to `admin` only. To open it to others, add one
line to RULES, e.g. "database": {"read": allow("viewer")}.
"""

from __future__ import annotations

from flask import has_request_context, request

from deepref import console
from deepref.models.roles import CONSOLE_ROLES

EVERYONE = frozenset(CONSOLE_ROLES)


def allow(*roles: str) -> frozenset[str]:
    """`roles` and admin (who may do everything a view offers)."""
    return frozenset(("admin", *roles))


ADMIN = allow()
WRITE = {"create": ADMIN, "edit": ADMIN, "delete": ADMIN}
READ_MOST = allow("reviewer", "viewer")  # references, bundles, users, KYC
READ_AI = allow("prompt-editor", "viewer")

RULES: dict[str, dict[str, frozenset[str]]] = {
    "admin": {"read": EVERYONE},  # the dashboard (each card also needs its list's read)
    "reference": {"read": READ_MOST, **WRITE},
    "bundle": {"read": READ_MOST, **WRITE},
    "kycqueue": {"read": READ_MOST, "review": allow("reviewer"), "paths": allow("reviewer")},
    "kycdocument": {"read": READ_MOST, "review": allow("reviewer"), "paths": allow("reviewer"),
                    **WRITE},
    "user": {"read": READ_MOST, **WRITE},
    "userrole": {"read": allow("viewer"), "create": ADMIN, "delete": ADMIN},
    # The edit form is the only place a decrypted system prompt shows.
    "aiprompt": {"read": READ_AI, "create": allow("prompt-editor"),
                 "edit": allow("prompt-editor"), "delete": ADMIN},
    "aisession": {"read": READ_AI, "edit": ADMIN},
    "aiinteraction": {"read": READ_AI},
    "aifinetunedataset": {"read": allow("viewer"), "edit": ADMIN},
    "auditlog": {"read": allow("viewer")},
    "database": {"read": ADMIN},  # the migrations' state: admins only for now
    "account": {"read": EVERYONE, "own": EVERYONE},  # your own password, sessions, 2FA
}

# A view method's endpoint name -> the action it needs (a tuple: any one of them).
METHODS: dict[str, str | tuple[str, ...]] = {
    "index": "read", "index_view": "read", "details_view": "read", "history_view": "read",
    "export_csv": "read",
    "create_view": "create", "edit_view": "edit", "revert_view": "edit",
    "ajax_lookup": ("create", "edit"),
    "delete_view": "delete", "delete_confirm": "delete",
    "reject_view": "review", "review_view": "review",
    # The account page changes only the signed-in user's own account.
    "password": "own", "end_session": "own", "enrol": "own", "remove": "own",
}  # Flask-Admin's export/<type>/ and ajax/update/ are off in every view: refused
# Bulk actions ("With selected") by name -> the action they need.
BULK = {"approve": "review", "reject": "review", "include": "edit", "exclude": "edit"}
# Columns shown only with an action: {table: {column: (view whose rule decides, action)}}.
GUARDED_COLUMNS = {"kyc_documents": {"file_path": ("kycdocument", "paths")}}
HIDDEN = "(hidden: your console role does not show this)"


def roles() -> frozenset[str]:
    """The signed-in user's console roles (none outside a request or signed out)."""
    if not has_request_context():
        return frozenset()
    from deepref.auth import current_user

    user = current_user()
    return user.console_roles if user is not None else frozenset()


def allowed(view: str, action: str | tuple[str, ...] | None,
            held: frozenset[str] | None = None) -> bool:
    """May `held` (default: the signed-in user's roles) do `action` on `view`?"""
    held = roles() if held is None else held
    if action is None:
        return False
    rules = RULES.get(view)
    if rules is None:
        return "admin" in held  # a page not in the table: admins only
    actions = action if isinstance(action, tuple) else (action,)
    return any(held & rules.get(a, frozenset()) for a in actions)


def action_of(method: str) -> str | tuple[str, ...] | None:
    """The action the view method `method` needs (None: unknown, refused)."""
    if method == "action_view":
        return BULK.get(request.form.get("action", ""))
    return METHODS.get(method)


def hidden_columns(table: str) -> set[str]:
    """Columns of `table` the signed-in user may not see (masked in lists, details,
    exports, history and the audit log)."""
    return {column for column, (view, action) in GUARDED_COLUMNS.get(table, {}).items()
            if not allowed(view, action)}


def check_request():
    """before_request: a 403 page for a console request the user's roles do not allow."""
    endpoint = request.endpoint or ""
    if (not console.is_console_path(request.path) or request.routing_exception is not None
            or endpoint.endswith(".static")):
        return None
    from deepref.auth import current_user

    if current_user() is None:
        return None  # deepref.auth's gate has answered already
    view, _, method = endpoint.rpartition(".") if "." in endpoint else (endpoint, "", "")
    if allowed(view, action_of(method) if method else "read"):
        return None
    from deepref.admin import pages

    return pages.error_page(403)


def init_app(app) -> None:
    """Runs after deepref.auth's gate (anonymous requests go to sign in first)."""
    app.before_request(check_request)
