"""The JSON API under /api/shar, with bearer tokens; the seed's endpoints and bodies."""

from app.api import errors, instances, probes, query_parameters, repairs, views, workflows  # noqa: F401  (routes, handlers)
from app.api.blueprints import bp, docs_bp, probes_bp
from app.api.openapi import document  # noqa: F401  (the route of /api/openapi.json)

__all__ = ["bp", "docs_bp", "probes_bp"]
