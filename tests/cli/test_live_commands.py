"""`flask shar ...` against real consumer processes, the local SHAR engine and a dead Redis or database."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from app import create_app
from app.core.extensions import db
from app.models import JobRecord, WorkflowInstance
from app.services.actors import CLI
from app.services.workflows import create_workflow
from tests.cli.conftest import cli_runner
from tests.support.factories import FIXTURES, bpmn, refresh
from tests.support.servers import wait_until


def _instance(instance_id: str) -> WorkflowInstance:
    db.session.expire_all()
    return db.session.get(WorkflowInstance, instance_id)


def _jobs(job_type: str) -> list[JobRecord]:
    db.session.expire_all()
    return list(db.session.scalars(select(JobRecord).where(JobRecord.job_type == job_type)))


def _queue_workers(run) -> dict[str, bool]:  # type: ignore[no-untyped-def]
    result = run("queue", "status", "--format=json")
    assert result.exit_code == 0, result.output
    return {row["queue"]: row["workers"] for row in json.loads(result.stdout)}


def test_queue_status_sees_consumers_by_their_heartbeat_and_notices_one_die(run, processes) -> None:
    assert not any(_queue_workers(run).values())
    processes.start_consumers()
    wait_until(lambda: all(_queue_workers(run).values()), timeout=20, what="every consumer's first heartbeat")
    dead = processes.queues[1]
    processes.kill(f"consumer:{dead}")
    wait_until(lambda: _queue_workers(run)[dead] is False, timeout=25, what="the killed consumer's heartbeat to expire")
    workers = _queue_workers(run)
    assert workers[processes.queues[0]] and workers[processes.queues[2]]


def test_launch_wait_show_sync_complete_statistics_cleanup(run, processes) -> None:
    processes.start_consumers()
    create_workflow("Flow", bpmn("user_task"), async_=False, actor=CLI)
    launched = run("workflow", "launch", "Flow", "--variables", '{"orderId": "7"}', "--wait", "--format=json")
    assert launched.exit_code == 0, launched.output
    instance_id = json.loads(launched.stdout)["id"]
    assert json.loads(launched.stdout)["status"] == "running"

    shown = run("instance", "show", instance_id, "--sync", "--format=json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["current_activities"] == ["review"]

    completed = run("instance", "complete", instance_id, "--format=json")
    assert completed.exit_code == 0, completed.output
    assert json.loads(completed.stdout)["job_type"] == "complete_task"
    wait_until(lambda: _instance(instance_id).status == "completed", timeout=20, what="the instance to complete")

    stats = json.loads(run("statistics", "--workflow=Flow", "--format=json").stdout)
    assert (stats["total"], stats["completed"], stats["success_rate"]) == (1, 1, 1.0)
    assert stats["average_duration_seconds"] is not None and stats["average_duration_seconds"] >= 0
    unknown = run("statistics", "--workflow=Nope")
    assert unknown.exit_code == 1 and unknown.stderr == "error: no workflow named 'Nope'\n"

    refused = run("cleanup", "--days=0", input="n\n")
    assert refused.exit_code == 1 and _instance(instance_id) is not None
    deleted = run("cleanup", "--days=0", "--format=json", input="y\n")
    assert deleted.exit_code == 0 and json.loads(deleted.stdout)["deleted"] == 1  # the prompt went to stderr
    assert _instance(instance_id) is None


def test_sync_queues_running_instances_once_and_force_includes_fresh_ones(run) -> None:
    create_workflow("Flow", bpmn("user_task"), async_=False, actor=CLI)
    launched = json.loads(run("workflow", "launch", "Flow", "--format=json").stdout)
    # a launch job on a queue without consumers: run it here, as a consumer would
    from app.jobs.runner import run_job

    run_job(_jobs("launch_instance")[0].id)
    assert _instance(launched["id"]).status == "running"
    fresh = json.loads(run("sync", "--format=json").stdout)
    assert fresh == {"status": "running", "candidates": 0, "queued": 0}  # synced at launch, within the interval
    forced = json.loads(run("sync", "--status=running", "--force", "--format=json").stdout)
    assert forced == {"status": "running", "candidates": 1, "queued": 1}
    again = json.loads(run("sync", "--force", "--format=json").stdout)
    assert again["queued"] == 0 and len(_jobs("sync_instances")) == 1  # one sync (a batch of one) already waits
    assert run("sync", "--status=bogus").exit_code == 2


def test_queue_sync_runs_the_periodic_sync_in_a_consumer(run, processes) -> None:
    processes.start_consumers()
    result = run("queue", "sync", "--format=json")
    assert result.exit_code == 0, result.output
    job_id = json.loads(result.stdout)["job_id"]
    wait_until(
        lambda: refresh(db.session.get(JobRecord, job_id)).state == "succeeded",
        timeout=20,
        what="the periodic sync job to run",
    )


def test_queue_clear_and_failed_flush_delete_failed_jobs(run, shar) -> None:
    shar.set_faults(error_rate=1.0)
    create_workflow("Down1", bpmn("user_task"), async_=False, actor=CLI)
    assert len(json.loads(run("failed", "list", "--format=json").stdout)) == 1
    assert json.loads(run("queue", "clear", "--format=json").stdout) == {"deleted": 1}
    assert json.loads(run("failed", "list", "--format=json").stdout) == []
    create_workflow("Down2", bpmn("user_task"), async_=False, actor=CLI)
    assert json.loads(run("failed", "flush", "--format=json").stdout) == {"deleted": 1}
    assert json.loads(run("failed", "list", "--format=json").stdout) == []


def test_batch_complete_and_import_dry_run(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    create_workflow("Flow", bpmn("user_task"), async_=False, actor=CLI)
    from app.services.launches import launch_instance

    instance = launch_instance("Flow", {}, async_=False, actor=CLI).instance
    dry = run("batch", "complete", "--instance", instance.id, "--dry-run", "--format=json")
    assert dry.exit_code == 0 and json.loads(dry.stdout)[0]["result"] == "would run"
    assert _jobs("complete_task") == []
    done = run("batch", "complete", "--instance", instance.id, "--format=json")
    assert done.exit_code == 0 and json.loads(done.stdout)[0]["ok"]
    assert len(_jobs("complete_task")) == 1
    spec = tmp_path / "import.json"
    spec.write_text(json.dumps([{"name": "Later", "file": str(FIXTURES / "parallel.bpmn")}]))
    assert run("batch", "import", str(spec), "--dry-run").exit_code == 0
    assert "Later" not in {w["name"] for w in json.loads(run("workflow", "list", "--format=json").stdout)}
    by_option = run("batch", "import", "--bpmn", str(FIXTURES / "parallel.bpmn"), "--format=json")
    assert by_option.exit_code == 0 and json.loads(by_option.stdout)[0]["result"] == "parallel v1 creating"
    assert run("batch", "import").stderr == "error: give a JSON file or --bpmn\n"


def test_user_create_then_token_create_gives_a_working_api_token(run, app) -> None:
    created = run("user", "create", "ops@example.com", "--role=admin", "--format=json")
    assert created.exit_code == 0, created.output
    user = json.loads(created.stdout)
    assert user["email"] == "ops@example.com" and user["role"] == "admin" and user["password"]
    assert run("user", "create", "ops@example.com").exit_code == 1
    token = run("token", "create", "--user=ops@example.com").stdout.strip()
    response = app.test_client().get("/api/shar/statistics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_a_dead_redis_stores_the_job_and_says_so_on_stderr(make_app) -> None:
    app = make_app(redis_url="redis://127.0.0.1:1/0")
    run = cli_runner(app)
    result = run("workflow", "create", "Later", str(FIXTURES / "user_task.bpmn"), "--format=json")
    assert result.exit_code == 0 and json.loads(result.stdout)["status"] == "creating"
    assert result.stderr.startswith("warning: job ") and "queued when the queue is back" in result.stderr
    assert (
        db.session.scalar(select(func.count()).select_from(JobRecord).where(JobRecord.enqueue_error.is_not(None))) == 1
    )
    status = run("queue", "status", "--format=json")
    assert status.exit_code == 1 and all(row["pending"] is None and row["error"] for row in json.loads(status.stdout))
    assert status.stderr.startswith("error: cannot read queue ") and status.stderr.count("\n") == 1


def test_a_dead_database_is_one_line_on_stderr(tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = create_app(
        instance_dir=str(tmp_path),
        secret_key="x",
        database_url="postgresql+psycopg://postgres@127.0.0.1:9/none?connect_timeout=1",
    )
    for args in (("workflow", "list", "--format=json"), ("statistics",), ("failed", "list")):
        result = cli_runner(app)(*args)
        assert result.exit_code == 1 and result.stdout == "", args
        assert result.stderr.startswith("error: the database is unavailable") and result.stderr.count("\n") == 1


def test_queue_start_without_a_queue_runs_every_consumer_and_refuses_an_unknown_queue(run, processes) -> None:
    unknown = run("queue", "start", "--queue=nope")
    assert unknown.exit_code == 1 and unknown.stderr.startswith("error: unknown queue 'nope'")
    parent = processes.start("all-queues", "shar", "queue", "start", "--workers", "1")
    wait_until(lambda: all(_queue_workers(run).values()), timeout=25, what="a consumer on every queue")
    workflow = create_workflow("Served", bpmn("user_task"), actor=CLI).workflow
    wait_until(lambda: refresh(workflow).status == "active", what="the creation job to run")
    processes.stop()  # SIGINT, then TERM, to the process group
    assert parent.poll() is not None
