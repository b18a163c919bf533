"""Creating, versioning and deleting workflows; the jobs that do it in SHAR."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from app.bpmn import BpmnValidationError, validate_bpmn
from app.config import current_settings
from app.errors import Conflict, InvalidInput, PayloadTooLarge
from app.events import fire, workflow_created, workflow_creation_failed
from app.extensions import db
from app.jobs.dispatch import submit
from app.jobs.specs import job
from app.models import JobRecord, User, Workflow
from app.services.lookups import get_workflow, get_workflow_by_id, latest_workflow
from app.shar import SharNotFound, current_client
from app.status import change_status, record_activity
from app.webhooks.address_policy import AddressRefused, check_callback_url

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,199}$")


@dataclass(frozen=True)
class CreateResult:
    workflow: Workflow
    created: bool  # False: the BPMN equals the latest version's, nothing new was made


def create_workflow(name: str, bpmn_xml: str, *, description: str = "", created_by: int | None = None,
                    callback_url: str | None = None, async_: bool | None = None) -> CreateResult:
    """Store a `creating` placeholder (a new version if the name exists) and create it in SHAR.

    Asynchronously by default: returns at once and a job calls SHAR. With async_=False
    the call is made here, with the same status rules, records and events.
    """
    settings = current_settings()
    name = _check_name(name)
    summary = _check_bpmn(bpmn_xml, settings.max_bpmn_bytes)
    callback_url = check_callback(callback_url)
    digest = hashlib.sha256(bpmn_xml.encode()).hexdigest()
    latest = latest_workflow(name)
    if latest is not None and latest.bpmn_sha256 == digest and latest.status in ("creating", "active"):
        return CreateResult(latest, created=False)
    workflow = Workflow(
        name=name, version=(latest.version + 1) if latest else 1, description=description or "",
        bpmn_xml=bpmn_xml, bpmn_sha256=digest, summary=summary, status="creating",
        created_by=created_by, callback_url=callback_url,
    )
    db.session.add(workflow)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(f"another version of {name!r} was uploaded at the same moment; try again") from None
    record_activity(workflow, "placeholder_created", f"version {workflow.version} stored; creation queued")
    async_ = settings.shar_async_enabled if async_ is None else async_
    submit("create_workflow", target_type="workflow", target_id=workflow.id, created_by=created_by,
           inline=not async_)
    db.session.refresh(workflow)
    return CreateResult(workflow, created=True)


def delete_workflow(name: str, *, actor: User | None = None) -> Workflow:
    """Make every version inactive now (no new launches) and remove it from SHAR in a job."""
    latest = get_workflow(name)
    if latest.status == "inactive":
        raise Conflict(f"workflow {name!r} is already inactive")
    for version in db.session.scalars(db.select(Workflow).where(Workflow.name == name)):
        if version.status in ("active", "failed"):
            change_status(version, "inactive", message="deleted")
        elif version.status == "creating":
            raise Conflict(f"workflow {name!r} v{version.version} is still being created; delete it once it is active or failed")
    submit("delete_workflow", target_type="workflow", target_id=latest.id,
           created_by=actor.id if actor else None, payload={"name": name})
    db.session.refresh(latest)
    return latest


def check_callback(url: str | None) -> str | None:
    """The callback URL if the operator's address policy allows it; InvalidInput otherwise."""
    if not url:
        return None
    try:
        check_callback_url(url, current_settings())
    except AddressRefused as exc:
        raise InvalidInput.field("callback_url", str(exc)) from None
    return url


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput.field("name", "name is required")
    name = name.strip()
    if not NAME_PATTERN.match(name):
        raise InvalidInput.field("name", "name must start with a letter or digit and hold only letters, digits, "
                                         "spaces, '.', '_' or '-' (at most 200)")
    return name


def _check_bpmn(bpmn_xml: object, max_bytes: int) -> dict:
    if not isinstance(bpmn_xml, str) or not bpmn_xml.strip():
        raise InvalidInput.field("bpmn_xml", "bpmn_xml is required")
    try:
        return validate_bpmn(bpmn_xml, max_bytes=max_bytes).to_dict()
    except BpmnValidationError as exc:
        error = PayloadTooLarge if exc.code == "too_large" else InvalidInput
        raise error.field("bpmn_xml", exc.message) from None


# -- jobs ------------------------------------------------------------------------------

def _create_failed(job_record: JobRecord, exc: BaseException) -> None:
    workflow = get_workflow_by_id(int(job_record.target_id))
    if change_status(workflow, "failed", error=str(exc)):
        fire(workflow_creation_failed, workflow, workflow_name=workflow.name, error_message=str(exc))


def _create_retry(job_record: JobRecord) -> None:
    workflow = get_workflow_by_id(int(job_record.target_id))
    if workflow.status == "failed":
        change_status(workflow, "creating", error=None, message="retried by an operator")


@job("create_workflow", queue="shar_workflow_queue", attempts=3, waits=(10, 30, 60), timeout=300,
     on_failure=_create_failed, on_retry=_create_retry)
def create_in_shar(job_record: JobRecord) -> None:
    """Send the BPMN to SHAR; on success the workflow becomes active."""
    workflow = get_workflow_by_id(int(job_record.target_id))
    if workflow.status != "creating":
        return  # done by an earlier delivery of this job, or cancelled by a delete
    answer = current_client().create_workflow(workflow.name, workflow.bpmn_xml)
    if change_status(workflow, "active", shar_response=answer, error=None):
        fire(workflow_created, workflow, shar_response=answer)


@job("delete_workflow", queue="shar_workflow_queue", attempts=3, waits=(10, 30, 60), timeout=300)
def delete_in_shar(job_record: JobRecord) -> None:
    """Remove the workflow from SHAR; one SHAR no longer knows counts as removed."""
    name = job_record.payload["name"]
    try:
        current_client().delete_workflow(name)
    except SharNotFound:
        pass
    workflow = latest_workflow(name)
    if workflow is not None:
        record_activity(workflow, "deleted_in_shar", f"{name} removed from SHAR")
        db.session.commit()
