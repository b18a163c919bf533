"""Bulk actions on instances (#12): select by filter (status, workflow, element, variable, age), preview
how many the action applies to and the newest of them, then sync, cancel or retry them as one audited
operation that a job runs, instance by instance, as its requester; through the API and the CLI."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from app.core.extensions import db
from app.models import AuditEntry, BulkOperation, JobRecord, User, Workflow, WorkflowInstance
from app.models._base import utcnow
from app.services import bulk, bulk_work
from app.services.launches import launch_instance
from app.services.workflows import create_workflow
from tests.cli.conftest import cli_runner
from tests.support.factories import bpmn, make_user, refresh
from tests.support.servers import wait_until

BULK = "/api/shar/instances/bulk"


def _user(email: str, role: str = "user") -> User:
    return db.session.scalar(select(User).where(User.email == email)) or make_user(email, role)


def _seed(rows: list[tuple[str, str, dict[str, Any], list[str], float]], workflow: str = "Orders") -> list[str]:
    """Instances of `workflow` (v1, made if missing): (owner e-mail, status, variables, current
    activities, age in hours) each; their ids, in the order given."""
    owners = {email: _user(email).id for email, *_ in rows}
    found = db.session.scalar(select(Workflow).where(Workflow.name == workflow))
    if found is None:
        found = Workflow(name=workflow, version=1, bpmn_xml="<x/>", bpmn_sha256="h", summary={}, status="active")
        db.session.add(found)
        db.session.flush()
    now = utcnow()
    ids = list(
        db.session.scalars(
            insert(WorkflowInstance).returning(WorkflowInstance.id),
            [
                {
                    "workflow_id": found.id,
                    "status": status,
                    "variables": variables,
                    "current_activities": activities,
                    "created_by": owners[email],
                    "created_at": now - timedelta(hours=hours, seconds=n),
                }
                for n, (email, status, variables, activities, hours) in enumerate(rows)
            ],
        )
    )
    db.session.commit()
    return ids


def _audit_rows(**where: Any) -> int:
    db.session.expire_all()
    query = select(func.count()).select_from(AuditEntry)
    for name, value in where.items():
        query = query.where(getattr(AuditEntry, name) == value)
    return db.session.scalar(query)


def _finished(api: Any, operation_id: int) -> dict[str, Any]:
    """Poll the operation's progress until it has finished; its last answer."""

    def finished() -> dict[str, Any] | None:
        data = api.get(f"{BULK}/{operation_id}").get_json()["data"]
        return data if data["state"] == "finished" else None

    return wait_until(finished, timeout=60, interval=0.3, what=f"bulk operation {operation_id} to finish")


def test_preview_counts_what_the_action_applies_to_and_shows_the_newest(database, app, api) -> None:  # type: ignore[no-untyped-def]
    ann = "ann@example.com"  # the `api` fixture's user
    ids = _seed(
        [
            *[(ann, "running", {"amount": n}, ["review"], 3) for n in range(12)],
            (ann, "launching", {"amount": 50}, [], 0),
            (ann, "completed", {"amount": 60}, [], 5),
            (ann, "failed", {"amount": 70}, ["review"], 5),
            ("bob@example.com", "running", {"amount": 80}, ["review"], 5),
        ]
    )

    cancel = api.post(BULK, json={"action": "cancel", "filter": {"workflow": "Orders"}, "preview": True})
    assert cancel.status_code == 200, cancel.get_json()
    data = cancel.get_json()["data"]
    # Launching and running ones are cancelled; the completed and failed are skipped; bob's is not ann's.
    assert (data["count"], data["skipped"], data["matched"]) == (13, 2, 15)
    assert data["applies_to"] == "launching or running instances"
    assert [i["id"] for i in data["sample"]] == [ids[12], *ids[:9]]  # the newest 10 first
    assert data["filter"] == {"workflow": "Orders"}

    # Status, element, variable and age narrow it, as on the list.
    narrowed = api.post(
        BULK,
        json={
            "action": "sync",
            "preview": True,
            "filter": {"status": "running", "activity": "review", "var": ["amount>=5"], "older_than": "2h"},
        },
    ).get_json()["data"]
    assert (narrowed["count"], narrowed["skipped"]) == (7, 0)
    young = api.post(BULK, json={"action": "sync", "preview": True, "filter": {"older_than": "4h"}}).get_json()["data"]
    assert (young["count"], young["skipped"]) == (0, 2)  # only the completed and failed are that old
    assert young["sample"] == []
    # The list takes the same age filter.
    listed = api.get("/api/shar/instances?older_than=4h&per_page=100").get_json()["data"]["items"]
    assert sorted(i["id"] for i in listed) == sorted(ids[13:15])
    run = cli_runner(app)  # and so does the CLI's (which sees every instance: bob's too)
    shown = run("instance", "list", "--older-than", "4h", "--workflow", "Orders", "--format", "json")
    assert shown.exit_code == 0, shown.output
    assert sorted(i["id"] for i in json.loads(shown.output)) == sorted(ids[13:16])
    bad = run("instance", "list", "--older-than", "a while")
    assert bad.exit_code == 1 and "older_than is a duration" in bad.output

    # A preview stores nothing and writes no audit entry.
    assert db.session.scalar(select(func.count()).select_from(BulkOperation)) == 0
    assert _audit_rows() == 0


