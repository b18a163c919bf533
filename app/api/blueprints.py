"""The API's blueprints, apart from their routes so route modules and the package import them in one direction."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/shar")
docs_bp = Blueprint("api_docs", __name__, url_prefix="/api")
# /readyz and /metrics: for load balancers and Prometheus, at the root as they expect.
probes_bp = Blueprint("probes", __name__)
