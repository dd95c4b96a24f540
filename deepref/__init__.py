"""deepref: DeepRef's data backbone and internal admin console."""

from __future__ import annotations

from pathlib import Path

import dataclasses

from flask import Flask

from deepref.config import load_settings, read_environment
from deepref.exceptions import DeeprefError

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
# The console's own script, beside Flask-Admin's assets (/admin/static/...).
STATIC = TEMPLATES.parent / "static"
STATIC_URL = "/admin/static/deepref"
MAX_REQUEST_BYTES = 2 * 1024 * 1024


def create_app(config: dict | None = None) -> Flask:
    """Build the app: settings from the environment, then each module's init_app.

    `config` is for tests and embedding: "ENV" replaces the environment (and .env),
    "INSTANCE_PATH" the instance folder, "MIGRATIONS_DIR" the revisions' folder; other
    keys go into `app.config`.
    """
    try:
        return _build(dict(config or {}))
    except DeeprefError as exc:
        if config is None:
            from deepref.cli import exit_under_command_line

            exit_under_command_line(exc)
        raise


def _build(config: dict) -> Flask:
    env = config.pop("ENV", None)
    app = Flask(__name__, instance_path=config.pop("INSTANCE_PATH", None),
                template_folder=str(TEMPLATES), static_folder=str(STATIC),
                static_url_path=STATIC_URL)
    settings = load_settings(read_environment() if env is None else env, app.instance_path)
    if "MIGRATIONS_DIR" in config:
        settings = dataclasses.replace(settings, migrations_dir=Path(config.pop("MIGRATIONS_DIR")))
    app.config["DEEPREF"] = settings
    # No form of the console comes near this; a bigger body is refused (413) unread.
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    app.config.update(config)

    from deepref import cli, db, deploy, keys

    db.init_app(app)
    keys.init_app(app)
    cli.init_app(app)
    if not cli.database_command():  # `flask db ...` needs no web parts: it starts fast without them
        from deepref import admin, auth, console, errors, health, request_log

        health.init_app(app)
        console.init_app(app)
        errors.init_app(app)
        auth.init_app(app)
        admin.init_app(app)
        request_log.init_app(app, console_server=cli.serving_command())
    deploy.init_app(app, serving=cli.serving())  # last: may apply migrations once all is set up
    return app