def test_bad_requests_are_422s_naming_the_field(app, api) -> None:  # type: ignore[no-untyped-def]
    _seed([("ann@example.com", "running", {}, [], 1)])

    def refused(body: dict[str, Any]) -> dict[str, Any]:
        response = api.post(BULK, json=body)
        assert response.status_code == 422, response.get_json()
        return response.get_json()

    bad_age = refused({"action": "cancel", "filter": {"older_than": "2 fortnights"}, "preview": True})
    assert "older_than" in bad_age["errors"] and "30m, 2h, 3d" in bad_age["errors"]["older_than"][0]
    for age in ("0h", "5", "h", "-2h", "1.5h", "99999999d"):
        assert "older_than" in refused({"action": "sync", "filter": {"older_than": age}})["errors"], age
    listed = api.get("/api/shar/instances?older_than=soon")
    assert listed.status_code == 422 and "older_than" in listed.get_json()["errors"]
    assert "action" in refused({"action": "explode", "filter": {}, "preview": True})["errors"]
    assert "action" in refused({"filter": {}})["errors"]
    assert "filter" in refused({"action": "sync", "filter": {"colour": "red"}})["errors"]
    assert "filter" in refused({"action": "sync", "filter": ["running"]})["errors"]
    assert "var" in refused({"action": "sync", "filter": {"var": ["amount"]}})["errors"]
    assert "status" in refused({"action": "sync", "filter": {"status": "sleeping"}})["errors"]
    assert db.session.scalar(select(func.count()).select_from(BulkOperation)) == 0


def test_more_than_ten_thousand_are_refused_until_the_filter_is_narrowed(app, api) -> None:  # type: ignore[no-untyped-def]
    ids = _seed([("ann@example.com", "running", {"batch": "big"}, [], 1)] * (bulk.MAX_INSTANCES + 1))
    for preview in (True, False):
        response = api.post(BULK, json={"action": "cancel", "filter": {"var": "batch=big"}, "preview": preview})
        assert response.status_code == 422, response.get_json()
        assert "10,001 instances match" in response.get_json()["message"]
        assert "narrow the filter" in response.get_json()["errors"]["filter"][0]
    assert db.session.scalar(select(func.count()).select_from(BulkOperation)) == 0
    assert _audit_rows() == 0
    # One fewer: within the limit.
    db.session.get(WorkflowInstance, ids[0]).status = "completed"
    db.session.commit()
    started = api.post(BULK, json={"action": "cancel", "filter": {"var": "batch=big"}})
    assert started.status_code == 202, started.get_json()
    assert (started.get_json()["data"]["total"], started.get_json()["data"]["skipped"]) == (10_000, 1)


