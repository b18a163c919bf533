"""No duplicate launches (issue 9, item 5): every launch carries the row's id to SHAR; a re-send
first looks for it and adopts what it finds; SHAR instances no row tracks are listed for
admins, who adopt or ignore them (pages and CLI, one audit entry each)."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from app.core.extensions import db
from app.jobs.runner import run_job
from app.models import (
    ActivityEvent,
    AuditEntry,
    JobAttempt,
    JobRecord,
    UntrackedSharInstance,
    WorkflowInstance,
)
from app.models._base import utcnow
from app.services import shar_listing, untracked
from app.services.correlation import CORRELATION_VARIABLE
from app.services.instance_work import launch_in_shar
from app.services.launches import launch_instance
from app.services.workflows import create_workflow
from tests.support.factories import bpmn, make_user, refresh
from tests.support.web import Browser

PASSWORD = "correct-horse-1"


def _placeholder(name: str, user) -> WorkflowInstance:  # type: ignore[no-untyped-def]
    """A launching row whose first launch request went out and was never answered."""
    instance = launch_instance(name, {"n": 1}, actor=user).instance  # queued; no consumer runs in these tests
    instance.launch_requests = 1
    db.session.commit()
    return instance


def _kinds(instance: WorkflowInstance) -> list[str]:
    return [e.kind for e in db.session.scalars(select(ActivityEvent).where(ActivityEvent.target_id == instance.id))]


def _launch_posts(shar, name: str) -> int:  # type: ignore[no-untyped-def]
    return len(
        [
            e
            for e in httpx.get(f"{shar.url}/_sharlite/requests").json()
            if e["method"] == "POST" and e["path"] == f"/api/v1/workflows/{name}/instances"
        ]
    )


def _audits(action: str) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action))


def test_a_resend_adopts_the_instance_an_earlier_request_made(app, shar) -> None:
    user = make_user()
    create_workflow("Adopts", bpmn("user_task"), actor=user, async_=False)
    instance = _placeholder("Adopts", user)
    made = httpx.post(
        f"{shar.url}/api/v1/workflows/Adopts/instances",
        json={"workflow_name": "Adopts", "variables": {"n": 1, CORRELATION_VARIABLE: instance.id}},
    ).json()
    httpx.delete(f"{shar.url}/_sharlite/requests")
    launch_in_shar(instance.id)
    instance = refresh(instance)
    assert (instance.status, instance.shar_instance_id, instance.launch_requests) == ("running", made["id"], 1)
    assert _launch_posts(shar, "Adopts") == 0
    assert "launch_adopted" in _kinds(instance) and "launch_resent" not in _kinds(instance)
    assert instance.variables == {"n": 1}


def test_a_resend_with_nothing_in_shar_is_sent_tagged_and_recorded(app, shar) -> None:
    user = make_user()
    create_workflow("Resends", bpmn("user_task"), actor=user, async_=False)
    instance = _placeholder("Resends", user)
    launch_in_shar(instance.id)
    instance = refresh(instance)
    assert (instance.status, instance.launch_requests) == ("running", 2)
    assert _launch_posts(shar, "Resends") == 1
    assert "launch_resent" in _kinds(instance)
    remote = httpx.get(f"{shar.url}/api/v1/instances/{instance.shar_instance_id}").json()
    assert remote["variables"][CORRELATION_VARIABLE] == instance.id


def test_untracked_instances_are_listed_and_adopted_or_ignored_by_admins_only(app, shar) -> None:
    admin = make_user("admin@example.com", "admin", PASSWORD)
    make_user("ann@example.com", "user", PASSWORD)
    create_workflow("Stray", bpmn("user_task"), actor=admin, async_=False)
    tracked = launch_instance("Stray", {}, actor=admin, async_=False).instance
    strays = [
        httpx.post(
            f"{shar.url}/api/v1/workflows/Stray/instances", json={"workflow_name": "Stray", "variables": {"k": k}}
        ).json()["id"]
        for k in (1, 2)
    ]
    # A duplicate of the tracked row (its correlation variable names it): listed, marked as such.
    duplicate = httpx.post(
        f"{shar.url}/api/v1/workflows/Stray/instances",
        json={"workflow_name": "Stray", "variables": {CORRELATION_VARIABLE: tracked.id}},
    ).json()["id"]
    # The only SHAR instance of a row that tracks none (cancelled before SHAR answered): no duplicate.
    orphaned = _placeholder("Stray", admin)
    orphaned.status = "cancelled"
    db.session.commit()
    orphan = httpx.post(
        f"{shar.url}/api/v1/workflows/Stray/instances",
        json={"workflow_name": "Stray", "variables": {CORRELATION_VARIABLE: orphaned.id}},
    ).json()["id"]
    # One still being launched: its own job adopts it, so it is not listed.
    in_flight = _placeholder("Stray", admin)
    pending = httpx.post(
        f"{shar.url}/api/v1/workflows/Stray/instances",
        json={"workflow_name": "Stray", "variables": {CORRELATION_VARIABLE: in_flight.id}},
    ).json()["id"]

    untracked.scan_shar_instances()  # the scan job's work
    listed = {u.shar_instance_id: u for u in db.session.scalars(select(UntrackedSharInstance))}
    assert set(strays) | {duplicate} <= set(listed)
    assert tracked.shar_instance_id not in listed and pending not in listed
    assert listed[duplicate].correlation_id == tracked.id

    ann = Browser(app, "ann@example.com", PASSWORD)
    assert ann.get("/admin/shar-instances").status_code == 403
    assert ann.post(f"/admin/shar-instances/{strays[0]}/adopt", {"workflow_name": "Stray"}).status_code == 403
    assert _audits("shar_instance.adopt") == 0

    web = Browser(app, "admin@example.com", PASSWORD)
    page = web.get("/admin/shar-instances").get_data(as_text=True)
    assert f'data-shar-id="{strays[0]}"' in page and f'data-shar-id="{strays[1]}"' in page
    assert "a duplicate launch of instance" in page
    row = page[page.index(f'data-shar-id="{orphan}"') :]
    row = row[: row.index("</tr>")]
    assert "launched for instance" in row and "tracks no SHAR instance" in row and "duplicate" not in row
    assert "Untracked SHAR instances" in web.get("/admin/queues").get_data(as_text=True)
    done = web.post(f"/admin/shar-instances/{strays[0]}/adopt", {"workflow_name": "Stray"})
    assert done.status_code == 302
    assert _audits("shar_instance.adopt") == 1
    adopted = db.session.scalars(select(WorkflowInstance).where(WorkflowInstance.shar_instance_id == strays[0])).one()
    assert (adopted.status, adopted.workflow.name, adopted.variables) == ("running", "Stray", {"k": 1})
    assert "adopted" in _kinds(adopted)

    cli = app.test_cli_runner()
    result = cli.invoke(args=["shar", "untracked", "ignore", strays[1]])
    assert result.exit_code == 0, result.output
    assert _audits("shar_instance.ignore") == 1
    again = cli.invoke(args=["shar", "untracked", "ignore", strays[1]])
    assert again.exit_code == 1 and "already ignored" in again.output
    assert _audits("shar_instance.ignore") == 1
    adopt_cli = cli.invoke(args=["shar", "untracked", "adopt", duplicate, "--workflow", "Nope"])
    assert adopt_cli.exit_code == 1 and "no workflow named" in adopt_cli.output

    # A later scan lists neither again: one is tracked, the other remembered as ignored.
    untracked.scan_shar_instances()
    db.session.expire_all()
    page = web.get("/admin/shar-instances").get_data(as_text=True)
    assert f'data-shar-id="{strays[0]}"' not in page and f'data-shar-id="{strays[1]}"' not in page
    assert f'data-shar-id="{duplicate}"' in page
    listing = cli.invoke(args=["shar", "untracked", "list", "--format", "json"])
    assert listing.exit_code == 0 and duplicate in listing.output and strays[1] not in listing.output


def _plant(shar, workflow: str, variables: dict) -> str:  # type: ignore[no-untyped-def]
    """An instance made in the engine directly, through its HTTP API (as anyone with SHAR access can)."""
    return httpx.post(
        f"{shar.url}/api/v1/workflows/{workflow}/instances", json={"workflow_name": workflow, "variables": variables}
    ).json()["id"]


def test_a_retry_never_adopts_an_instance_carrying_its_id_that_its_launch_did_not_make(app, shar) -> None:
    ann, bob = make_user("ann@example.com"), make_user("bob@example.com")
    create_workflow("Victim", bpmn("user_task"), actor=ann, async_=False)
    create_workflow("Other", bpmn("user_task"), actor=bob, async_=False)
    victim, alone = _placeholder("Victim", ann), _placeholder("Victim", ann)
    # Bob's own instance of the same workflow, tracked by his row, given each victim's id afterwards
    # (a completion's variables, as the doors let through before they refused _sharboard names).
    own = launch_instance("Victim", {"secret": "bob's"}, actor=bob, async_=False).instance
    httpx.post(
        f"{shar.url}/api/v1/instances/{own.shar_instance_id}/complete",
        json={"variables": {CORRELATION_VARIABLE: victim.id}},
    )
    # A launch of another workflow, planted in the engine with the victims' ids.
    planted = [_plant(shar, "Other", {"secret": "bob's", CORRELATION_VARIABLE: row.id}) for row in (victim, alone)]
    genuine = _plant(shar, "Victim", {"n": 1, CORRELATION_VARIABLE: victim.id})  # what the lost request made

    launch_in_shar(victim.id)
    victim = refresh(victim)
    assert (victim.status, victim.shar_instance_id, victim.variables) == ("running", genuine, {"n": 1})
    adopted = db.session.scalars(
        select(ActivityEvent).where(ActivityEvent.target_id == victim.id, ActivityEvent.kind == "launch_adopted")
    ).one()
    assert set(adopted.data["passed_over"]) == {own.shar_instance_id, planted[0]}, adopted.data

    launch_in_shar(alone.id)  # only the planted one carries its id: launched anew, nothing adopted
    alone = refresh(alone)
    assert alone.status == "running" and alone.shar_instance_id not in planted
    assert alone.variables == {"n": 1} and alone.launch_requests == 2
    assert "launch_adopted" not in _kinds(alone) and "launch_resent" in _kinds(alone)


def _list_fails(monkeypatch, shar, times: int) -> None:  # type: ignore[no-untyped-def]
    """SHAR's instance list (the adoption lookup) answers 500 `times` times: SHAR is reachable (no
    outage, nothing held), this one call fails."""
    left = [times]

    def should_fail() -> bool:
        from flask import request

        if request.method == "GET" and request.path == "/api/v1/instances" and left[0] > 0:
            left[0] -= 1
            return True
        return False

    monkeypatch.setattr(shar.faults, "should_fail", should_fail)


def _launch_job(instance: WorkflowInstance) -> JobRecord:
    return db.session.scalars(select(JobRecord).where(JobRecord.target_id == instance.id)).one()


def _made_in_shar(shar, name: str, instance: WorkflowInstance) -> str:  # type: ignore[no-untyped-def]
    """What the earlier, unanswered launch request made in SHAR."""
    made = httpx.post(
        f"{shar.url}/api/v1/workflows/{name}/instances",
        json={"workflow_name": name, "variables": {"n": 1, CORRELATION_VARIABLE: instance.id}},
    ).json()["id"]
    httpx.delete(f"{shar.url}/_sharlite/requests")
    return made


def test_a_failed_lookup_sends_nothing_and_the_launch_does_not_end_failed_while_shar_runs_it(
    app, shar, monkeypatch
) -> None:
    """The lookup fails (SHAR cannot list now): the attempt fails as a whole, nothing is sent; when
    it was the last attempt, the failure handler asks once more and adopts what SHAR runs."""
    user = make_user()
    create_workflow("Looks", bpmn("user_task"), actor=user, async_=False)
    instance = _placeholder("Looks", user)
    made = _made_in_shar(shar, "Looks", instance)
    _list_fails(monkeypatch, shar, 1)
    job = _launch_job(instance)
    run_job(job.id, allow_retry=False)  # its last attempt
    attempt = db.session.scalars(select(JobAttempt).where(JobAttempt.job_id == job.id)).one()
    assert "nothing was sent again" in attempt.error
    instance = refresh(instance)
    assert (instance.status, instance.shar_instance_id, instance.launch_requests) == ("running", made, 1)
    assert _launch_posts(shar, "Looks") == 0
    assert "launch_adopted" in _kinds(instance)


def test_the_owners_retry_after_lookups_failed_adopts_and_never_launches_twice(app, shar, monkeypatch) -> None:
    from app.services.failed_jobs import retry_instance

    user = make_user()
    create_workflow("Unsure", bpmn("user_task"), actor=user, async_=False)
    instance = _placeholder("Unsure", user)
    made = _made_in_shar(shar, "Unsure", instance)
    _list_fails(monkeypatch, shar, 2)  # the attempt's lookup and the failure handler's
    job = _launch_job(instance)
    run_job(job.id, allow_retry=False)
    instance = refresh(instance)
    assert instance.status == "failed" and "launch_unknown" in _kinds(instance)
    retry_instance(instance.id, actor=user)
    run_job(job.id)
    instance = refresh(instance)
    assert (instance.status, instance.shar_instance_id, instance.launch_requests) == ("running", made, 1)
    assert _launch_posts(shar, "Unsure") == 0


def _list_calls(shar) -> int:  # type: ignore[no-untyped-def]
    log = httpx.get(f"{shar.url}/_sharlite/requests").json()
    return len([e for e in log if e["method"] == "GET" and e["path"] == "/api/v1/instances"])


def test_resends_after_an_outage_share_one_list_and_each_still_adopts_or_sends(app, shar) -> None:
    """The contract has no lookup by variable: each re-send listed every SHAR instance (0.3-0.6 s with
    9,600 of them), so a retry storm ran at ~3.6 launches/s. A list asked for after a re-send's earlier
    try ended answers it: one list serves them all, and a try that ended later asks again."""
    shar_listing.forget()
    user = make_user()
    create_workflow("Storm", bpmn("user_task"), actor=user, async_=False)
    rows = [_placeholder("Storm", user) for _ in range(8)]
    made = httpx.post(
        f"{shar.url}/api/v1/workflows/Storm/instances",
        json={"workflow_name": "Storm", "variables": {"n": 1, CORRELATION_VARIABLE: rows[0].id}},
    ).json()
    tries_ended = utcnow()  # every earlier try ended before the outage did
    httpx.delete(f"{shar.url}/_sharlite/requests")
    for row in rows:
        launch_in_shar(row.id, tries_before=1, tried_until=tries_ended)
    assert _list_calls(shar) == 1
    assert refresh(rows[0]).shar_instance_id == made["id"] and "launch_adopted" in _kinds(rows[0])
    assert _launch_posts(shar, "Storm") == 7
    assert all(refresh(row).status == "running" and "launch_resent" in _kinds(row) for row in rows[1:])
    # A try that ended after that list was asked for is not answered by it.
    late = _placeholder("Storm", user)
    launch_in_shar(late.id, tries_before=1, tried_until=utcnow())
    assert _list_calls(shar) == 2 and refresh(late).status == "running"
    shar_listing.forget()
