"""CSV export of any filtered list: streamed, bounded, safe in a spreadsheet, without
secrets, and recorded in the audit log."""

from __future__ import annotations

import csv
import io

from support import make_bundle, make_prompt, make_reference, make_user, text

from deepref.admin import export
from deepref.models import AuditLog


def rows_of(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_a_filtered_list_exports_as_csv_with_labels(client, db):
    seeker = make_user("jane@example.com")
    make_reference(seeker, referrer_name="Ann", status="verified")
    make_reference(seeker, referrer_name="Bob", status="pending")
    response = client.get("/admin/reference/export.csv?flt0_status_equals=verified")
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "text/csv"
    assert 'attachment; filename="reference-' in response.headers["Content-Disposition"]
    rows = rows_of(response)
    assert rows[0][:4] == ["ID", "Referrer", "Company", "Referrer's role"]
    assert "Created (UTC)" not in rows[0] and "Created" in rows[0]
    assert len(rows) == 2 and rows[1][1] == "Ann" and "jane@example.com" in rows[1]
    entry = AuditLog.get()
    assert (entry.action, entry.table_name, entry.row_id) == ("bulk", "references", None)
    exported = entry.changes["__export"][1]
    assert exported["rows"] == 1 and "status_equals=verified" in exported["query"]
    assert "CSV export of 1 row(s)" in text(client.get("/admin/auditlog/"))
    assert 'id="export-csv"' in text(client.get("/admin/reference/?flt0_status_equals=verified"))


def test_cells_that_could_be_formulas_are_neutralised(client, db):
    seeker = make_user()
    for n, name in enumerate(["=HYPERLINK(\"http://evil.example\")", "+1+2", "-3", "@SUM(A1)",
                              "\tTab", "\rCR", "Plain"]):
        make_reference(seeker, referrer_name=name, company=f"C{n}")
    names = sorted(row[1] for row in rows_of(client.get("/admin/reference/export.csv"))[1:])
    assert names == sorted(["'=HYPERLINK(\"http://evil.example\")", "'+1+2", "'-3", "'@SUM(A1)",
                            "'\tTab", "'\rCR", "Plain"])


def test_secrets_are_never_exported(client, db):
    seeker = make_user("someone@example.com", password_hash="scrypt:secret-hash")
    bundle = make_bundle(seeker)
    make_prompt(system_prompt="The secret instructions")
    for view, secret in (("bundle", bundle.share_token), ("user", "scrypt:secret-hash"),
                         ("aiprompt", "The secret instructions")):
        body = client.get(f"/admin/{view}/export.csv").get_data(as_text=True)
        assert secret not in body, view
    users = rows_of(client.get("/admin/user/export.csv"))
    assert "Password" not in users[0]


def test_an_export_above_the_maximum_is_refused_with_a_message(client, db, monkeypatch):
    monkeypatch.setattr(export, "MAX_ROWS", 2)
    seeker = make_user()
    for n in range(3):
        make_reference(seeker, company=f"C{n}")
    response = client.get("/admin/reference/export.csv?flt0_status_equals=pending", follow_redirects=True)
    assert "more than 2 rows" in text(response) and "narrow the list" in text(response)
    assert AuditLog.select().count() == 0
    monkeypatch.setattr(export, "MAX_ROWS", 3)  # the page size does not cut an export
    assert len(rows_of(client.get("/admin/reference/export.csv?page_size=20&page=5"))) == 4
