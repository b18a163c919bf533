"""The data model; importing this package registers every table."""

from app.models.activity import ActivityEvent
from app.models.audit import AuditEntry, IdempotentResponse
from app.models.bulk import BulkOperation, PreviewedSet
from app.models.instance import WorkflowInstance
from app.models.job_record import FailedJobGroup, JobAttempt, JobRecord
from app.models.notification import Notification
from app.models.periodic import (
    ConsumerHeartbeat,
    Lease,
    QueueSample,
    ScheduleRun,
    SharFeature,
    SharHealthCheck,
    SharOutage,
)
from app.models.saved_view import SavedView
from app.models.shar_instance import UntrackedSharInstance
from app.models.sso import SsoPolicy, SsoRoleRule
from app.models.user import ROLES, ApiToken, User
from app.models.webhook import WebhookDelivery
from app.models.workflow import Workflow, WorkflowName

__all__ = [
    "ROLES",
    "ActivityEvent",
    "ApiToken",
    "AuditEntry",
    "BulkOperation",
    "FailedJobGroup",
    "IdempotentResponse",
    "JobAttempt",
    "JobRecord",
    "Notification",
    "PreviewedSet",
    "ConsumerHeartbeat",
    "QueueSample",
    "SavedView",
    "Lease",
    "ScheduleRun",
    "SharFeature",
    "SharHealthCheck",
    "SharOutage",
    "SsoPolicy",
    "SsoRoleRule",
    "UntrackedSharInstance",
    "User",
    "WebhookDelivery",
    "Workflow",
    "WorkflowName",
    "WorkflowInstance",
]
