"""The seed's CLI loop runs as written (bash and jq) against real consumers and ends ready."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.support.factories import FIXTURES
from tests.support.stack import REPO


def test_seed_cli_loop_ends_with_workflow_is_ready(app, processes) -> None:
    processes.start_consumers()
    env = {**processes.env, "PATH": f"{Path(os.sys.executable).parent}:{os.environ['PATH']}"}
    result = subprocess.run(["bash", str(Path(__file__).with_name("test_seed_cli_loop.sh")),
                             str(FIXTURES / "user_task.bpmn")], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1] == "Workflow is ready!"