def test_viewers_are_refused_and_a_user_covers_only_their_own(app, api) -> None:  # type: ignore[no-untyped-def]
    viewer, bob = api.as_role("viewer", "vera@example.com"), api.as_role("user", "bob@example.com")
    ann_ids = _seed([("ann@example.com", "running", {}, [], 1)] * 3)
    bob_ids = _seed([("bob@example.com", "running", {}, [], 1)] * 2)
    body = {"action": "cancel", "filter": {"workflow": "Orders"}}

    for preview in (True, False):
        refused = viewer.post(BULK, json={**body, "preview": preview})
        assert refused.status_code == 403 and "read-only" in refused.get_json()["message"]
    # Retrying a failed launch is an admin's, in bulk as for one job.
    assert api.post(BULK, json={"action": "retry", "filter": {}, "preview": True}).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(BulkOperation)) == 0 and _audit_rows() == 0

    started = api.post(BULK, json=body)
    assert started.status_code == 202, started.get_json()
    data = started.get_json()["data"]
    assert (data["action"], data["state"], data["total"], data["done"], data["failed"]) == (
        "cancel",
        "running",
        3,
        0,
        0,
    )
    assert data["job"]["job_type"] == "bulk_operation" and data["requested_by"] == "ann@example.com"
    operation = db.session.get(BulkOperation, data["id"])
    assert sorted(operation.instance_ids) == sorted(ann_ids)  # bob's are not hers to see

    # Its progress: for ann and admins; bob and viewers do not learn it exists.
    path = f"{BULK}/{data['id']}"
    shown = api.get(path)
    assert shown.status_code == 200 and shown.headers["ETag"]
    assert api.get(path, headers={"If-None-Match": shown.headers["ETag"]}).status_code == 304
    assert api.as_role("admin", "ada@example.com").get(path).status_code == 200
    assert bob.get(path).status_code == 404
    assert viewer.get(path).status_code == 404
    assert api.get(f"{BULK}/999999").status_code == 404

    # The job, run here: ann's are cancelled as ann, bob's are untouched, counted per batch.
    bulk_work.run_bulk(data["id"], 60)
    after = api.get(path, headers={"If-None-Match": shown.headers["ETag"]})
    assert after.status_code == 200
    assert {k: after.get_json()["data"][k] for k in ("state", "done", "failed", "total")} == {
        "state": "finished",
        "done": 3,
        "failed": 0,
        "total": 3,
    }
    db.session.expire_all()
    assert {db.session.get(WorkflowInstance, i).status for i in ann_ids} == {"cancelled"}
    assert {db.session.get(WorkflowInstance, i).status for i in bob_ids} == {"running"}
    # One audit entry for the whole operation, none per instance; the timelines name it.
    assert _audit_rows() == 1
    entry = db.session.scalars(select(AuditEntry)).one()
    assert (entry.action, entry.target_type, entry.target_id) == (
        "instance.bulk_cancel",
        "bulk_operation",
        str(data["id"]),
    )
    assert entry.after == {"filter": {"workflow": "Orders"}, "count": 3, "skipped": 0}

    # Nothing left to cancel: 409, nothing stored.
    nothing = api.post(BULK, json=body)
    assert nothing.status_code == 409 and "nothing to stop tracking" in nothing.get_json()["message"]
    assert _audit_rows() == 1


def test_one_instance_refused_is_counted_failed_not_the_operation(app, api) -> None:  # type: ignore[no-untyped-def]
    ids = _seed([("ann@example.com", "running", {}, [], 1)] * 3)
    data = api.post(BULK, json={"action": "cancel", "filter": {}}).get_json()["data"]
    one = db.session.get(WorkflowInstance, ids[1])
    one.status = "completed"  # ended between the start and the job
    db.session.commit()
    bulk_work.run_bulk(data["id"], 60)
    shown = api.get(f"{BULK}/{data['id']}").get_json()["data"]
    assert (shown["state"], shown["done"], shown["failed"]) == ("finished", 2, 1)
    assert shown["errors"] == [
        {"instance_id": ids[1], "error": f"instance {ids[1]} is completed; it cannot become cancelled"}
    ]


