"""No instance sits "running" with nothing to wait for: over every corpus file and hand-written
hazard, through sharlite's real HTTP server, a file it deploys and launches either waits at a named
element or stops with a plain reason; and every refusal on the way reads as plain words."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from lxml import etree

from app.bpmn.specs import build_specs
from app.sharlite.bpmn_loader import LoadedProcess
from app.sharlite.server import EngineServer
from tests.bpmn.plain_words import ALL_FILES, HAZARD_DIR, python_speak
from tests.bpmn.test_corpus import CORPUS


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineServer]:
    server = EngineServer(str(tmp_path_factory.mktemp("silent") / "engine.db")).start()
    yield server
    server.stop()


def _name(path: Path) -> str:
    return "silent-" + path.stem.replace(".", "-") + f"-{abs(hash(str(path))) % 10_000}"


def _shown(path: Path) -> str:
    return path.relative_to(CORPUS).as_posix() if path.is_relative_to(CORPUS) else f"hazards/{path.name}"


@pytest.mark.parametrize("path", ALL_FILES, ids=_shown)
def test_a_launched_instance_waits_somewhere_or_says_why_not(engine: EngineServer, path: Path) -> None:
    api = f"{engine.url}/api/v1/workflows"
    deployed = httpx.post(api, json={"name": _name(path), "bpmn_xml": path.read_text(encoding="utf-8")}, timeout=60)
    if deployed.status_code != 201:
        assert deployed.status_code == 422 and not python_speak(deployed.json()["error"]), deployed.text
        return
    launched = httpx.post(f"{api}/{_name(path)}/instances", json={"variables": {}}, timeout=60)
    if launched.status_code != 201:  # kept as a diagram, or refused: said in plain words
        assert launched.status_code == 422 and not python_speak(launched.json()["error"]), launched.text
        return
    instance = httpx.get(f"{engine.url}/api/v1/instances/{launched.json()['id']}", timeout=60).json()
    if instance["status"] == "running":
        assert instance["current_activities"] or engine.store.instance(instance["id"])["wake_at"], instance
    else:
        assert instance["status"] == "completed" or instance.get("error"), instance
    assert not python_speak(instance.get("error") or ""), instance["error"]


def test_an_instance_the_analysis_let_through_waiting_for_nothing_fails_with_the_reason(tmp_path: Path) -> None:
    """The engine's own guard, for whatever a future file holds that the analysis does not catch: a
    signal-only start built without the analysis (which refuses it) fails, naming where it waits."""
    xml = (HAZARD_DIR / "signal_start.bpmn").read_text()
    built = build_specs(etree.fromstring(xml.encode()), ["signal_start"])["signal_start"]
    server = EngineServer(str(tmp_path / "guard.db")).start()
    try:
        server.store.add_version("unchecked", xml, "2030-01-01T00:00:00Z")
        server.engine._specs[("unchecked", 1)] = LoadedProcess(
            "signal_start", built.spec, built.subprocess_specs, frozenset()
        )
        launched = httpx.post(f"{server.url}/api/v1/workflows/unchecked/instances", json={"variables": {}}, timeout=30)
    finally:
        server.stop()
    assert launched.status_code == 201, launched.text
    instance = launched.json()
    assert instance["status"] == "failed" and instance["current_activities"] == []
    assert instance["error"] == (
        "nothing can move this instance on: it waits only at start (waiting for a signal), "
        "which sharlite cannot deliver"
    )
