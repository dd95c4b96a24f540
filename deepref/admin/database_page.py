"""The console's "Database" page (read-only): the revisions with when each was applied,
the pending ones, drift, doctor's findings, who holds the migration lock, and the
accepted edits of applied revisions.

Everything comes from deepref.migrate.doctor, the code behind `flask db doctor`: one
source for both. It reads the catalogues and the revision files, never a table's rows,
so it stays fast on a big database. Migrations are still applied from the command line.
"""

from __future__ import annotations

from flask import current_app
from flask_admin import BaseView, expose

from deepref import migrate as runner
from deepref.admin import access
from deepref.db import database
from deepref.migrate import doctor


class DatabaseView(BaseView):
    """/admin/database/: what `flask db status` and `flask db doctor` would say."""

    def is_accessible(self) -> bool:
        """Who may see the page: the console roles deepref.admin.access's RULES give
        "database" (admins only for now)."""
        return access.allowed(self.endpoint, "read")

    @expose("/")
    def index(self):
        report = doctor.examine(database.obj, current_app.config["DEEPREF"].migrations_dir)
        return self.render("admin/deepref/database.html", report=report,
                           states=runner.states(report.book),
                           drift=[f for f in report.findings if f.area == "drift"])
