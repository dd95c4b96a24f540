"""The WSGI entry point: `gunicorn wsgi:app`."""

import sys

from deepref import create_app
from deepref.config import ConfigError
from deepref.deploy import StartupError

try:
    app = create_app()
except ConfigError as exc:
    sys.exit(f"deepref: configuration error: {exc.message}")
except StartupError as exc:  # DATABASE_MIGRATIONS_RUN=true and they cannot be applied
    sys.exit(f"deepref: {exc.message}")
