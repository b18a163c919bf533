"""The JSON API under /api/shar, with bearer tokens; the seed's endpoints and bodies."""

from app.api import errors, instances, openapi, probes, workflows  # noqa: F401  (routes and handlers)
from app.api.blueprints import bp, docs_bp, probes_bp

__all__ = ["bp", "docs_bp", "probes_bp"]