def test_a_requester_demoted_or_deactivated_before_the_job_runs_changes_nothing(app, api) -> None:  # type: ignore[no-untyped-def]
    ids = _seed([("ann@example.com", "running", {}, [], 1)] * 2)
    demoted = api.post(BULK, json={"action": "cancel", "filter": {}}).get_json()["data"]
    deactivated = api.post(BULK, json={"action": "cancel", "filter": {}}).get_json()["data"]
    requester = _user("ann@example.com")  # the api fixture's token holder
    admin = api.as_role("admin")
    requester.role = "viewer"  # the rules of each instance's operation hold as the job runs it
    db.session.commit()
    bulk_work.run_bulk(demoted["id"], 60)
    shown = admin.get(f"{BULK}/{demoted['id']}").get_json()["data"]
    assert (shown["state"], shown["done"], shown["failed"]) == ("finished", 0, 2)
    assert {e["error"] for e in shown["errors"]} == {"the viewer role is read-only"}
    requester.role, requester.active = "user", False
    db.session.commit()
    bulk_work.run_bulk(deactivated["id"], 60)
    shown = admin.get(f"{BULK}/{deactivated['id']}").get_json()["data"]
    assert (shown["state"], shown["done"], shown["failed"]) == ("finished", 0, 2)
    assert "no longer exists or is deactivated" in shown["errors"][0]["error"]
    assert [refresh(db.session.get(WorkflowInstance, i)).status for i in ids] == ["running", "running"]


def test_bulk_sync_and_cancel_through_real_consumers_and_the_cli(database, app, api, processes) -> None:  # type: ignore[no-untyped-def]
    ann = db.session.scalar(select(User).where(User.email == "ann@example.com"))
    create_workflow("Flow", bpmn("user_task"), actor=ann, async_=False)
    running = [launch_instance("Flow", {"n": n}, actor=ann, async_=False).instance.id for n in range(3)]
    ended = launch_instance("Flow", {}, actor=ann, async_=False).instance
    db.session.get(WorkflowInstance, ended.id).status = "completed"
    db.session.commit()
    assert {refresh(db.session.get(WorkflowInstance, i)).status for i in running} == {"running"}
    processes.start_consumers()
    run = cli_runner(app)
    audits = _audit_rows()

    # The CLI: the preview, then a question; declined, nothing starts.
    declined = run("instance", "bulk", "sync", "--workflow", "Flow", input="n\n")
    assert declined.exit_code == 1, declined.output
    assert (
        "3 of the 4 filtered instances would be synced; it skips 1: sync applies only to running instances"
        in declined.output
    )
    assert "not started" in declined.output
    assert db.session.scalar(select(func.count()).select_from(BulkOperation)) == 0
    # --yes starts it, --wait follows it through the consumers to the end.
    synced = run(
        "instance", "bulk", "sync", "--workflow", "Flow", "--status", "running", "--yes", "--wait", "--format", "json"
    )
    assert synced.exit_code == 0, synced.output
    result = json.loads(synced.output)
    assert result["preview"]["count"] == 3
    operation = result["operation"]
    assert {k: operation[k] for k in ("action", "state", "total", "done", "failed")} == {
        "action": "sync",
        "state": "finished",
        "total": 3,
        "done": 3,
        "failed": 0,
    }
    assert operation["requested_by"] == "system:cli"

    # The syncs were queued in batch jobs (none a job of its own), which the sync consumer ran.
    def batches() -> tuple[list[str], list[str]]:
        db.session.expire_all()
        jobs = db.session.scalars(select(JobRecord).where(JobRecord.job_type == "sync_instances")).all()
        return [job.state for job in jobs], sorted(i for job in jobs for i in job.payload["instance_ids"])

    wait_until(lambda: set(batches()[0]) == {"succeeded"}, timeout=30, what="the sync batches")
    assert batches()[1] == sorted(running)
    assert not db.session.scalars(select(JobRecord).where(JobRecord.job_type == "sync_instance")).all()
    assert all(db.session.get(WorkflowInstance, i).last_synced_at is not None for i in running)

    # The API, with an Idempotency-Key: sent twice, one operation.
    body = {"action": "cancel", "filter": {"workflow": "Flow", "status": "running", "var": ["n>=0"]}}
    first = api.post(BULK, json=body, headers={"Idempotency-Key": "bulk-cancel-1"})
    again = api.post(BULK, json=body, headers={"Idempotency-Key": "bulk-cancel-1"})
    assert first.status_code == 202, first.get_json()
    assert again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["data"]["id"] == first.get_json()["data"]["id"]
    done = _finished(api, first.get_json()["data"]["id"])
    assert (done["done"], done["failed"], done["total"], done["errors"]) == (3, 0, 3, [])
    db.session.expire_all()
    assert {db.session.get(WorkflowInstance, i).status for i in running} == {"cancelled"}
    assert db.session.get(WorkflowInstance, ended.id).status == "completed"

    # Exactly one audit entry per operation, and none per instance.
    assert _audit_rows() == audits + 2
    assert _audit_rows(action="instance.bulk_sync") == 1 and _audit_rows(action="instance.bulk_cancel") == 1
    assert _audit_rows(action="instance.sync") == 0 and _audit_rows(action="instance.cancel") == 0
    assert db.session.scalar(select(func.count()).select_from(BulkOperation)) == 2

    # Nothing left: the CLI says so and starts nothing.
    nothing = run("instance", "bulk", "cancel", "--workflow", "Flow", "--yes")
    assert nothing.exit_code == 0 and "nothing to do" in nothing.output
    assert db.session.scalar(select(func.count()).select_from(BulkOperation)) == 2


