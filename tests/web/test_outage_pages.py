"""People see an outage: one banner on every page, "waiting for SHAR" on what waits, and both go
by themselves when SHAR answers again (the bell's poll carries the banner)."""

from __future__ import annotations

from sqlalchemy import select

from app.core.extensions import db
from app.jobs import outage
from app.jobs.runner import run_job
from app.models import JobRecord
from app.services.health.shar import check_shar_health
from app.services.launches import launch_instance
from app.services.workflows import create_workflow
from tests.support.factories import bpmn, refresh

HTMX = {"HX-Request": "true"}


def test_banner_and_waiting_badges_come_and_go_with_the_outage(client, sign_in, shar) -> None:  # type: ignore[no-untyped-def]
    user = sign_in("user")
    create_workflow("Flow", bpmn("user_task"), actor=user, async_=False)
    assert "SHAR unreachable" not in client.get("/workflows").get_data(as_text=True)

    shar.set_faults(outage=True)  # SHAR answers 503 to everything: an outage, as a gateway in front would say
    check_shar_health()
    instance = launch_instance("Flow", {}, actor=user).instance
    job = db.session.scalars(select(JobRecord).where(JobRecord.job_type == "launch_instance")).one()
    run_job(job.id)  # a worker takes it: held, not tried, nothing counted
    assert (refresh(job).state, refresh(job).attempts, refresh(instance).status) == ("held", 0, "launching")

    for page in ("/workflows", "/instances", f"/instances/{instance.id}", "/notifications"):
        html = client.get(page).get_data(as_text=True)
        assert html.count('id="outage-banner"') == 1, page
        assert "SHAR unreachable" in html and "1 operation waiting" in html, page
    live = client.get(f"/instances/{instance.id}/_live", headers=HTMX).get_data(as_text=True)
    assert "launching · waiting for SHAR" in live
    bell = client.get("/notifications/_bell", headers=HTMX)
    assert 'hx-swap-oob="true"' in bell.get_data(as_text=True) and "SHAR unreachable" in bell.get_data(as_text=True)
    etag = bell.headers["ETag"]

    shar.set_faults(outage=False)
    check_shar_health()
    assert outage.current(fresh=True) is None
    after = client.get("/notifications/_bell", headers={**HTMX, "If-None-Match": etag})
    assert after.status_code == 200  # the outage's end is a new version: the banner is swapped out
    assert "SHAR unreachable" not in after.get_data(as_text=True)
    assert 'id="outage-banner"' in after.get_data(as_text=True)
    # The held launch is still held (the scheduler's release queues it); its badge says so until then.
    live = client.get(f"/instances/{instance.id}/_live", headers=HTMX).get_data(as_text=True)
    assert "waiting for SHAR" in live
    from app.jobs.release import release_held

    assert release_held()["released"] == 1
    run_job(job.id)
    assert refresh(instance).status == "running"
    live = client.get(f"/instances/{instance.id}/_live", headers=HTMX).get_data(as_text=True)
    assert "waiting for SHAR" not in live


def test_a_held_workflow_create_says_so_on_its_badge_and_in_the_api(client, sign_in, shar) -> None:  # type: ignore[no-untyped-def]
    user = sign_in("user")
    shar.set_faults(outage=True)
    workflow = create_workflow("Held", bpmn("user_task"), actor=user).workflow
    job = db.session.scalars(select(JobRecord).where(JobRecord.job_type == "create_workflow")).one()
    run_job(job.id)  # meets the outage: opens the breaker, held
    assert refresh(job).state == "held" and refresh(job).held_tries == 0  # a 503 says nothing was done
    badge = client.get(f"/workflows/_badge/{workflow.id}", headers=HTMX).get_data(as_text=True)
    assert "creating · waiting for SHAR" in badge
    page = client.get("/workflows/Held").get_data(as_text=True)
    assert "waiting for SHAR" in page
