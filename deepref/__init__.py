"""deepref: DeepRef's data backbone and internal admin console."""

from __future__ import annotations

from flask import Flask

from deepref.config import load_settings, read_environment


def create_app(config: dict | None = None) -> Flask:
    """Build the app: settings from the environment, then each module's init_app.

    `config` is for tests and embedding: "ENV" replaces the environment (and .env),
    "INSTANCE_PATH" the instance folder; other keys go into `app.config`.
    """
    config = dict(config or {})
    env = config.pop("ENV", None)
    app = Flask(__name__, instance_path=config.pop("INSTANCE_PATH", None))
    settings = load_settings(read_environment() if env is None else env, app.instance_path)
    app.config["DEEPREF"] = settings
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
