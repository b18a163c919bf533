"""The work of the migration job (app.tasks calls it with ids): SHAR moves the instance to the target
version (the gateway's POST /api/v1/instances/{id}/migrate); on its answer the row points at the
target version's Workflow row, the diagram counts of both versions move, and a sync follows.
The rule and the request are services/version_migrations'."""

from __future__ import annotations

from typing import Any

from app.core.extensions import db
from app.lifecycle.changes import counts_changed, record_activity
from app.lifecycle.states import InstanceStatus
from app.models import Workflow, WorkflowInstance
from app.models._base import utcnow
from app.services import element_names, shar_features, story
from app.services.sync import submit_sync
from app.services.version_migrations import CALL
from app.shar import SharInstance, current_client
from app.shar.errors import SharNotOffered


def migrate_in_shar(instance_id: str, payload: dict[str, Any], *, retry: bool = False) -> None:
    """Ask SHAR to move the instance to version payload["version"] with payload["mapping"], and point
    the row at Workflow payload["workflow_id"] on its answer. A retried attempt first asks SHAR which
    version the instance runs: the attempt before may have reached SHAR before it was cut off.
    A SHAR without the call (SharNotOffered, permanent) fails the job at once: migration_failed."""
    instance = db.session.get(WorkflowInstance, instance_id)
    target = db.session.get(Workflow, payload.get("workflow_id"))
    if instance is None or (target is not None and instance.workflow_id == target.id):
        return  # cleaned up since, or an earlier attempt's answer is applied
    if target is None or instance.status != InstanceStatus.RUNNING or not instance.shar_instance_id:
        why = "the target version is gone" if target is None else f"the instance is {instance.status}"
        record_activity(instance, "migration_skipped", f"migration not sent: {why}")
        db.session.commit()
        return
    version, client = int(payload["version"]), current_client()
    answer = client.get_instance(instance.shar_instance_id) if retry else None
    if answer is None or answer.workflow_version != version:
        # SharNotOffered is a permanent error: the job fails at once, and migration_failed records it.
        answer = client.migrate_instance(instance.shar_instance_id, version, dict(payload.get("mapping") or {}))
    shar_features.record_offered(CALL)
    _migrated(instance, target, answer)


def _migrated(instance: WorkflowInstance, target: Workflow, answer: SharInstance) -> None:
    """Point the row at the target version with where SHAR says it stands now; both versions' counts move."""
    source = instance.workflow
    activities = (
        list(answer.current_activities)
        if answer.current_activities is not None
        else list(instance.current_activities or ())
    )
    instance.workflow = target
    instance.current_activities = activities
    instance.progressed_at = utcnow()
    record_activity(
        instance,
        "migrated",
        f"moved from version {source.version} to version {target.version} in SHAR"
        + (f"; at {element_names.names_of(target).describe_all(activities)}" if activities else ""),
        from_version=source.version,
        to_version=target.version,
        from_workflow_id=source.id,
    )
    story.note_path(instance, activities, None)
    db.session.flush()
    counts_changed(source.id, target.id)  # the flush moved the target's; the source loses the instance
    db.session.commit()
    submit_sync(instance)


def migration_failed(instance_id: str, workflow_id: object, error: str, exc: BaseException | None = None) -> None:
    """The migration failed for good (SHAR refused it, or the attempts ran out): the timeline says so;
    when SHAR has no such call, it is recorded as not offered (the action shows as unavailable)."""
    instance = db.session.get(WorkflowInstance, instance_id)
    target = db.session.get(Workflow, workflow_id) if isinstance(workflow_id, int) else None
    to = f"version {target.version}" if target is not None else "another version"
    if isinstance(exc, SharNotOffered):
        text = f"{shar_features.record_not_offered(CALL, str(exc))}: not moved to {to}"
    else:
        text = f"the move to {to} failed: {error}"
    if instance is not None:
        record_activity(instance, "migration_failed", text, error=error)
    db.session.commit()
