"""The admin pages: queues, failed jobs, webhook deliveries, users and tokens, stuck instances, audit log."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from app.admin import audit_log, failed_jobs, queues, users, webhooks  # noqa: E402,F401  (routes)
