"""The WSGI entry point: `gunicorn wsgi:app`."""

import sys

from deepref import create_app
from deepref.config import ConfigError

try:
    app = create_app()
except ConfigError as exc:
    sys.exit(f"deepref: configuration error: {exc.format_message()}")
