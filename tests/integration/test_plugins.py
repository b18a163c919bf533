"""Plug-ins end to end (issue 24): the example package installed with pip declares its listener as a
`sharboard.listeners` entry point; real consumers, the local engine and PostgreSQL or SQLite. Its
listener runs exactly once per completed instance and sends its own notification through the Python
API; a plug-in whose listener always raises (named by SHARBOARD_PLUGINS) and one that cannot be
imported change nothing of that; `flask shar plugins` lists all three."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app import python_api
from app.core.extensions import db
from app.jobs.runner import run_job
from app.models import JobRecord, Notification
from app.services.instances import complete_task
from tests.support.factories import bpmn, make_user
from tests.support.plugins import install_plugins
from tests.support.servers import wait_until


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install_plugins(tmp_path_factory.mktemp("plugins"), "example_plugin", "broken_plugin")


@pytest.fixture
def with_plugins(plugin_site: Path, processes: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The installed plug-ins on this process's path and the consumers'; returns the example's log file."""
    monkeypatch.syspath_prepend(str(plugin_site))  # also invalidates importlib's caches: entry points are seen
    log = tmp_path / "completed.log"
    monkeypatch.setenv("SHARBOARD_EXAMPLE_LOG", str(log))
    paths = [str(plugin_site), *filter(None, [processes.env.get("PYTHONPATH")])]
    processes.env.update({"PYTHONPATH": os.pathsep.join(paths), "SHARBOARD_EXAMPLE_LOG": str(log)})
    return log


def _ended(job_types: tuple[str, ...]) -> bool:
    db.session.expire_all()
    return not db.session.scalars(
        select(JobRecord).where(
            JobRecord.job_type.in_(job_types), JobRecord.state.in_(("queued", "running", "retrying"))
        )
    ).first()


def test_the_example_plugin_hears_each_completion_once_and_a_broken_one_breaks_nothing(
    database: str, make_app: Any, processes: Any, with_plugins: Path, shar: Any, smtp: Any
) -> None:
    app = make_app(plugins=("sharboard_broken", "sharboard_missing_module"))
    processes.start_consumers()
    user = make_user()
    listed = app.test_cli_runner().invoke(args=["shar", "plugins", "--format", "json"])
    assert listed.exit_code == 1, listed.output  # one did not load: a deploy check fails
    plugins = {p["name"]: p for p in json.loads(listed.output[: listed.output.rindex("]") + 1])}
    assert plugins["example"]["loaded"] and plugins["example"]["source"] == "entry point of sharboard-example-plugin"
    assert plugins["example"]["listeners"] == [
        {"event": "instance_completed", "listener": "sharboard_example.on_completed"}
    ]
    assert plugins["sharboard_broken"]["loaded"]
    assert plugins["sharboard_missing_module"]["error"].startswith("ModuleNotFoundError")

    for name, file in (("Quick", "parallel"), ("Review", "user_task")):
        python_api.create_workflow(name, bpmn(file), actor=user.email)
        wait_until(lambda n=name: python_api.get_workflow(n, actor=user.email).status == "active", what=name)
    # Two end inside their launch, two at a completed task; syncs race the completions.
    quick = [python_api.launch("Quick", {"n": i}, actor=user.email) for i in range(2)]
    review = [python_api.launch("Review", {"n": i}, actor=user.email) for i in range(2)]
    for instance in review:
        wait_until(lambda i=instance: python_api.get_instance(i.id, actor=user.email).status == "running", what="run")
        complete_task(instance.id, actor=user)
        python_api.sync_all_running(actor=python_api.SYSTEM)
    ids = [i.id for i in quick + review]
    wait_until(
        lambda: all(python_api.get_instance(i, actor=user.email).status == "completed" for i in ids),
        what="every instance to complete",
    )
    wait_until(lambda: _ended(("launch_instance", "complete_task", "sync_instance", "sync_instances")), what="jobs")
    # Exactly once per completion, each seeing the instance completed.
    lines = with_plugins.read_text().splitlines()
    assert Counter(line.split()[0] for line in lines) == Counter(ids)
    assert all(line.split()[1] == "completed" for line in lines)
    # Its notification, and sharboard's own, once each per instance: the broken listener took neither.
    db.session.expire_all()
    kinds = Counter((n.target_id, n.kind) for n in db.session.scalars(select(Notification)))
    assert kinds == Counter([(i, "example.completed") for i in ids] + [(i, "instance_completed") for i in ids])
    # And its e-mail, as the user wants e-mails (mail is on in the tests).
    wait_until(lambda: sum(m["Subject"] == "Quick finished" for m in smtp.messages) == 2, what="the plug-in's e-mails")
    # The broken listener failed every time, logged under its plug-in's name.
    wait_until(lambda: processes.logs().count("the broken plug-in fails on") >= len(ids), what="the failures logged")
    assert "plugin sharboard_broken: sharboard_broken.explode" in processes.logs()


def test_plugins_act_only_in_the_apps_that_loaded_them(make_app: Any, with_plugins: Path, shar: Any) -> None:
    """One process, two apps: the plug-in an entry point declares is loaded by the first and called
    there only, not where SHARBOARD_PLUGIN_ENTRY_POINTS is false (no consumer: this process runs the jobs)."""
    loud = make_app()
    quiet = make_app(plugin_entry_points=False)  # its context is the current one now
    assert quiet.test_cli_runner().invoke(args=["shar", "plugins"]).output.startswith("no plug-ins")
    user = make_user()
    python_api.create_workflow("Quick", bpmn("parallel"), actor=user.email)
    for job in db.session.scalars(select(JobRecord)).all():
        run_job(job.id, allow_retry=False)
    unheard = python_api.launch("Quick", {}, actor=user.email)
    run_job(unheard.job_id, allow_retry=False)
    assert python_api.get_instance(unheard.id, actor=user.email).status == "completed"
    assert not with_plugins.exists()
    with loud.app_context():
        heard = python_api.launch("Quick", {}, actor=user.email)
        run_job(heard.job_id, allow_retry=False)
    assert [line.split()[0] for line in with_plugins.read_text().splitlines()] == [heard.id]
