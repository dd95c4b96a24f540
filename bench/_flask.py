#!/usr/bin/env python3
"""`flask ...` for an app whose revisions are in another folder (the live benchmark's).

    python bench/_flask.py MIGRATIONS_DIR db migrate|rollback|status ...

Builds `deepref.create_app({"MIGRATIONS_DIR": MIGRATIONS_DIR})` and runs its CLI as
`flask --app deepref` would, with the settings (DATABASE_URL, SECRET_KEY,
PROMPT_ENCRYPTION_KEYS, ...) from the process environment. The app is built lazily by
FlaskGroup, inside the command's click context, exactly as under the real `flask`.
"""

from __future__ import annotations

import sys

from flask.cli import FlaskGroup


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[1].startswith("-"):
        sys.exit("usage: bench/_flask.py MIGRATIONS_DIR COMMAND [ARGS]...")
    directory, args = argv[1], argv[2:]

    def build():
        from deepref import create_app

        return create_app({"MIGRATIONS_DIR": directory})

    cli = FlaskGroup(create_app=build, load_dotenv=False, set_debug_flag=False)
    cli.main(args=args, prog_name="flask")


if __name__ == "__main__":
    main(sys.argv)
