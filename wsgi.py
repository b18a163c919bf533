"""The WSGI entry point: `flask` and gunicorn find the app here."""

import sys

from app import create_app
from app.core.config import ConfigError

try:
    app = create_app()
except ConfigError as exc:
    # One clear line naming the variable, not a traceback.
    sys.exit(f"sharboard: configuration error: {exc}")
