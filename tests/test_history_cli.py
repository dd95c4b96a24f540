"""`flask db status` and `doctor` as real processes: the app they build has no web parts
(fast start, bench/commands.py measures it) and they print what the full app prints."""

from __future__ import annotations

import os
import subprocess
import sys

from databases import app_env

FLASK = [sys.executable, "-X", "importtime", "-m", "flask", "--app", "deepref"]
WEB_ONLY = ("flask_admin", "wtforms", "deepref.admin", "deepref.auth", "pglast")


def test_db_commands_build_no_web_parts_and_print_the_same(app, tmp_path, database_url):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "FLASK_"))}
    env = {**base, **app_env(database_url)}
    cli = app.test_cli_runner()  # the full app, as a test builds it
    for command, web_free in (("status", WEB_ONLY), ("doctor", WEB_ONLY), ("check", WEB_ONLY)):
        done = subprocess.run([*FLASK, "db", command], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()
                    if line.startswith("import time:")}
        assert not {m for m in imported if m.split(".")[0] in web_free or m in web_free}, command
        assert done.stdout == cli.invoke(args=["db", command]).output
