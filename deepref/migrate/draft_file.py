"""A drafted revision's file: docstring, imports, LINT_ACCEPT to confirm, migrate(), rollback().

What lint would flag and must be accepted (a drop, a rename) is written as a commented-out
LINT_ACCEPT with a reason to replace: until the author uncomments it with their own
reason, `flask db lint` keeps flagging it, so nobody ships a drop nobody confirmed.
"""

from __future__ import annotations

import textwrap

from deepref.migrate.draft_code import INDENT, Change, text

SIGNATURE = "(migrator, database, *, fake=False):"


def text_of(title: str, changes: list[Change], planner) -> str:
    """The whole file."""
    forward = _body(changes, planner, back=False)
    backward = _body(list(reversed(changes)), planner, back=True)
    parts = [_docstring(title, changes), _imports(planner.code.imports, forward + backward),
             _accept(changes)]
    parts = [part for part in parts if part]
    parts.append(f"def migrate{SIGNATURE}\n{forward}")
    parts.append(f"def rollback{SIGNATURE}\n{backward}")
    return parts[0] + "\n\n" + "\n\n\n".join(parts[1:]) + "\n"


def _docstring(title: str, changes: list[Change]) -> str:
    lines = [f'"""{title}: drafted by `flask db create --auto`; review it before applying.', ""]
    lines += [f"- {change.summary}" for change in changes]
    lines += ["", "Rollback undoes each change, in reverse order.", '"""']
    return "\n".join(lines)


def _imports(imports: set[tuple[str, str]], code: str) -> str:
    lines = ["import peewee as pw", ""] if "pw." in code else []
    modules: dict[str, list[str]] = {}
    for module, name in sorted(imports):
        modules.setdefault(module, []).append(name)
    for module, names in modules.items():
        line = f"from {module} import {', '.join(names)}"
        if len(line) > 99:
            wrapped = textwrap.wrap(", ".join(names), 95)
            line = (f"from {module} import (\n" + "\n".join(INDENT + w for w in wrapped)
                    + ",\n)")
        lines.append(line)
    return "\n".join(lines).strip()


def _accept(changes: list[Change]) -> str:
    reasons: dict[str, list[str]] = {}
    for change in changes:
        for rule, reason in change.accept.items():
            reasons.setdefault(rule, []).append(reason)
    if not reasons:
        return ""
    lines = ["# Lint flags what cannot be undone, or breaks app servers still running the old",
             "# code. Once you know it is safe, accept it with your own reason: uncomment",
             "# LINT_ACCEPT and replace each reason.",
             "# LINT_ACCEPT = {"]
    lines += [f"#     {text(rule)}: {text('; '.join(found))}," for rule, found in reasons.items()]
    lines.append("# }")
    return "\n".join(lines)


def _body(changes: list[Change], planner, back: bool) -> str:
    refs = sorted({table for c in changes for table in (c.back_refs if back else c.refs)})
    lines = [f"{planner.variable(table)} = migrator.orm[{text(table)}]" for table in refs]
    previous_long = bool(lines)
    for change in changes:
        code = change.backward if back else change.forward
        notes = change.back_notes if back else change.notes
        long = bool(notes) or len(code) > 1
        if lines and (long or previous_long):
            lines.append("")
        lines += [f"# {line}" for note in notes for line in textwrap.wrap(note, 88)]
        lines += [wrapped for line in code for wrapped in wrap(line)]
        previous_long = long
    return "\n".join(INDENT + line if line else "" for line in lines) or f"{INDENT}pass"


def wrap(line: str, width: int = 95) -> list[str]:
    """A long call cut after its opening bracket's commas, continued under the bracket."""
    if len(line) <= width or not line.endswith(")"):
        return [line]
    depth, quote, cuts = 0, None, []
    opening = line.index("(")
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "," and depth == 1 and i > opening:
            cuts.append(i + 1)
    pieces, start = [], 0
    for cut in cuts:
        pieces.append(line[start:cut].strip() if start else line[:cut].rstrip())
        start = cut
    pieces.append(line[start:].strip())
    lines, pad = [pieces[0]], " " * (opening + 1)
    for piece in pieces[1:]:
        if len(lines[-1]) + 1 + len(piece) <= width:
            lines[-1] += " " + piece
        else:
            lines.append(pad + piece)
    return lines
