"""The admin pages: queues, failed jobs, webhook deliveries, users and tokens, stuck instances, audit log,
untracked SHAR instances."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from app.admin import audit_log, failed_jobs, queues, shar_instances, users, webhooks  # noqa: E402,F401  (routes)
