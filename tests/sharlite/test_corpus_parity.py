"""One verdict: over the whole MIWG corpus, the upload validator accepts a file exactly when
sharlite deploys it (through sharlite's real HTTP server), and refuses it with the same reasons."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.bpmn import BpmnValidationError, validate_bpmn
from app.sharlite.server import EngineServer
from tests.bpmn.test_corpus import CORPUS, FILES, PYTHONISMS


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineServer]:
    server = EngineServer(str(tmp_path_factory.mktemp("parity") / "engine.db")).start()
    yield server
    server.stop()


def _name(path: Path) -> str:
    return "corpus-" + path.relative_to(CORPUS).as_posix().replace("/", "-")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(CORPUS).as_posix())
def test_validator_accepts_exactly_what_sharlite_deploys(engine: EngineServer, path: Path) -> None:
    text = path.read_bytes().decode("utf-8")  # as uploaded: no newline translation, so lines agree
    try:
        summary = validate_bpmn(path.read_bytes())
        refusal = None
    except BpmnValidationError as exc:
        summary, refusal = None, exc
    response = httpx.post(f"{engine.url}/api/v1/workflows", json={"name": _name(path), "bpmn_xml": text}, timeout=60)
    if refusal is None:
        assert response.status_code == 201, response.text
        launch = httpx.post(
            f"{engine.url}/api/v1/workflows/{_name(path)}/instances", json={"variables": {}}, timeout=60
        )
        if summary.to_dict()["executable_process_ids"]:
            assert launch.status_code == 201, launch.text  # it deploys and it starts
        else:  # kept as a diagram: launching says why, permanently
            assert launch.status_code == 422 and "isExecutable" in launch.json()["error"]
    else:
        assert response.status_code == 422  # permanent: the client does not retry it
        error = response.json()["error"]
        assert refusal.message in error  # the same reasons, all of them
        assert not PYTHONISMS.search(error), error
