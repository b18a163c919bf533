"""The JSON API under /api/shar, with bearer tokens; the seed's endpoints and bodies."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/shar")
docs_bp = Blueprint("api_docs", __name__, url_prefix="/api")

from app.api import errors, instances, openapi, workflows  # noqa: F401  (routes and handlers)
