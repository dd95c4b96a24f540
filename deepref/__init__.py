"""deepref: DeepRef's data backbone and internal admin console."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask

from deepref.config import load_settings, read_environment

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
# The console's own script, beside Flask-Admin's assets (/admin/static/...).
STATIC = TEMPLATES.parent / "static"
STATIC_URL = "/admin/static/deepref"
MAX_REQUEST_BYTES = 2 * 1024 * 1024


def create_app(config: dict | None = None) -> Flask:
    """Build the app: settings from the environment, then each module's init_app.

    `config` is for tests and embedding: "ENV" replaces the environment (and .env),
    "INSTANCE_PATH" the instance folder; other keys go into `app.config`.
    """
    try:
        return _build(dict(config or {}))
    except click.ClickException as exc:
        # Under the flask CLI (even `flask --help`, which would print a traceback):
        # one line and the exception's exit code. Elsewhere the caller decides.
        if config is None and click.get_current_context(silent=True) is not None:
            exc.show()
            raise SystemExit(exc.exit_code) from None
        raise


def _build(config: dict) -> Flask:
    env = config.pop("ENV", None)
    app = Flask(__name__, instance_path=config.pop("INSTANCE_PATH", None),
                template_folder=str(TEMPLATES), static_folder=str(STATIC),
                static_url_path=STATIC_URL)
    settings = load_settings(read_environment() if env is None else env, app.instance_path)
    app.config["DEEPREF"] = settings
    # No form of the console comes near this; a bigger body is refused (413) unread.
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    app.config.update(config)

    from deepref import admin, auth, cli, db, deploy, errors, health, keys, prompts_cli

    keys.init_app(app)
    db.init_app(app)
    cli.init_app(app)
    prompts_cli.init_app(app)
    health.init_app(app)
    errors.init_app(app)
    auth.init_app(app)
    admin.init_app(app)
    deploy.init_app(app)  # last: may apply migrations once all else is set up
    return app
