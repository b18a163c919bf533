"""The seed's CLI loop runs as written (bash and jq) against real consumers and ends ready."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.factories import FIXTURES
from tests.support.stack import REPO

SCRIPT = Path(__file__).with_name("seed_cli_loop.sh")


def _run_loop(workdir: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT)], check=False, cwd=workdir, env=env, capture_output=True, text=True, timeout=90
    )


def test_seed_cli_loop_ends_with_workflow_is_ready(app, processes, tmp_path: Path) -> None:
    assert shutil.which("jq"), "jq is needed (scripts/test.sh installs it)"
    processes.start_consumers()
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    shutil.copy(FIXTURES / "user_task.bpmn", workdir / "workflow.bpmn")
    env = {
        **processes.env,
        "FLASK_APP": str(REPO / "wsgi.py"),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    result = _run_loop(workdir, env)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-1] == "Workflow is ready!" and set(lines[:-1]) <= {"Waiting for workflow creation..."}
    listed = subprocess.run(
        [sys.executable, "-m", "flask", "shar", "workflow", "list", "--format=json"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert [(w["name"], w["status"]) for w in json.loads(listed.stdout)] == [("OrderProcess", "active")]


def test_seed_cli_loop_stops_on_failed_when_shar_is_down(app, processes, shar, tmp_path: Path) -> None:
    processes.start_consumers()
    shar.set_faults(error_rate=1.0)  # SHAR fails every creation attempt (500s), then the workflow is failed
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    shutil.copy(FIXTURES / "user_task.bpmn", workdir / "workflow.bpmn")
    env = {
        **processes.env,
        "FLASK_APP": str(REPO / "wsgi.py"),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    result = _run_loop(workdir, env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1] == "Workflow creation failed!"
