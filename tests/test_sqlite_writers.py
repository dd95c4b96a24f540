"""Concurrent console editors on the SQLite default, under a real gunicorn: no save is
refused as "busy" and none is lost (console writes take the write lock up front).

bench/sqlite_writers.py with a fixed amount of work (8 editors x 25 saves), not a time
window, so it does the same work however busy the machine is.
"""

from __future__ import annotations

import json
import os
import subprocess

from deploy_support import ROOT, VENV_BIN


def test_eight_concurrent_editors_get_no_refusal_and_lose_nothing(tmp_path):
    figures = tmp_path / "writers.json"
    done = subprocess.run(
        [str(VENV_BIN / "python"), "bench/sqlite_writers.py", "--editors", "8", "--saves", "25",
         "--workers", "2", "--threads", "4", "--json", str(figures)],
        cwd=ROOT, env={**os.environ, "TMPDIR": str(tmp_path)}, capture_output=True, text=True,
        timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    report = json.loads(figures.read_text())
    assert report["saves_tried"] == report["saves_acknowledged"] == 200, report
    assert report["refusals"] == 0 and report["errors"] == {} and report["lost_writes"] == 0
    assert report["busy_log_lines"] == 0 and "Traceback" not in output
