"""CSV export of any list as it is filtered, searched and sorted.

- Bounded: at most MAX_ROWS rows; a larger export is refused with a message (counted
  with a LIMIT MAX_ROWS + 1, never a COUNT of the whole table).
- Streamed: the response is written as rows are read, foreign keys as their labels
  (one query per referenced table and BATCH rows).
- Safe to open in a spreadsheet: a cell starting with =, +, -, @, a tab or a CR is
  prefixed with ' so it is never taken for a formula (OWASP's CSV injection advice).
- Secrets (trail.SECRET_FIELDS) are never exported, whatever the view lists.
- Each export is recorded in the audit log: a "bulk" entry of the table whose changes
  hold EXPORTED, {"rows": ..., "query": the list's query string}.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
from itertools import islice

import peewee as pw
from flask import Response, flash, redirect, request, stream_with_context
from flask_admin import expose

from deepref.db import replicas
from deepref.admin import listing, trail
from deepref.models.fields import UTC, utcnow

MAX_ROWS = 50_000
EXPORTED = "__export"
BATCH = 500
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutral(text: str) -> str:
    """`text`, made inert for spreadsheets if it could start a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cell(value) -> str:
    """A value as CSV text: timestamps in UTC, yes/no, JSON for objects, labels for rows."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return neutral(str(value))


class ExportMixin:
    """/export.csv for AdminModelView."""

    can_export_csv = True

    def export_columns(self) -> list[tuple[str, str]]:
        """[(column, header)]: the id, then the list's real columns, never a secret."""
        fields = self.model._meta.fields
        pk = self.model._meta.primary_key
        names = ([] if self.model._meta.composite_key else [pk.name]) + [
            name for name, _label in self._list_columns if name in fields and name != pk.name]
        return [(n, self.column_labels.get(n, n)) for n in names if n not in trail.SECRET_FIELDS]

    @expose("/export.csv")
    def export_csv(self):
        """The filtered list as CSV (at most MAX_ROWS rows), recorded in the audit log."""
        args = self._get_list_extra_args()
        column = self._get_column_by_idx(args.sort)
        query, _ = self.filtered_query(args.search, args.filters)
        key = self.model._meta.primary_key
        total = query.columns(key).order_by().limit(MAX_ROWS + 1).count()
        back = self.get_url(".index_view", **request.args)
        if total > MAX_ROWS:
            flash(f"This export would have more than {MAX_ROWS:,} rows, the most one export "
                  "can hold. Nothing was exported: narrow the list with filters or a search "
                  "first.", "error")
            return redirect(back)
        table = self.model._meta.table_name
        with self.database.write_transaction():
            trail.record("bulk", table, None, {EXPORTED: [None, {
                "rows": total, "query": request.query_string.decode()[:1000]}]})
        order, _ = self._ordering(column[0] if column else None, args.sort_desc)
        columns = self.export_columns()
        fks = [n for n, _ in columns if isinstance(self.model._meta.fields[n], pw.ForeignKeyField)]
        name = f"{self.endpoint}-{utcnow():%Y%m%d-%H%M}.csv"
        return Response(stream_with_context(self._csv(query.order_by(*order), columns, fks)),
                        mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    def _csv(self, query, columns, fks):
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([neutral(header) for _, header in columns])
        with replicas.reading():  # the rows, from a read replica when one is fit
            rows = query.iterator()
            while True:
                batch = list(islice(rows, BATCH))
                if not batch:
                    break
                listing.attach_labels(batch, fks)
                for row in batch:
                    writer.writerow([self._value(row, name, name in fks) for name, _ in columns])
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    @staticmethod
    def _value(row, name: str, is_fk: bool) -> str:
        if is_fk:
            related = row.__rel__.get(name)
            return cell(str(related) if related is not None else row.__data__.get(name))
        return cell(row.__data__.get(name))
