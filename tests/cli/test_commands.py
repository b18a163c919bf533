"""`flask shar ...` commands: JSON output, one-line failures, non-zero exits."""

from __future__ import annotations

import json
from pathlib import Path

from app.core.extensions import db
from app.models import ApiToken
from app.services.actors import CLI
from app.services.workflows import create_workflow, latest_workflow
from tests.support.factories import FIXTURES, bpmn, make_user, refresh


def test_workflow_create_list_export_as_json(run, tmp_path: Path) -> None:
    created = run("workflow", "create", "OrderProcess", str(FIXTURES / "user_task.bpmn"), "--sync", "--format=json")
    assert created.exit_code == 0, created.output
    data = json.loads(created.stdout)
    assert data["name"] == "OrderProcess" and data["status"] == "active" and isinstance(data["id"], int)
    listed = json.loads(run("workflow", "list", "--format=json").stdout)
    assert isinstance(listed, list) and listed[0]["name"] == "OrderProcess" and listed[0]["status"] == "active"
    out = tmp_path / "out.bpmn"
    assert run("workflow", "export", "OrderProcess", f"--output={out}").exit_code == 0
    assert out.read_text() == bpmn("user_task")
    exported = json.loads(run("workflow", "export", "OrderProcess", "--format=json").stdout)
    assert exported["bpmn_xml"] == bpmn("user_task")


