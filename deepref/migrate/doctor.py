"""`flask db doctor` (and the console's Database page): one report of what the runner knows.

- models vs revision files: would `flask db create NAME --auto` draft anything?
- revision files vs history (deepref.migrate.ledger): pending, missing, changed since
  applied, out of order, shared numbers;
- history vs live database: drift (deepref.migrate.check, schema only);
- lint findings in pending revisions; INVALID indexes (PostgreSQL); who holds or waits
  for the migration lock.

Reads only, and reads no table's rows: fast on a big database. The heavier parts (the
draft, check, lint; PostgreSQL's parser behind them) are imported only when needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import peewee as pw

from deepref.db import first_line
from deepref.exceptions import DeeprefError
from deepref.migrate import history, ledger

# Exit codes of `flask db doctor` (docs/migrations.md, "Reading doctor's report").
CLEAN, NEEDS_ACTION, USAGE, CANNOT_CONNECT = 0, 1, 2, 3


@dataclass(frozen=True)
class Finding:
    area: str  # models, history, drift, lint, index, lock
    text: str
    needs_action: bool = True  # False: a note, worth knowing, nothing to fix

    def line(self) -> str:
        area = self.area if self.needs_action else f"note ({self.area})"
        return f"{area}: {self.text}"


@dataclass
class Report:
    book: ledger.Ledger
    findings: list[Finding] = field(default_factory=list)
    lock: list[str] = field(default_factory=list)
    acceptances: list[history.Acceptance] = field(default_factory=list)

    def add(self, area: str, text: str, needs_action: bool = True) -> None:
        self.findings.append(Finding(area, text, needs_action))

    @property
    def faults(self) -> list[Finding]:
        return [f for f in self.findings if f.needs_action]

    @property
    def exit_code(self) -> int:
        return NEEDS_ACTION if self.faults else CLEAN

    def summary(self) -> str:
        notes = len(self.findings) - len(self.faults)
        noted = f", {notes} note(s)" if notes else ""
        if self.faults:
            return f"doctor: {len(self.faults)} finding(s) need action{noted}."
        return f"doctor: nothing needs action{noted}."


def examine(db: pw.Database, directory: Path, models=None, sql_indexes=None) -> Report:
    """Everything worth knowing about `db` and the revisions in `directory` (reads only).
    `models`, `sql_indexes`: deepref's by default (see draft.draft, check.compare)."""
    book = ledger.read(db, directory)
    report = Report(book, acceptances=history.acceptances(db))
    _history(report, book)
    trusted = not (book.missing or book.shared_numbers)
    if trusted:
        _models(report, db, directory, models, sql_indexes)
    _drift(report, db, book, models, sql_indexes)
    if trusted and book.pending:
        _lint(report, db, directory, book.pending)
    for table, index in db.invalid_indexes():
        report.add("index", f"{table}.{index} is INVALID (an interrupted concurrent build): "
                            f"DROP INDEX CONCURRENTLY {index}, then `flask db migrate` again")
    report.lock = db.migration_lock_sessions()
    for line in report.lock:
        report.add("lock", line, needs_action=False)
    return report


def _history(report: Report, book: ledger.Ledger) -> None:
    for line in [*book.shared_number_lines(), *book.missing_lines(), *book.changed_lines(),
                 *book.out_of_order_lines()]:
        report.add("history", line)
    for name in book.pending:
        if name not in book.out_of_order:
            report.add("history", f"{name} is pending: run `flask db migrate`")
    if book.unchecked:
        report.add("history", f"{len(book.unchecked)} applied revision(s) have no checksum "
                              "yet: the next `flask db migrate` records them", needs_action=False)


def _models(report: Report, db, directory, models, sql_indexes) -> None:
    from deepref.migrate import draft

    models, sql_indexes = _defaults(models, sql_indexes)
    try:
        text = draft.draft(db, directory, models, "999_doctor", sql_indexes=sql_indexes)
    except draft.CannotDraft as exc:
        report.add("models", "the models change what the revisions build, and `flask db "
                             f"create NAME --auto` cannot draft it: {first_line(exc)}")
        return
    except DeeprefError as exc:
        report.add("models", first_line(exc))
        return
    if text is not None:
        report.add("models", "the models change what the revisions build: write a revision "
                             "(`flask db create NAME --auto` drafts one)")


def _drift(report: Report, db, book: ledger.Ledger, models, sql_indexes) -> None:
    if book.pending or book.missing:
        report.add("drift", "not compared while revisions are pending or missing",
                   needs_action=False)
        return
    from deepref.migrate import check

    models, sql_indexes = _defaults(models, sql_indexes)
    for line in check.compare(db, models, sql_indexes):
        report.add("drift", line)


def _lint(report: Report, db, directory, names: list[str]) -> None:
    from deepref.migrate import preview

    try:
        found = preview.lint_revisions(db, directory, names)
    except DeeprefError as exc:
        report.add("lint", first_line(exc))
        return
    for name in names:
        for finding in found.get(name, []):
            if finding.accepted is None:
                report.add("lint", f"{name}: {finding.rule}: {finding.statement} "
                                   f"(instead: {finding.safe_form})")


def _defaults(models, sql_indexes):
    if models is None:
        from deepref.models import ALL_MODELS

        models = ALL_MODELS
    if sql_indexes is None:
        from deepref.models.indexes import POSTGRES_ONLY_INDEXES

        sql_indexes = POSTGRES_ONLY_INDEXES
    return models, sql_indexes
