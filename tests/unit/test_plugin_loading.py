"""Loading plug-ins (app/plugins): what a broken one reports, that one named twice loads once, that a
failing listener is isolated and counted, and that SHARBOARD_PLUGINS is checked at start-up. Offline
apps: no server needed (the end-to-end test with the pip-installed example is tests/integration)."""

from __future__ import annotations

import logging
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

from app.core import metrics
from app.core.config import ConfigError, Settings
from app.core.extensions import db
from app.lifecycle import events
from app.models import Workflow, WorkflowInstance
from app.plugins.loading import report
from tests.support.stack import build_app


def _module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> str:
    """A module of a name no other test uses (plug-ins load once per process, by what they name)."""
    name = f"plugin_{uuid.uuid4().hex[:10]}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(body))
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def _app(tmp_path: Path, **settings: Any) -> Any:
    return build_app(
        instance_dir=str(tmp_path / "instance"),
        database_url=f"sqlite:///{tmp_path / f'{uuid.uuid4().hex[:6]}.db'}",
        redis_url="",
        shar_base_url="http://127.0.0.1:9",
        secret_key="test-secret",
        mail_enabled=False,
        log_level="WARNING",
        plugin_entry_points=False,
        **settings,
    )


def test_a_plugin_that_cannot_load_is_reported_with_its_reason_and_connects_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    halfway = _module(
        tmp_path,
        monkeypatch,
        """
        def register(registry):
            registry.listen("instance_completed", lambda event: None)
            registry.listen("instance_finished", lambda event: None)
        """,
    )
    app = _app(tmp_path, plugins=(halfway, f"{halfway}:nothing_here", "no_such_plugin_module"))
    found = {p.name: p for p in report(app).plugins}
    assert found[halfway].error.startswith("PluginError: no event 'instance_finished'; the events are ")
    assert "instance_completed" in found[halfway].error
    assert found[f"{halfway}:nothing_here"].error.startswith("AttributeError")
    assert found["no_such_plugin_module"].error.startswith("ModuleNotFoundError")
    connected = [getattr(r, "__qualname__", "") for r in events.instance_completed.receivers_for(None)]
    assert not [q for q in connected if q.startswith(f"plugin {halfway}")]  # its first listen was not connected
    result = app.test_cli_runner().invoke(args=["shar", "plugins"])
    assert result.exit_code == 1 and f"{halfway} (SHARBOARD_PLUGINS, {halfway}:register): NOT LOADED" in result.output


def test_a_plugin_named_twice_loads_once_and_a_failing_listener_is_isolated_and_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    name = _module(
        tmp_path,
        monkeypatch,
        """
        heard = []
        registered = []

        def register(registry):
            registered.append(registry)
            registry.listen("instance_completed", fail)
            registry.on("instance_completed")(heard.append)

        def fail(event):
            raise RuntimeError("boom")
        """,
    )
    app = _app(tmp_path, plugins=(name, f"{name}:register"))
    _app(tmp_path, plugins=(name,))  # a second app of the process: no second registration
    import importlib

    module = importlib.import_module(name)
    assert len(module.registered) == 1 and len(report(app).plugins) == 1
    with app.app_context():
        workflow = Workflow(name="W", bpmn_xml="<x/>", bpmn_sha256="0" * 64, status="active")
        instance = WorkflowInstance(workflow=workflow, status="completed", variables={"a": 1})
        db.session.add(instance)
        db.session.commit()
        instance_id = instance.id
        counter = metrics._metrics()["listener_failures"].labels("instance-completed", f"plugin {name}: {name}.fail")
        failures = counter._value.get()
        events.fire(events.instance_completed, instance)
        assert counter._value.get() == failures + 1
    (event,) = module.heard  # the other listener ran all the same, with a snapshot of the instance
    assert (event.name, event.instance.id, event.instance.status, event.workflow.name) == (
        "instance_completed",
        instance_id,
        "completed",
        "W",
    )
    assert dict(event.instance.variables) == {"a": 1}
    logged = [r for r in caplog.records if r.levelno == logging.ERROR and r.getMessage() == "event listener failed"]
    assert [r.listener for r in logged] == [f"plugin {name}: {name}.fail"]


def test_the_plugins_setting_is_checked_at_start_up() -> None:
    env = {"SHARBOARD_PLUGINS": "billing, billing.hooks:register", "SHARBOARD_PLUGIN_ENTRY_POINTS": "off"}
    settings = Settings.from_env(env)
    assert (settings.plugins, settings.plugin_entry_points) == (("billing", "billing.hooks:register"), False)
    assert Settings.from_env({}).plugins == () and Settings.from_env({}).plugin_entry_points
    with pytest.raises(ConfigError, match="SHARBOARD_PLUGINS must list modules"):
        Settings.from_env({"SHARBOARD_PLUGINS": "billing/hooks.py"})
