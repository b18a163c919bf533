"""Version diffs: what changed between two versions of a workflow name, or between its deployed
version and a file about to be uploaded, and how many instances still run the older versions.

Reads only: nothing is stored, audited or queued. Visibility is get_version's (every role sees
every workflow); the instance counts are over the instances the actor may see, as every other
count of the dashboard is (access.visible_instances).

A diff costs CPU in proportion to its files (docs/performance.md), so what one person may start
is bounded, at every door: files up to SHARBOARD_MAX_DIFF_BYTES (413 for an upload, 422 for a
stored version), one diff of theirs at a time (a lease in the database, so every process sees
it) and SHARBOARD_DIFF_RATE_LIMIT of them (counted in the rate-limit storage); TooManyRequests
(429 with Retry-After) otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from app.bpmn import BpmnValidationError
from app.bpmn.diff import VersionDiff, diff_bpmn
from app.core.config import current_settings
from app.core.errors import Conflict, InvalidInput, PayloadTooLarge, TooManyRequests
from app.core.extensions import db
from app.jobs import leases
from app.lifecycle.states import UNDER_WAY_INSTANCE, WorkflowStatus
from app.models import Workflow, WorkflowInstance, WorkflowName
from app.security.rate_limits import spend
from app.services.access import may_upload, sees_all_instances, visible_instances
from app.services.actors import Actor, actor_label
from app.services.workflow_input import check_bpmn, check_name
from app.services.workflows import get_version, version_number, version_numbers

# How long one diff holds its person's slot at most, should its process die before it lets go;
# the largest diff allowed takes well under this.
BUSY_SECONDS = 60
BUSY_RETRY_AFTER = 2  # seconds: a diff within the size limit takes about this long on a loaded machine


@dataclass(frozen=True)
class Comparison:
    name: str
    # The older side: a stored version, or None when nothing is deployed to compare an upload with.
    from_version: int | None
    # The newer side: a stored version, or None for the uploaded file.
    to_version: int | None
    diff: VersionDiff | None  # None: nothing to compare with
    # Instances launching or running that the actor may see, by version (only versions having some).
    running: dict[int, int]
    counts_all: bool  # the counts cover every instance (admins, viewers), not only the actor's own
    versions: list[int]  # every version of the name, oldest first
    # Of a preview only: no version of the name exists; what the upload would be numbered; what a
    # real SHAR would refuse in it; whether the actor may upload it.
    new_workflow: bool = False
    next_version: int | None = None
    warnings: list[dict[str, Any]] = field(default_factory=list)
    may_upload: bool = False

    @property
    def running_total(self) -> int:
        return sum(self.running.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "new_workflow": self.new_workflow,
            "next_version": self.next_version,
            "versions": list(self.versions),
            "running": [{"version": v, "instances": n} for v, n in sorted(self.running.items())],
            "running_total": self.running_total,
            "running_counts_all": self.counts_all,
            "warnings": [dict(w) for w in self.warnings],
            "may_upload": self.may_upload,
            "diff": self.diff.to_dict() if self.diff is not None else None,
        }


def compare_versions(name: str, a: object, b: object, *, actor: Actor) -> Comparison:
    """Version `a` of `name` against version `b` (numbers, or their digits as text)."""
    first, second = version_number(a, "from"), version_number(b, "to")
    old, new = get_version(name, first, actor=actor), get_version(name, second, actor=actor)
    diff = diff_of(old, new, actor=actor)
    return Comparison(
        name=old.name,
        from_version=first,
        to_version=second,
        diff=diff,
        running=_running(old.name, actor, versions=(first, second)),
        counts_all=sees_all_instances(actor),
        versions=version_numbers(old.name, actor=actor),
    )


def diff_of(old: Workflow, new: Workflow, *, actor: Actor) -> VersionDiff:
    """Two stored versions compared by element id, within what one person may start (the size
    limit, one diff at a time, the rate): compare_versions, and a migration's mapping form
    (services/version_migrations) that lists the elements a target version no longer has."""
    for version in (old, new):
        _check_size(version.bpmn_xml, f"version {version.version} of {version.name!r}", InvalidInput)
    with _one_at_a_time(actor):
        return _diff(old, new.bpmn_xml)


def preview_upload(name: object, bpmn_xml: object, *, actor: Actor) -> Comparison:
    """What uploading `bpmn_xml` as the next version of `name` would change against its latest active
    version, with the instances that still run its versions. The file gets create_workflow's check
    (InvalidInput or PayloadTooLarge naming every problem); nothing is stored or queued."""
    name = check_name(name)
    if isinstance(bpmn_xml, str):
        _check_size(bpmn_xml, "the file", PayloadTooLarge)
    deployed = db.session.scalars(
        select(Workflow)
        .where(Workflow.name == name, Workflow.status == WorkflowStatus.ACTIVE)
        .order_by(Workflow.version.desc())
        .limit(1)
    ).first()
    if deployed is not None:
        _check_size(deployed.bpmn_xml, f"version {deployed.version} of {name!r}, the deployed one", InvalidInput)
    with _one_at_a_time(actor):
        checked = check_bpmn(bpmn_xml, current_settings().max_bpmn_bytes)
        bpmn_xml, summary = checked.text, checked.summary
        diff = _diff(deployed, bpmn_xml) if deployed else None
    versions = version_numbers(name, actor=actor)
    owner = db.session.get(WorkflowName, name)
    return Comparison(
        name=name,
        from_version=deployed.version if deployed else None,
        to_version=None,
        diff=diff,
        running=_running(name, actor),
        counts_all=sees_all_instances(actor),
        versions=versions,
        new_workflow=not versions,
        next_version=(versions[-1] + 1) if versions else 1,
        warnings=list(summary.get("shar_warnings", [])),
        # create_workflow's rule: a new name is any writer's; an owned one its owner's or an admin's.
        may_upload=may_upload(actor, owner),
    )


def _check_size(text: str, what: str, error: type[InvalidInput]) -> None:
    """`error` naming the size and the limit when `text` is over what a diff compares."""
    size, limit = len(text.encode()), current_settings().max_diff_bytes
    if size > limit:
        message = f"{what} is {_size(size)}; a diff compares files up to {_size(limit)} (SHARBOARD_MAX_DIFF_BYTES)"
        raise error(message, {"bpmn_xml": [message]})


def _size(count: int) -> str:
    return f"{count / 1024 / 1024:.1f} MiB" if count >= 1024 * 1024 else f"{count / 1024:.0f} KiB"


@contextmanager
def _one_at_a_time(actor: Actor) -> Iterator[None]:
    """Hold `actor`'s one diff slot while the block runs, counting it against the rate; TooManyRequests
    when a diff of theirs is under way (in any process) or the rate is spent."""
    who = f"user:{actor.id}" if actor.id is not None else actor_label(actor)
    lease = f"diff:{who}"[:60]
    if not leases.acquire(lease, BUSY_SECONDS):
        raise TooManyRequests(
            "a diff you asked for is still being computed; one runs at a time per person: "
            f"try again when it has finished (in about {BUSY_RETRY_AFTER} s)",
            BUSY_RETRY_AFTER,
        )
    try:
        rate = current_settings().diff_rate_limit
        wait = spend(rate, "diff", who)
        if wait:
            raise TooManyRequests(f"too many diffs: at most {rate} per person; try again in {wait} s", wait)
        yield
    except BaseException:
        db.session.rollback()  # a read: nothing to keep, and a failed statement must not block the release
        raise
    finally:
        leases.release(lease, "done")


def _diff(old: Workflow, new_xml: str) -> VersionDiff:
    # Stored versions passed the upload check of their day; a lower limit since then still reads them.
    limit = max(current_settings().max_bpmn_bytes, len(old.bpmn_xml.encode()), len(new_xml.encode()))
    try:
        return diff_bpmn(old.bpmn_xml, new_xml, max_bytes=limit)
    except BpmnValidationError as exc:
        raise Conflict(f"these versions of {old.name!r} cannot be compared: {exc.message}") from None


def _running(name: str, actor: Actor, versions: tuple[int, ...] | None = None) -> dict[int, int]:
    query = (
        visible_instances(actor)
        .join(Workflow, WorkflowInstance.workflow_id == Workflow.id)
        .where(Workflow.name == name, WorkflowInstance.status.in_(UNDER_WAY_INSTANCE))
        .with_only_columns(Workflow.version, func.count())
        .group_by(Workflow.version)
    )
    if versions is not None:
        query = query.where(Workflow.version.in_(versions))
    return {version: count for version, count in db.session.execute(query)}