def test_bulk_retry_of_failed_launches_through_real_consumers(app, api, processes, shar) -> None:  # type: ignore[no-untyped-def]
    ann = db.session.scalar(select(User).where(User.email == "ann@example.com"))
    create_workflow("Flow", bpmn("user_task"), actor=ann, async_=False)
    in_shar = launch_instance("Flow", {}, actor=ann, async_=False).instance
    in_shar.status, in_shar.error = "failed", "failed in SHAR"  # SHAR cannot run it again: not retried
    db.session.commit()
    shar.set_faults(error_rate=1.0)
    launches = [launch_instance("Flow", {"n": n}, actor=ann, async_=True).instance.id for n in range(2)]
    processes.start_consumers()
    wait_until(
        lambda: {refresh(db.session.get(WorkflowInstance, i)).status for i in launches} == {"failed"},
        timeout=60,
        what="the launches to fail in the outage",
    )
    shar.set_faults(error_rate=0.0)

    admin = api.as_role("admin", "ada@example.com")
    preview = admin.post(BULK, json={"action": "retry", "filter": {"status": "failed"}, "preview": True})
    assert preview.status_code == 200, preview.get_json()
    data = preview.get_json()["data"]
    assert (data["count"], data["skipped"]) == (2, 1)
    assert sorted(i["id"] for i in data["sample"]) == sorted(launches)

    started = admin.post(BULK, json={"action": "retry", "filter": {"status": "failed"}})
    assert started.status_code == 202, started.get_json()
    done = _finished(admin, started.get_json()["data"]["id"])
    assert (done["done"], done["failed"], done["total"], done["skipped"]) == (2, 0, 2, 1)
    wait_until(
        lambda: {refresh(db.session.get(WorkflowInstance, i)).status for i in launches} == {"running"},
        timeout=60,
        what="the retried launches to run",
    )
    assert refresh(db.session.get(WorkflowInstance, in_shar.id)).status == "failed"
    assert _audit_rows(action="instance.bulk_retry") == 1 and _audit_rows(action="job.retry") == 0


