"""Every `flask` command, thin, over plain functions of the library.

- db.py: `flask db ...` (apply, roll back, inspect and generate migrations)
- prompts.py: `flask seed-prompts`, `flask rotate-prompt-key`
- admins.py: `flask create-admin`, `flask ensure-admin`
- local.py: `flask serve` (what `make run` starts)
- demo.py: `flask demo-data`
- errors.py: the one place failures become one line and an exit code

Exit codes: 0 success, 1 failure (or pending/drift for status/check), 2 bad usage;
`db doctor` also 3 when the database cannot be reached.
"""

from __future__ import annotations

from deepref.cli.errors import database_command, exit_under_command_line, serving, serving_command

__all__ = ["database_command", "exit_under_command_line", "init_app", "serving", "serving_command"]


def init_app(app) -> None:
    """Register every command on `app` (only `db` when the app is built to run one of its
    commands: the others import the web parts)."""
    from deepref.cli import db

    app.cli.add_command(db.db_group)
    if database_command():
        return
    from deepref.cli import admins, demo, local, prompts

    for command in (prompts.seed_prompts_command, prompts.rotate_prompt_key_command,
                    admins.create_admin_command, admins.ensure_admin_command,
                    local.serve_command, demo.demo_data_command):
        app.cli.add_command(command)
