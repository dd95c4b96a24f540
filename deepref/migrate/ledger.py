"""The revision files against the history: what a command must know before it trusts either.

- missing: applied (recorded) but no file here: this code is older than the database.
- changed: applied, and the file's checksum is not the one recorded.
- unchecked: applied before checksums were recorded (the next `migrate` records them).
- out of order: pending, but numbered below the last applied revision.
- shared numbers: two files with one number (peewee-migrate would apply both, or number a
  new one by counting files).

Each fault is one line that names the file and says what to do. Reading only: nothing here
writes, so `status` and `doctor` can use it on a database they must not change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import peewee as pw

from deepref.migrate import history


def number(name: str) -> int:
    """A revision's number (`003_create_indexes` -> 3)."""
    return int(name.split("_", 1)[0])


@dataclass
class Ledger:
    directory: Path
    on_disk: list[str]
    applied: dict[str, dt.datetime]
    recorded: dict[str, str]  # name -> checksum in the history
    files: dict[str, str] = field(default_factory=dict)  # name -> checksum on disk (applied ones)

    @property
    def pending(self) -> list[str]:
        return [n for n in self.on_disk if n not in self.applied]

    @property
    def missing(self) -> list[str]:
        return [n for n in self.applied if n not in self.files]

    @property
    def changed(self) -> list[str]:
        return [n for n, digest in self.files.items()
                if n in self.recorded and self.recorded[n] != digest]

    @property
    def unchecked(self) -> list[str]:
        return [n for n in self.files if n not in self.recorded]

    @property
    def last_applied(self) -> str | None:
        return max(self.applied, key=number, default=None)

    @property
    def out_of_order(self) -> list[str]:
        last = self.last_applied
        return [n for n in self.pending if last is not None and number(n) < number(last)]

    @property
    def shared_numbers(self) -> dict[str, list[str]]:
        numbers: dict[str, list[str]] = {}
        for name in self.on_disk:
            numbers.setdefault(name.split("_", 1)[0], []).append(name)
        return {n: names for n, names in sorted(numbers.items()) if len(names) > 1}

    # One line per fault -----------------------------------------------------------------

    def missing_lines(self) -> list[str]:
        return [f"{name} is applied but {name}.py is not in {self.directory}: this code is "
                "older than the database; deploy the code that has it" for name in self.missing]

    def changed_lines(self) -> list[str]:
        return [f"{name}.py changed after it was applied: restore it (put the change in a new "
                f"revision), or review the edit and run `flask db accept {name} --reason TEXT`"
                for name in self.changed]

    def out_of_order_lines(self) -> list[str]:
        last = self.last_applied
        return [f"{name} is numbered below {last}, already applied: renumber it after {last}, "
                "or apply it anyway with `flask db migrate --allow-out-of-order`"
                for name in self.out_of_order]

    def shared_number_lines(self) -> list[str]:
        return [f"revisions {' and '.join(names)} share the number {num}: renumber the one "
                "that is not applied anywhere" for num, names in self.shared_numbers.items()]

    def faults(self, allow_out_of_order: bool = False) -> list[str]:
        """Every line a command must refuse on (before it reads or runs any revision)."""
        return [*self.shared_number_lines(), *self.missing_lines(), *self.changed_lines(),
                *([] if allow_out_of_order else self.out_of_order_lines())]


def read(db: pw.Database, directory: Path) -> Ledger:
    """The ledger of `directory` against `db`'s history (reads only)."""
    from deepref.migrate.runner import available

    on_disk = available(directory)
    applied = history.applied(db)
    present = set(on_disk)
    files = {n: history.checksum(directory / f"{n}.py") for n in applied if n in present}
    return Ledger(directory, on_disk, applied, history.checksums(db), files)
