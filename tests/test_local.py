"""`make run`'s server (`flask serve`) as a newcomer meets it: the address that answers
and the one-time password are the last lines printed; a busy port is one clear line."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import urllib.request

from databases import TEST_KEYS
from deploy_support import free_port

FLASK = [sys.executable, "-m", "flask", "--app", "deepref"]


def local_env(tmp_path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "FLASK_"))}
    return {**base, "DATABASE_URL": f"sqlite:///{tmp_path}/local.sqlite3", **TEST_KEYS}


def test_the_site_root_leads_to_the_console(client):
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"


def test_serve_prints_the_address_then_the_one_time_password_last(tmp_path):
    env = local_env(tmp_path)
    subprocess.run([*FLASK, "db", "migrate"], cwd=tmp_path, env=env, check=True,
                   capture_output=True, timeout=120)
    port = free_port()
    with serving(tmp_path, env, port) as server:
        lines = []
        while not lines or not lines[-1].startswith("Lost it?"):
            line = server.stdout.readline()
            assert line, f"serve stopped early: {lines}"
            lines.append(line.rstrip("\n"))
        printed = [line for line in lines if line.strip()]
        assert printed[0] == (f"deepref is running at http://127.0.0.1:{port}/ (Ctrl-C stops "
                              "it; a development server: production runs gunicorn, see the README).")
        assert printed[-3] == "  email:    admin@deepref.example.com"
        password = printed[-2].removeprefix("  password: ")
        assert len(password) >= 12 and " " not in password
        assert "create-admin admin@deepref.example.com" in printed[-1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as answer:
            assert answer.status == 200 and answer.url.endswith("/login?next=/admin/")

    with serving(tmp_path, env, port) as again:
        first = again.stdout.readline() + again.stdout.readline()
        assert "running at" in first and "password" not in first


@contextlib.contextmanager
def serving(tmp_path, env, port):
    """`flask serve` running; stopped afterwards."""
    with subprocess.Popen([*FLASK, "serve", "--port", str(port)], cwd=tmp_path, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as server:
        try:
            yield server
        finally:
            server.terminate()
            server.wait(timeout=30)


def test_a_busy_port_is_one_line_naming_another(tmp_path):
    env = local_env(tmp_path)
    subprocess.run([*FLASK, "db", "migrate"], cwd=tmp_path, env=env, check=True,
                   capture_output=True, timeout=120)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([*FLASK, "serve", "--port", str(port)], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.startswith(f"Error: cannot listen on 127.0.0.1:{port}: ")
    assert result.stderr.strip().endswith(f"make run PORT={port + 1}")
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
