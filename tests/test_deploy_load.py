"""bench/load.py end to end, briefly: gunicorn, signed-in sessions, edits, no lost write.

It runs a fixed amount of work (--requests), not a time window, so that every kind of
request is made however busy the machine is.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess

from cryptography.fernet import Fernet

from deploy_support import ROOT, VENV_BIN


def test_the_load_benchmark_runs_clean_on_a_small_data_set(pg_database, tmp_path):
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"),
           "TMPDIR": str(tmp_path), "SECRET_KEY": secrets.token_urlsafe(32),
           "PROMPT_ENCRYPTION_KEYS": Fernet.generate_key().decode()}
    python = str(VENV_BIN / "python")
    generate = subprocess.run(
        [python, "bench/generate.py", "--database-url", pg_database, "--scale", "0.002",
         "--migrate"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert generate.returncode == 0, generate.stdout + generate.stderr

    figures = tmp_path / "load.json"
    load = subprocess.run(
        [python, "bench/load.py", "--database-url", pg_database, "--requests", "12",
         "--warm-up", "0", "--clients", "3", "--json", str(figures)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    output = load.stdout + load.stderr
    assert load.returncode == 0, output
    report = json.loads(figures.read_text())
    assert report["http_5xx"] == 0 and report["errors"] == {} and report["lost_writes"] == 0
    assert report["edits_acknowledged"] > 0
    assert all(row["requests"] > 0 for row in report["kinds"].values()), report["kinds"]
    # 3 sessions x 12 = 36, an edit being a form and a save: at least 3 edits.
    counted = {kind: row["requests"] for kind, row in report["kinds"].items()}
    assert counted["edit-form"] == counted["edit-save"] >= 3, counted
    assert sum(counted.values()) == 36 + counted["edit-form"], counted
    assert "lost writes: 0" in output and "Traceback" not in output
