"""Slow clients cannot starve gunicorn behind the shipped nginx (deploy/nginx.conf).

A real gunicorn (gunicorn.conf.py, wsgi:app, 2 workers x 4 threads: 8 threads, on
SQLite) behind a real nginx run with deploy/nginx.conf (its "site:" lines rewritten for a
temp folder and random ports, TLS with a certificate made here). 16 attackers of each
kind hold connections (bench/slowclients.py: slowloris headers, idle connections, slow
bodies; twice as many as gunicorn has threads) while a fixed number of probes each get
their answer. Without nginx the same attackers only slow gunicorn down (its request
read deadline, deepref/gthread.py, frees their threads). A probe's timeout is generous: it fails
only if gunicorn is stuck, never because the machine is slow.
"""

from __future__ import annotations

import http.client
import importlib.util
import re
import shutil
import subprocess
import sys
import time

import pytest

from deploy_support import ROOT

ATTACKERS = 16
PROBES = 10
PROBE_TIMEOUT = 60  # seconds: only a stuck server takes this long


def bench_slowclients():
    if "bench_slowclients" not in sys.modules:
        spec = importlib.util.spec_from_file_location("bench_slowclients",
                                                      ROOT / "bench" / "slowclients.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["bench_slowclients"] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
    return sys.modules["bench_slowclients"]


def logged(servers, name: str, text: str) -> bool:
    """Whether `text` reaches the log `name` (a server writes it after the response)."""
    deadline = time.monotonic() + PROBE_TIMEOUT
    while text not in servers.log(name):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """gunicorn and nginx, started once for this file."""
    if not shutil.which("/usr/sbin/nginx"):
        pytest.fail("nginx is needed (scripts/provision-test installs it)", pytrace=False)
    # A short read deadline, so the direct tests below wait seconds, not minutes.
    started = bench_slowclients().Servers(tmp_path_factory.mktemp("slow"),
                                          GUNICORN_REQUEST_READ_TIMEOUT="2").start()
    yield started
    started.stop()


@pytest.mark.parametrize("kind", ["slowloris", "idle", "slow-body"])
def test_probes_are_answered_while_slow_clients_hold_connections(servers, kind):
    bench = bench_slowclients()
    with bench.Attack(kind, servers.nginx, ATTACKERS) as attack:
        answers = [servers.nginx.probe(timeout=PROBE_TIMEOUT)[0] for _ in range(PROBES)]
        held = attack.connections
    assert answers == [200] * PROBES
    assert held >= ATTACKERS
    # gunicorn never saw an unfinished request: nginx keeps them until they are whole.
    assert "POST /login" not in servers.log("gunicorn.log")
    assert "Traceback" not in servers.log("gunicorn.log")


@pytest.mark.parametrize("kind", ["slowloris", "idle", "slow-body"])
def test_gunicorn_alone_slows_down_but_keeps_answering(servers, kind):
    """Without nginx, each attacker holds a thread until GUNICORN_REQUEST_READ_TIMEOUT
    (or gunicorn's 5 s wait for a first byte) drops it: probes wait, but are answered."""
    bench = bench_slowclients()
    with bench.Attack(kind, servers.direct, ATTACKERS):
        answers = [servers.direct.probe(timeout=PROBE_TIMEOUT * 2)[0] for _ in range(2)]
    assert answers == [200] * 2
    assert "Traceback" not in servers.log("gunicorn.log")


def test_the_request_id_is_nginx_s_and_on_gunicorn_s_log_lines(servers):
    conn = servers.nginx
    https = http.client.HTTPSConnection("127.0.0.1", conn.port, timeout=PROBE_TIMEOUT,
                                        context=conn.tls)
    try:
        https.request("GET", "/healthz?token=never-logged",
                      headers={"Host": "refs.example.com", "X-Request-ID": "client-made"})
        response = https.getresponse()
        response.read()
    finally:
        https.close()
    request_id = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)  # nginx's $request_id, not the client's
    assert logged(servers, "gunicorn.log", f"[{request_id}] deepref.access: GET /healthz?token=* 200")
    assert logged(servers, "nginx/access.log", f"request_id={request_id}")
    for name in ("gunicorn.log", "nginx/access.log"):
        assert "never-logged" not in servers.log(name)


def test_the_shipped_config_passes_nginx_s_own_check(servers):
    done = subprocess.run(["/usr/sbin/nginx", "-t", "-p", str(servers.folder / "nginx"),
                           "-c", str(servers.folder / "nginx" / "nginx.conf")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "syntax is ok" in done.stderr