def test_a_stopped_attempt_resumes_at_the_first_instance_not_run_and_runs_none_twice(app, api, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from sqlalchemy.exc import OperationalError

    from app.jobs import leases
    from app.jobs.errors import RetryableJobError

    ids = _seed([("ann@example.com", "running", {}, [], 1)] * 5)
    data = api.post(BULK, json={"action": "cancel", "filter": {}}).get_json()["data"]
    order = db.session.get(BulkOperation, data["id"]).instance_ids
    cancel = bulk.ACTIONS["cancel"]

    def database_lost_at_the_fourth(instance_id: str, actor: Any, operation: int) -> object:
        if instance_id == order[3]:
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))
        return cancel.run(instance_id, actor, operation)

    monkeypatch.setitem(bulk.ACTIONS, "cancel", replace(cancel, run=database_lost_at_the_fourth))
    rest = bulk_work.run_bulk(data["id"], 60)  # stopped after progress: the rest goes on in a new job
    assert rest is not None and (rest.job_type, rest.target_id) == ("bulk_operation", str(data["id"]))
    stopped = api.get(f"{BULK}/{data['id']}").get_json()["data"]
    assert (stopped["state"], stopped["done"], stopped["failed"]) == ("running", 3, 0)  # each counted with its cancel
    with pytest.raises(OperationalError):  # stopped again before any progress: the runner's retry, as before
        bulk_work.run_bulk(data["id"], 60)

    # A second worker on the same operation (a re-queued attempt while one still runs) does nothing.
    assert leases.acquire(f"bulk_operation:{data['id']}", 60)
    with pytest.raises(RetryableJobError):
        bulk_work.run_bulk(data["id"], 60)
    leases.release(f"bulk_operation:{data['id']}", "test")

    monkeypatch.setitem(bulk.ACTIONS, "cancel", cancel)
    bulk_work.run_bulk(data["id"], 60)  # the next attempt: from the fourth on, none cancelled twice
    shown = api.get(f"{BULK}/{data['id']}").get_json()["data"]
    assert (shown["state"], shown["done"], shown["failed"], shown["errors"]) == ("finished", 5, 0, [])
    db.session.expire_all()
    assert {db.session.get(WorkflowInstance, i).status for i in ids} == {"cancelled"}

    # A job that fails for good (its attempts spent): what it did not reach is counted failed.
    _seed([("ann@example.com", "running", {}, [], 1)] * 5)
    given_up = api.post(BULK, json={"action": "sync", "filter": {}}).get_json()["data"]
    bulk_work.bulk_failed(given_up["id"], "worker stopped during the attempt")
    shown = api.get(f"{BULK}/{given_up['id']}").get_json()["data"]
    assert (shown["state"], shown["done"], shown["failed"]) == ("finished", 0, 5)
    assert shown["errors"] == [
        {"instance_id": None, "error": "the job stopped before 5 instances: worker stopped during the attempt"}
    ]

    # A requester who is deactivated meanwhile: nothing more is done in their name.
    again = api.post(BULK, json={"action": "sync", "filter": {}}).get_json()["data"]
    db.session.scalar(select(User).where(User.email == "ann@example.com")).active = False
    db.session.commit()
    bulk_work.run_bulk(again["id"], 60)
    ended = db.session.get(BulkOperation, again["id"])
    assert (ended.state, ended.done, ended.failed) == ("finished", 0, 5)
    assert ended.errors == [
        {
            "instance_id": None,
            "error": "the job stopped before 5 instances: the requesting user no longer exists or is deactivated",
        }
    ]  # once, not per instance


def _sync_batches() -> list[list[str]]:
    db.session.expire_all()
    return [
        job.payload["instance_ids"]
        for job in db.session.scalars(
            select(JobRecord).where(JobRecord.job_type == "sync_instances").order_by(JobRecord.id)
        )
    ]


