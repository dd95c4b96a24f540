"""The Flask-Admin console at /admin, built per app inside `init_app`.

Signing in is deepref.auth's job: its before_request gate refuses every /admin URL to
anyone but a signed-in active admin, and its CSRFProtect checks every POST. The views
here add no access rules of their own.

Modules: base (the ModelView: transactions, audit, deletes, stale edits), listing
(counts, search, one-pass list cells), labels (one name per column), fields / errors /
filters / lookups / rules (forms), deletes, trail (audit records), history and
history_pages (every record's history, revert), export (CSV), aggregates (bundles'
RCS), kyc_review (decisions and the user's KYC status), assets (versioned static
files), charts (server-side SVG), one module per area (references, bundles, kyc, users,
prompts, ai, audit), account (your own password, sessions and second factor) and dashboard. guard (query strings and return addresses checked
before any view) and pages (short 400 / 404 / 500 pages for /admin) keep bad input from
ever becoming a traceback. Templates live in templates/admin/deepref/.
"""

from __future__ import annotations


def init_app(app) -> None:
    """Build the console for `app`: the dashboard and one view per table."""
    from flask_admin import Admin
    from flask_admin.theme import Bootstrap4Theme

    from deepref.admin import (
        account, ai, assets, audit, bundles, dashboard, guard, kyc, pages, prompts, references, users,
    )
    from deepref.auth import csp_nonce, current_user

    app.jinja_env.globals["deepref_current_user"] = current_user
    # Compact HTML: no line of indentation left by each template tag.
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    admin = Admin(
        app,
        name="deepref",
        theme=Bootstrap4Theme(base_template="admin/deepref/base.html", fluid=True),
        index_view=dashboard.DashboardView(name="Dashboard", url="/admin"),
        csp_nonce_generator=csp_nonce,
    )
    admin.add_view(references.ReferenceAdmin(name="References", endpoint="reference"))
    admin.add_view(bundles.BundleAdmin(name="Bundles", endpoint="bundle"))
    admin.add_view(kyc.KYCQueueAdmin())
    admin.add_view(kyc.KYCDocumentAdmin())
    admin.add_view(users.UserAdmin(name="Users", endpoint="user"))
    admin.add_view(prompts.PromptAdmin(category="AI"))
    admin.add_view(ai.AISessionAdmin(category="AI"))
    admin.add_view(ai.AIInteractionAdmin(category="AI"))
    admin.add_view(ai.FinetuneAdmin(category="AI"))
    admin.add_view(audit.AuditLogAdmin())
    admin.add_view(account.AccountView())
    app.extensions["deepref_admin"] = admin
    assets.init_app(app)
    guard.init_app(app)
    pages.init_app(app)
