"""Retry schedules and error grouping: pure logic."""

import pytest

from app.jobs.errors import error_shape
from app.jobs.specs import JobRegistry, JobSpec, exponential_waits
from app.tasks import SPECS

spec_for = JobRegistry(SPECS).spec


def test_seed_schedules() -> None:
    create, launch, sync = spec_for("create_workflow"), spec_for("launch_instance"), spec_for("sync_instance")
    assert (create.max_attempts, create.timeout) == (3, 300)
    assert [create.wait_before(n) for n in (2, 3)] == [10, 30]
    assert (launch.max_attempts, [launch.wait_before(n) for n in (2, 3)]) == (3, [5, 15])
    assert (sync.max_attempts, sync.wait_before(2), sync.timeout) == (2, 5, 120)
    assert spec_for("periodic_sync").max_attempts == 1


def test_time_scale_shortens_waits() -> None:
    assert spec_for("create_workflow").wait_before(3, time_scale=0.01) == 0.3


def test_webhook_backoff_is_capped_and_jittered() -> None:
    assert exponential_waits(10, 60, 5) == (10, 20, 40, 60, 60)
    spec = JobSpec("x", "shar_sync_queue", 6, exponential_waits(10, 3600, 5), 60, lambda j: None, jitter=True)
    waits = {spec.wait_before(3) for _ in range(50)}
    assert all(10 <= w <= 20 for w in waits) and len(waits) > 1


def test_error_shape_groups_alike_errors() -> None:
    a = error_shape("SHAR unreachable for POST /api/v1/workflows/'Order 1': [Errno 111] Connection refused")
    b = error_shape("SHAR unreachable for POST /api/v1/workflows/'Invoice': [Errno 111] Connection refused")
    assert a == b
    assert error_shape("instance 3f2b6c1e-1111-2222-3333-444455556666 failed") == "instance … failed"


def test_registry_lists_every_job_kind_once() -> None:
    registry = JobRegistry(SPECS)
    assert set(registry.all()) == {
        "create_workflow",
        "delete_workflow",
        "launch_instance",
        "complete_task",
        "deliver_message",
        "sync_instance",
        "sync_instances",
        "periodic_sync",
        "cleanup",
        "scan_shar_instances",
        "send_email",
        "deliver_webhook",
        "bulk_operation",
        "move_instance",
        "set_instance_variables",
        "migrate_instance",
    }
    with pytest.raises(ValueError, match="defined twice"):
        JobRegistry([*SPECS, SPECS[0]])


def test_webhook_attempts_follow_the_operators_setting() -> None:
    from app.core.config import Settings

    spec = JobRegistry(SPECS).spec("deliver_webhook")
    assert spec.attempts(Settings.from_env({}, webhook_max_attempts=3)) == 3
    assert JobRegistry(SPECS).spec("launch_instance").attempts(Settings.from_env({})) == 3


def test_a_batch_of_jobs_run_together_never_waits_for_a_connection_to_shar() -> None:
    """A batch's calls are made at once on one process's client: the most a kind runs together fits
    in the connections that client may open (else a call would wait, and time out as an outage)."""
    from app.shar.client import MAX_CONNECTIONS

    batched = [spec for spec in SPECS if spec.together is not None]
    assert batched and all(spec.together.most <= MAX_CONNECTIONS for spec in batched)  # type: ignore[union-attr]