def test_bulk_sync_checks_and_queues_in_chunks_and_a_stopped_attempt_queues_none_twice(app, api, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from sqlalchemy.exc import OperationalError

    from app.services.sync import request_sync

    ids = _seed([("ann@example.com", "running", {}, [], 1)] * 7)
    data = api.post(BULK, json={"action": "sync", "filter": {}}).get_json()["data"]
    order = db.session.get(BulkOperation, data["id"]).instance_ids
    ended = db.session.get(WorkflowInstance, order[1])
    ended.status = "completed"  # ended between the start and the job
    db.session.commit()
    request_sync(order[2], actor=_user("ann@example.com"))  # its own sync already waits
    sync = bulk.ACTIONS["sync"]
    calls: list[list[str]] = []

    def queue_lost_at_the_third_chunk(instance_ids: list[str]) -> object:
        calls.append(instance_ids)
        if len(calls) == 3:
            raise OperationalError("INSERT", {}, Exception("server closed the connection"))
        return sync.queue_many(instance_ids)  # type: ignore[misc]

    monkeypatch.setattr(bulk_work, "CHUNK", 2)
    monkeypatch.setitem(bulk.ACTIONS, "sync", replace(sync, queue_many=queue_lost_at_the_third_chunk))
    assert bulk_work.run_bulk(data["id"], 60) is not None  # stopped after two chunks: the rest goes on in a new job
    stopped = api.get(f"{BULK}/{data['id']}").get_json()["data"]
    # Two chunks counted with their jobs: the ended one failed with request_sync's reason, the one
    # already waiting counted done but not queued again.
    assert (stopped["state"], stopped["done"], stopped["failed"]) == ("running", 3, 1)
    assert stopped["errors"] == [
        {"instance_id": order[1], "error": f"instance {order[1]} is completed; only running instances are synced"}
    ]
    assert _sync_batches() == [[order[0]], [order[3]]]

    monkeypatch.setitem(bulk.ACTIONS, "sync", sync)
    bulk_work.run_bulk(data["id"], 60)  # the next attempt goes on at the third chunk
    shown = api.get(f"{BULK}/{data['id']}").get_json()["data"]
    assert (shown["state"], shown["done"], shown["failed"]) == ("finished", 6, 1)
    queued = [i for batch in _sync_batches() for i in batch]
    assert sorted(queued) == sorted(set(ids) - {order[1], order[2]}) and len(queued) == len(set(queued))
    assert _audit_rows(action="instance.bulk_sync") == 1 and _audit_rows(action="instance.sync") == 1


def test_bulk_sync_of_a_demoted_requester_queues_nothing(app, api) -> None:  # type: ignore[no-untyped-def]
    _seed([("ann@example.com", "running", {}, [], 1)] * 3)
    data = api.post(BULK, json={"action": "sync", "filter": {}}).get_json()["data"]
    _user("ann@example.com").role = "viewer"
    db.session.commit()
    bulk_work.run_bulk(data["id"], 60)
    shown = api.as_role("admin").get(f"{BULK}/{data['id']}").get_json()["data"]
    assert (shown["state"], shown["done"], shown["failed"]) == ("finished", 0, 3)
    assert {e["error"] for e in shown["errors"]} == {"the viewer role is read-only"}
    assert _sync_batches() == []


def test_a_confirm_acts_on_the_set_previewed_or_answers_409_saying_how_it_changed(database, app, api) -> None:  # type: ignore[no-untyped-def]
    ann = "ann@example.com"
    previewed = _seed([(ann, "running", {}, [], 1)] * 4)
    body = {"action": "cancel", "filter": {"workflow": "Orders"}}
    preview = api.post(BULK, json={**body, "preview": True}).get_json()["data"]
    assert preview["count"] == 4 and len(preview["fingerprint"]) == 64

    # Meanwhile 5 more are launched and one of the previewed ends.
    launched = _seed([(ann, "launching", {}, [], 0)] * 5)
    db.session.get(WorkflowInstance, previewed[0]).status = "completed"
    db.session.commit()
    stale = api.post(BULK, json={**body, "fingerprint": preview["fingerprint"]})
    assert stale.status_code == 409, stale.get_json()
    answer = stale.get_json()
    assert "changed since the preview (5 added, 1 gone): 8 would stop being tracked now" in answer["message"]
    assert (answer["data"]["added"], answer["data"]["gone"], answer["data"]["count"]) == (5, 1, 8)
    assert "fingerprint" in answer["errors"]
    # Nothing started, nothing cancelled, nothing audited.
    assert db.session.scalar(select(func.count()).select_from(BulkOperation)) == 0 and _audit_rows() == 0
    assert {refresh(db.session.get(WorkflowInstance, i)).status for i in previewed[1:] + launched} == {
        "running",
        "launching",
    }
    # A fingerprint no preview gave (or one no longer kept): 409 too, without the difference.
    unknown = api.post(BULK, json={**body, "fingerprint": "0" * 64})
    assert unknown.status_code == 409 and unknown.get_json()["data"]["added"] is None
    assert "what changed is no longer known" in unknown.get_json()["message"]
    assert api.post(BULK, json={**body, "fingerprint": 7}).status_code == 422

    # Confirmed with the new preview's fingerprint: exactly those 8.
    fresh = api.post(BULK, json={**body, "fingerprint": answer["data"]["fingerprint"]})
    assert fresh.status_code == 202, fresh.get_json()
    operation_id = fresh.get_json()["data"]["id"]
    assert sorted(db.session.get(BulkOperation, operation_id).instance_ids) == sorted(previewed[1:] + launched)
    bulk_work.run_bulk(operation_id, 60)
    db.session.expire_all()
    assert {i: db.session.get(WorkflowInstance, i).status for i in previewed + launched} == {
        previewed[0]: "completed",
        **{i: "cancelled" for i in previewed[1:] + launched},
    }


def _bulk_jobs(operation_id: int) -> list[JobRecord]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(JobRecord)
            .where(JobRecord.job_type == "bulk_operation", JobRecord.target_id == str(operation_id))
            .order_by(JobRecord.id)
        )
    )


