"""The admin pages: queues, failed jobs, webhook deliveries, users and tokens, stuck instances, audit log,
untracked SHAR instances."""

from app.admin import audit_log, failed_jobs, queues, shar_instances, sso, users, webhooks  # noqa: F401  (routes)
from app.admin.blueprint import bp

__all__ = ["bp"]
