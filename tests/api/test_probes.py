"""/readyz for load balancers and /metrics for Prometheus, against the real stack: SQL, Redis,
the engine, and consumer processes that count into the session's shared metrics directory."""

from __future__ import annotations

import re

from app.services.actors import CLI
from app.services.health.shar import check_shar_health
from app.services.launches import launch_instance
from app.services.workflows import create_workflow
from tests.support.factories import bpmn, make_user
from tests.support.servers import wait_until
from tests.support.stack import build_app


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the exposition text (0 when absent)."""
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}(?:\{{(.*)\}})? (\S+)", line)
        if match and all(f'{k}="{v}"' in (match.group(1) or "") for k, v in labels.items()):
            return float(match.group(2))
    return 0.0


def test_readyz_names_each_check_and_needs_a_fresh_shar_check(app) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    never = client.get("/readyz")
    assert never.status_code == 503
    checks = never.get_json()["checks"]
    assert checks["database"]["ok"] and checks["queues"]["ok"]
    assert not checks["shar"]["ok"] and "never checked" in checks["shar"]["detail"]

    check_shar_health()  # what the scheduler does every 15 s
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["status"] == "ready"

    # A check older than a minute (the scheduler stopped) says nothing of SHAR now: not ready.
    from datetime import timedelta

    from app.core.extensions import db
    from app.models import SharHealthCheck
    from app.models._base import utcnow

    db.session.get(SharHealthCheck, "shar").checked_at = utcnow() - timedelta(seconds=61)
    db.session.commit()
    stale = client.get("/readyz")
    assert stale.status_code == 503 and "is the scheduler running?" in stale.get_json()["checks"]["shar"]["detail"]


def test_readyz_is_503_when_redis_is_down(overrides, tmp_path) -> None:  # type: ignore[no-untyped-def]
    down = build_app(**{**overrides, "redis_url": "redis://127.0.0.1:1/0"})
    with down.app_context():
        check_shar_health()
        answer = down.test_client().get("/readyz")
    assert answer.status_code == 503
    assert answer.get_json()["checks"]["queues"] == {"ok": False, "detail": "unreachable (ConnectionError)"}


def test_metrics_count_real_jobs_across_processes(app, api, processes) -> None:  # type: ignore[no-untyped-def]
    admin = api.as_role("admin", "ops@example.com")
    refused = api.get("/metrics")  # a user's token: the counts are the whole system's
    assert refused.status_code == 403 and refused.get_json()["success"] is False  # the API's envelope, as a 401
    assert app.test_client().get("/metrics").status_code == 401
    before = admin.get("/metrics").get_data(as_text=True)

    processes.start_consumers()
    create_workflow("Metered", bpmn("user_task"), actor=CLI, async_=False)
    owner = make_user("metered@example.com", "user")
    ids = [launch_instance("Metered", {"n": i}, actor=owner).instance.id for i in range(3)]
    wait_until(
        lambda: all(admin.get(f"/api/shar/instances/{i}").get_json()["data"]["status"] == "running" for i in ids),
        timeout=30,
        what="three launches through the consumers",
    )

    def scrape() -> str:
        scraped = admin.get("/metrics")
        assert scraped.status_code == 200 and scraped.content_type.startswith("text/plain")
        return scraped.get_data(as_text=True)

    # A job's attempt is counted just after it ends: the third may still be on its way.
    wait_until(
        lambda: (
            _sample(scrape(), "sharboard_job_duration_seconds_count", job_type="launch_instance")
            - _sample(before, "sharboard_job_duration_seconds_count", job_type="launch_instance")
            == 3
        ),
        timeout=10,
        what="three launch attempts counted",
    )
    after = scrape()

    def grew(name: str, **labels: str) -> float:
        return _sample(after, name, **labels) - _sample(before, name, **labels)

    # Counted by the consumer processes, summed by the scrape in the web process.
    assert grew("sharboard_jobs_total", job_type="launch_instance", outcome="succeeded") == 3
    assert grew("sharboard_job_duration_seconds_count", job_type="launch_instance") == 3
    assert (
        grew(
            "sharboard_shar_request_duration_seconds_count", method="POST", endpoint="/api/v1/workflows/{id}/instances"
        )
        >= 3
    )
    # Read at scrape time.
    assert _sample(after, "sharboard_instances", status="running") == 3
    assert 'sharboard_queue_depth{kind="pending"' in after
    assert "sharboard_queue_oldest_job_age_seconds" in after