def _run_jobs_until_finished(operation_id: int) -> list[JobRecord]:
    """Run the operation's jobs as a consumer would (the runner, attempt after attempt, each
    due one in turn) until none is left open; its jobs."""
    from app.jobs.runner import run_job

    for _ in range(200):
        open_jobs = [job for job in _bulk_jobs(operation_id) if job.state not in ("succeeded", "failed")]
        if not open_jobs:
            return _bulk_jobs(operation_id)
        job = open_jobs[0]
        if job.next_attempt_at is not None:
            job.next_attempt_at = None  # its wait, skipped
            db.session.commit()
        run_job(job.id)
    raise AssertionError("the operation's jobs did not end")


def test_a_bulk_job_under_a_short_time_limit_hands_on_the_rest_and_fails_none_for_time(
    database, app, api, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    import time
    from dataclasses import replace

    from app.tasks import instance_tasks

    ids = _seed([("ann@example.com", "running", {}, [], 1)] * 40)
    cancel = bulk.ACTIONS["cancel"]

    def slow_cancel(instance_id: str, actor: Any, operation: int) -> object:
        time.sleep(0.01)  # a slow database: 40 cancels take longer than one attempt's budget
        return cancel.run(instance_id, actor, operation)

    monkeypatch.setitem(bulk.ACTIONS, "cancel", replace(cancel, run=slow_cancel))
    monkeypatch.setattr(instance_tasks, "BULK_BUDGET_SHARE", 0.005)  # of the 10 s floor: 50 ms an attempt
    data = api.post(BULK, json={"action": "cancel", "filter": {}}).get_json()["data"]
    jobs = _run_jobs_until_finished(data["id"])

    shown = api.get(f"{BULK}/{data['id']}").get_json()["data"]
    assert (shown["state"], shown["done"], shown["failed"], shown["errors"]) == ("finished", 40, 0, [])
    assert len(jobs) > 2 and {job.state for job in jobs} == {"succeeded"}
    assert all(job.attempts == 1 for job in jobs)  # no attempt ran into the limit
    assert [job.payload.get("continued_in") for job in jobs] == [job.id for job in jobs[1:]] + [None]
    db.session.expire_all()
    assert {db.session.get(WorkflowInstance, i).status for i in ids} == {"cancelled"}


def test_a_bulk_job_that_keeps_making_progress_never_runs_out_of_attempts(database, app, api, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from sqlalchemy.exc import OperationalError

    ids = _seed([("ann@example.com", "running", {}, [], 1)] * 30)
    cancel = bulk.ACTIONS["cancel"]
    calls = [0]

    def flaky_cancel(instance_id: str, actor: Any, operation: int) -> object:
        calls[0] += 1
        if calls[0] % 4 == 0:  # the database drops the connection every fourth call
            raise OperationalError("UPDATE", {}, Exception("server closed the connection"))
        return cancel.run(instance_id, actor, operation)

    monkeypatch.setitem(bulk.ACTIONS, "cancel", replace(cancel, run=flaky_cancel))
    data = api.post(BULK, json={"action": "cancel", "filter": {}}).get_json()["data"]
    jobs = _run_jobs_until_finished(data["id"])

    # Ten stops, more than the job's five attempts: each after progress, so each went on in a new job.
    shown = api.get(f"{BULK}/{data['id']}").get_json()["data"]
    assert (shown["state"], shown["done"], shown["failed"], shown["errors"]) == ("finished", 30, 0, [])
    assert {job.state for job in jobs} == {"succeeded"} and len(jobs) >= 10
    db.session.expire_all()
    assert {db.session.get(WorkflowInstance, i).status for i in ids} == {"cancelled"}
