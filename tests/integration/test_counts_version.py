"""The version of a diagram's counts (issue 21, row 6) is a counter on the workflow version that
every write which may change a count moves: here each kind of change, made by the app's own paths
against the real engine (a launch, its answer, a sync that moves to another element, a failure, a
completion, a cancel, a deletion, the unit of work's own writes), moves it, and nothing else does
(a sync that finds the instance where it was, a variables-only change, reading). On SQLite and
PostgreSQL. The read itself is one row of `workflows`: bench.counts_version measures it."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import event, select

from app.core.extensions import db
from app.jobs.runner import run_job
from app.lifecycle.changes import change_status, counts_changed
from app.models import Workflow, WorkflowInstance
from app.services.cleanup import cleanup_instances
from app.services.element_counts import element_counts, element_counts_state
from app.services.instances import cancel_instance
from app.services.launches import launch_instance
from app.services.sync import apply_shar_state
from app.services.workflows import create_workflow
from tests.support.factories import bpmn, make_user, refresh


class Versions:
    """The counts' versions of each workflow's v1 as ann and as an admin see them: moved() says which
    workflows' versions changed since the last call, and checks both actors saw the same (the counter
    is shared)."""

    def __init__(self, *actors: Any) -> None:
        self.actors = actors
        self.last = self.now()

    def now(self) -> dict[tuple[str, int], str]:
        db.session.expire_all()  # as a new request: nothing read before is trusted
        return {
            (name, n): element_counts_state(name, 1, actor=actor).version
            for name in ("Flow", "Decide")
            for n, actor in enumerate(self.actors)
        }

    def moved(self) -> set[str]:
        now, last = self.now(), self.last
        self.last = now
        changed = {key for key in now if now[key] != last[key]}
        assert {(name, n) for name, _ in changed for n in range(len(self.actors))} == changed, changed
        return {name for name, _ in changed}


def test_every_kind_of_change_moves_the_counts_version_and_nothing_else_does(
    database: str, app: Any, shar: Any
) -> None:
    ann, admin = make_user("ann@example.com"), make_user("root@example.com", "admin")
    create_workflow("Flow", bpmn("two_step"), actor=ann, async_=False)
    create_workflow("Decide", bpmn("review_decision"), actor=ann, async_=False)
    versions = Versions(ann, admin)
    assert versions.moved() == set()  # reading moves nothing

    # A launch: the placeholder is on no diagram, so it leaves the version (and its row lock) alone,
    # though a fragment drawn now polls (something is moving); then SHAR's answer (running, at `first`).
    launched = launch_instance("Flow", {"n": 1}, actor=ann, async_=True)
    assert versions.moved() == set() and element_counts_state("Flow", 1, actor=ann).moving
    run_job(launched.job.id, allow_retry=False)
    instance = refresh(launched.instance)
    assert instance.status == "running" and instance.current_activities == ["first"]
    assert versions.moved() == {"Flow"}
    assert element_counts("Flow", 1, actor=ann) == {"first": {"waiting": 1, "failed": 0}}

    # A sync that finds it where it was moves nothing, nor does one that changes only its variables.
    assert apply_shar_state(instance) == "running" and versions.moved() == set()
    row = refresh(instance)
    row.variables = {"changed": True}
    db.session.commit()
    assert apply_shar_state(refresh(instance)) == "running" and versions.moved() == set()

    # The task completed in SHAR; the sync moves it to `second`.
    httpx.post(f"{shar.url}/api/v1/instances/{instance.shar_instance_id}/complete").raise_for_status()
    assert apply_shar_state(refresh(instance)) == "running"
    assert refresh(instance).current_activities == ["second"] and versions.moved() == {"Flow"}
    assert element_counts("Flow", 1, actor=ann) == {"second": {"waiting": 1, "failed": 0}}

    # Completed in SHAR: the sync ends it, and it leaves the counts.
    httpx.post(f"{shar.url}/api/v1/instances/{instance.shar_instance_id}/complete").raise_for_status()
    assert apply_shar_state(refresh(instance)) == "completed" and versions.moved() == {"Flow"}
    assert element_counts("Flow", 1, actor=ann) == {}
    assert not element_counts_state("Flow", 1, actor=ann).moving

    # Cancelled.
    other = launch_instance("Flow", {}, actor=ann, async_=False).instance
    assert versions.moved() == {"Flow"}
    cancel_instance(other.id, actor=ann)
    assert refresh(other).status == "cancelled" and versions.moved() == {"Flow"}

    # Failed (rejected: an error end): where SHAR says it failed (failed_activities), it counts there.
    failing = launch_instance("Decide", {}, actor=ann, async_=False).instance
    assert versions.moved() == {"Decide"}
    shar_id = refresh(failing).shar_instance_id
    httpx.post(f"{shar.url}/api/v1/instances/{shar_id}/complete", json={"variables": {"approved": False}})
    assert apply_shar_state(refresh(failing)) == "failed" and versions.moved() == {"Decide"}
    assert element_counts("Decide", 1, actor=ann) == {"rejected": {"waiting": 0, "failed": 1}}

    # Deleted by the cleanup: the failed one leaves its element's count.
    assert cleanup_instances(actor=admin, days=0, statuses=["failed", "completed", "cancelled"]) == 3
    assert versions.moved() == {"Flow", "Decide"} and element_counts("Decide", 1, actor=ann) == {}

    # The unit of work's own writes (no service changes a status so today; one that would is covered).
    row = refresh(launch_instance("Flow", {}, actor=ann, async_=False).instance)
    assert versions.moved() == {"Flow"}
    row.current_activities = ["second"]
    db.session.commit()
    assert versions.moved() == {"Flow"}
    db.session.delete(refresh(row))
    db.session.commit()
    assert versions.moved() == {"Flow"}


def test_the_version_read_is_one_row_of_workflows_and_each_actor_keys_their_own(database: str, app: Any) -> None:
    ann, bob = make_user("ann@example.com"), make_user("bob@example.com")
    create_workflow("Flow", bpmn("two_step"), actor=ann, async_=False)
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM users" not in statement:  # not the reload of the user row expire_all expired
            statements.append(statement)

    db.session.expire_all()
    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        state = element_counts_state("Flow", 1, actor=ann)
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert len(statements) == 1 and "workflow_instances" not in statements[0], statements
    assert element_counts_state("Flow", 1, actor=bob).version != state.version  # each their own counts
    # counts_changed moves only the versions named, and not the workflow's updated_at (not a change of it).
    workflow = db.session.scalars(select(Workflow).where(Workflow.name == "Flow")).one()
    updated = workflow.updated_at
    counts_changed(workflow.id)
    db.session.commit()
    assert element_counts_state("Flow", 1, actor=ann).version != state.version
    assert refresh(workflow).updated_at == updated


def _revision(workflow_id: int) -> int:
    with db.engine.connect() as other:  # what is committed
        return other.execute(select(Workflow.counts_revision).where(Workflow.id == workflow_id)).scalar_one()


def test_status_changes_move_the_counts_version_once_at_their_commit(database: str, app: Any, shar: Any) -> None:
    """Several status changes of one version's instances in a transaction (jobs run together) move its
    counts version once, at the commit, and not at all when the transaction is rolled back; a savepoint
    rolled back inside it loses nothing."""
    ann = make_user()
    workflow = create_workflow("Flow", bpmn("two_step"), actor=ann, async_=False).workflow
    ids = [launch_instance("Flow", {"n": n}, actor=ann).instance.id for n in range(3)]
    db.session.commit()
    before = _revision(workflow.id)
    bumps: list[str] = []

    def on_statement(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("UPDATE workflows") and "counts_revision" in statement:
            bumps.append(statement)

    event.listen(db.engine, "before_cursor_execute", on_statement)
    try:
        for instance_id in ids[:2]:
            assert change_status(db.session.get(WorkflowInstance, instance_id), "running", commit=False)
        savepoint = db.session.begin_nested()
        db.session.get(WorkflowInstance, ids[2]).error = "x"
        db.session.flush()
        savepoint.rollback()
        assert bumps == [] and _revision(workflow.id) == before  # nothing before the commit
        db.session.commit()
        assert len(bumps) == 1 and _revision(workflow.id) == before + 1
        assert change_status(db.session.get(WorkflowInstance, ids[2]), "running", commit=False)
        db.session.rollback()
        db.session.commit()
    finally:
        event.remove(db.engine, "before_cursor_execute", on_statement)
    assert len(bumps) == 1 and _revision(workflow.id) == before + 1
