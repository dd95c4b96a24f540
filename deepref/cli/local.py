"""`flask serve`: the console on this machine, for `make run` on the embedded database.

It binds the port first (a busy port is one clear line), then says where the console
is and, the first time, how to sign in: the one-time password is the last thing
printed before requests are logged.
"""

from __future__ import annotations

import contextlib
import socket

import click
from flask import current_app
from flask.cli import with_appcontext
from werkzeug.serving import make_server, select_address_family

from deepref.cli.admins import DEFAULT_ADMIN_EMAIL, RESET_COMMAND, create_first_admin
from deepref.cli.errors import command_errors
from deepref.db import release


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True,
              help="Port to listen on (`make run PORT=8080`).")
@with_appcontext
@command_errors
def serve_command(host, port):
    """Serve the console here (a development server; production runs gunicorn)."""
    with _listening(host, port) as sock:
        server = make_server(host, port, current_app._get_current_object(), threaded=True,
                             fd=sock.fileno())
    password = create_first_admin()
    release()  # the server's threads open their own connections
    address = f"http://{host}:{port}/"
    click.echo(f"\ndeepref is running at {address} (Ctrl-C stops it; a development server:"
               " production runs gunicorn, see the README).")
    if password is not None:
        click.echo(
            f"\nSign in at {address} as the first admin. This password is shown only now:\n"
            f"  email:    {DEFAULT_ADMIN_EMAIL}\n"
            f"  password: {password}\n"
            f"Lost it? Set a new one with: {RESET_COMMAND}\n")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("Stopped.")
    finally:
        server.server_close()


@contextlib.contextmanager
def _listening(host: str, port: int):
    """A socket listening on host:port (werkzeug would exit the process on a busy port)."""
    sock = socket.socket(select_address_family(host, port), socket.SOCK_STREAM)
    with sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
            sock.listen(128)
        except OSError as exc:
            raise click.ClickException(
                f"cannot listen on {host}:{port}: {exc.strerror}. Is deepref already running? "
                f"Pick another port: make run PORT={port + 1}") from None
        yield sock