def test_failures_are_one_line_on_stderr_with_a_nonzero_exit(run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.bpmn"
    bad.write_text("<html/>")
    for args in (
        ("workflow", "create", "Bad", str(bad)),
        ("workflow", "launch", "Nope"),
        ("instance", "show", "no-such-id"),
        ("workflow", "launch", "Nope", "--variables", "[1]"),
        ("failed", "retry", "12345"),
    ):
        result = run(*args)
        assert result.exit_code != 0, args
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, (args, result.stderr)


def test_launch_wait_show_complete_and_statistics(run, app) -> None:
    create_workflow("Flow", bpmn("user_task"), async_=False, actor=CLI)
    launched = run("workflow", "launch", "Flow", "--variables", '{"orderId": "1"}', "--format=json")
    instance_id = json.loads(launched.stdout)["id"]
    shown = json.loads(run("instance", "show", instance_id, "--format=json").stdout)
    assert shown["status"] == "launching" and shown["variables"] == {"orderId": "1"}
    # What the pages and the API offer, from the same service: a launching instance may be stopped.
    assert "cancel" in shown["allowed_actions"] and shown["waiting_for_shar"] is False
    listed = json.loads(run("instance", "list", "--workflow=Flow", "--format=json").stdout)
    assert [i["id"] for i in listed] == [instance_id]
    stats = json.loads(run("statistics", "--format=json").stdout)
    assert stats["total"] == 1 and stats["launching"] == 1
    assert run("instance", "complete", instance_id).exit_code == 1  # not running yet: nothing waits


def test_health_exits_nonzero_when_shar_is_down(run, shar) -> None:
    assert run("health").exit_code == 0
    shar.set_faults(outage=True)
    result = run("health", "--format=json")
    assert result.exit_code == 1 and json.loads(result.stdout)["healthy"] is False
    assert result.stderr.startswith("error: SHAR is ") and result.stderr.count("\n") == 1


def test_queue_status_failed_and_cleanup(run, app, shar) -> None:
    status = json.loads(run("queue", "status", "--format=json").stdout)
    assert [row["queue"] for row in status] == list(app.config["SHARBOARD_SETTINGS"].queue_names)
    assert all(row["workers"] is False and row["pending"] == 0 for row in status)
    shar.set_faults(error_rate=1.0)
    workflow = create_workflow("Down", bpmn("user_task"), async_=False, actor=CLI).workflow
    assert refresh(workflow).status == "failed"
    failed = json.loads(run("failed", "list", "--format=json").stdout)
    assert [f["job_type"] for f in failed] == ["create_workflow"]
    shar.set_faults(error_rate=0.0)
    retried = json.loads(run("failed", "retry", "all", "--format=json").stdout)
    assert retried["requeued"] == [failed[0]["id"]]
    assert json.loads(run("cleanup", "--days=0", "--force", "--format=json").stdout)["deleted"] == 0
    assert run("cleanup", "--days=0", input="n\n").exit_code == 0  # nothing to delete, nothing asked


def test_batch_dry_run_and_launch(run, tmp_path: Path, app) -> None:
    create_workflow("Flow", bpmn("user_task"), async_=False, actor=CLI)
    spec = tmp_path / "launch.json"
    spec.write_text(json.dumps([{"workflow": "Flow", "variables": {"n": 1}}, {"workflow": "Nope"}]))
    dry = run("batch", "launch", str(spec), "--dry-run", "--format=json")
    assert dry.exit_code == 0 and all(r["result"] == "would run" for r in json.loads(dry.stdout))
    real = run("batch", "launch", str(spec), "--format=json")
    results = json.loads(real.stdout)
    assert real.exit_code == 1 and results[0]["ok"] and not results[1]["ok"] and "Nope" in results[1]["error"]
    assert real.stderr == "error: 1 of 2 items failed (first: #1: no workflow named 'Nope')\n"


def test_token_create_prints_only_the_token(run, app) -> None:
    make_user("ann@example.com")
    result = run("token", "create", "--user=ann@example.com")
    token = result.stdout.strip()
    assert result.exit_code == 0 and result.stdout == token + "\n" and token.startswith("shb_")
    assert db.session.query(ApiToken).filter_by(token_hash=ApiToken.hash(token)).one()


def test_batch_import_and_complete_need_their_input(run, tmp_path: Path) -> None:
    spec = tmp_path / "import.json"
    spec.write_text(json.dumps([{"name": "Imported", "file": str(FIXTURES / "user_task.bpmn")}]))
    imported = run("batch", "import", str(spec), "--format=json")
    assert imported.exit_code == 0 and json.loads(imported.stdout)[0]["result"].startswith("Imported v1")
    missing = run("batch", "complete")
    assert missing.exit_code == 1 and missing.stderr == "error: give a JSON file or --instance\n"


def test_workflow_delete_asks_unless_forced(run, app) -> None:
    create_workflow("Gone", bpmn("user_task"), async_=False, actor=CLI)
    assert run("workflow", "delete", "Gone", input="n\n").exit_code == 1
    assert run("workflow", "delete", "Gone", "--force").exit_code == 0
    assert json.loads(run("workflow", "list", "--format=json").stdout)[0]["status"] == "inactive"


def test_queue_monitor_prints_each_refresh(run) -> None:
    result = run("queue", "monitor", "--count=2", "--interval=0.1")
    assert result.exit_code == 0 and result.stdout.count("pending=") == 2 * 4  # two refreshes of four queues


def test_launch_chooses_the_process_with_process(run, app) -> None:
    create_workflow("Orders", bpmn("two_processes"), async_=False, actor=CLI)
    unchosen = run("workflow", "launch", "Orders")
    assert unchosen.exit_code != 0
    assert "choose one with process_id: Customer, Shop" in unchosen.stderr
    refused = run("workflow", "launch", "Orders", "--process", "Bank")
    assert refused.exit_code != 0 and "marked not executable" in refused.stderr
    launched = run("workflow", "launch", "Orders", "--process", "Customer", "--format=json")
    assert launched.exit_code == 0, launched.output
    assert json.loads(launched.stdout)["process_id"] == "Customer"


def test_bpmn_files_are_read_in_the_encoding_they_declare(run, tmp_path: Path, app) -> None:
    declaring = bpmn("user_task").replace("Review an order", "Café").replace('encoding="UTF-8"', 'encoding="{}"')
    latin = tmp_path / "latin.bpmn"
    latin.write_bytes(declaring.format("ISO-8859-1").encode("latin-1"))
    created = run("workflow", "create", "Latin1", str(latin), "--format=json")
    assert created.exit_code == 0, created.output
    assert latest_workflow("Latin1").bpmn_xml == declaring.format("UTF-8")
    imported = run("batch", "import", "--bpmn", str(latin), "--format=json")
    assert imported.exit_code == 0, imported.output
    assert latest_workflow("latin").bpmn_xml == declaring.format("UTF-8")  # named after the file
    odd = tmp_path / "odd.bpmn"
    odd.write_bytes(declaring.format("US-ASCII").encode("latin-1"))
    refused = run("workflow", "create", "Odd", str(odd))
    assert refused.exit_code == 1 and refused.stderr.startswith(f"error: {odd}: BPMN file cannot be read as US-ASCII")
    failed = run("batch", "import", "--bpmn", str(odd), "--format=json")
    assert failed.exit_code == 1 and "cannot be read as US-ASCII" in json.loads(failed.stdout)[0]["error"]


def test_health_and_queue_status_say_when_work_is_held_for_an_outage(run, shar) -> None:
    from app.services.health.shar import check_shar_health

    shar.set_faults(outage=True)
    check_shar_health()  # the scheduler's probe: SHAR answers 503, the dashboard holds work
    health = run("health")
    assert health.exit_code == 1 and "outage: SHAR unreachable since" in health.stdout
    assert json.loads(run("health", "--format=json").stdout)["outage"]["held"] == 0
    status = run("queue", "status")
    assert "SHAR unreachable since" in status.stdout and "HELD" in status.stdout.splitlines()[1]
    shar.set_faults(outage=False)
    check_shar_health()
    assert "unreachable" not in run("queue", "status").stdout
    assert json.loads(run("health", "--format=json").stdout)["outage"] is None


def test_bpmn_files_that_cannot_be_used_are_refused_in_plain_words(run, tmp_path: Path, app) -> None:
    """One reader for every command that takes a BPMN file: a file it cannot read, or an empty one, is
    named with the reason; one too large is the upload's own refusal, as at every door, said once."""
    (tmp_path / "folder.bpmn").mkdir()
    (tmp_path / "empty.bpmn").write_bytes(b"\n")
    large = tmp_path / "large.bpmn"
    large.write_text(bpmn("user_task") + " " * (6 * 1024 * 1024))
    spec = tmp_path / "import.json"
    spec.write_text(
        json.dumps([{"name": name.title(), "file": f"{name}.bpmn"} for name in ("gone", "folder", "empty", "large")])
    )
    imported = run("batch", "import", str(spec), "--format=json")
    assert imported.exit_code == 1
    assert [item["error"] for item in json.loads(imported.stdout)] == [
        f"{tmp_path / 'gone.bpmn'}: no such file",
        f"{tmp_path / 'folder.bpmn'}: is a folder, not a file",
        f"{tmp_path / 'empty.bpmn'}: is empty; give a BPMN file",
        "BPMN file is 6.0 MiB; the limit is 5.0 MiB",
    ]
    for command in ("create", "diff"):
        empty = run("workflow", command, "Empty", str(tmp_path / "empty.bpmn"))
        assert empty.exit_code == 1
        assert empty.stderr == f"error: {tmp_path / 'empty.bpmn'}: is empty; give a BPMN file\n"
    too_large = run("workflow", "create", "Large", str(large))
    assert too_large.exit_code == 1 and too_large.stderr == "error: BPMN file is 6.0 MiB; the limit is 5.0 MiB\n"
