"""A BPMN file the engine cannot run is refused in the request, on every door, with every reason
naming its element and line, and no job is queued for it (issue 11: "refused in the request")."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

from sqlalchemy import func, select

from app.core.extensions import db
from app.models import JobRecord, Workflow
from tests.bpmn.test_corpus import PYTHONISMS
from tests.support.factories import make_user
from tests.support.web import Browser

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn-corpus" / "miwg-bpmn-io-18.6.1"
# Gateway flows without a condition, and more (see tests/bpmn/test_corpus.py::REFUSED).
REFUSED = CORPUS / "B.2.0-export.bpmn"
POINTS = re.compile(r'<\w+> "[^"]+"[^<]* at line \d+')  # <tag> "id" ("name") at line N


def _nothing_stored() -> None:
    assert db.session.scalar(select(func.count()).select_from(Workflow)) == 0
    assert db.session.scalar(select(func.count()).select_from(JobRecord)) == 0


def test_refused_on_the_api_with_every_reason(api) -> None:  # type: ignore[no-untyped-def]
    answer = api.post("/api/shar/workflows", json={"name": "B20", "bpmn_xml": REFUSED.read_text()})
    assert answer.status_code == 422
    reasons = answer.get_json()["errors"]["bpmn_xml"]
    assert len(reasons) >= 4 and all(POINTS.match(r) for r in reasons), reasons
    assert not any(PYTHONISMS.search(r) for r in reasons)
    _nothing_stored()


def test_refused_on_the_upload_page_with_every_reason(app) -> None:  # type: ignore[no-untyped-def]
    make_user("ann@example.com", "user", "correct-horse-1")
    page = Browser(app, "ann@example.com", "correct-horse-1").post(
        "/workflows", {"name": "B20", "mode": "async", "file": (REFUSED.open("rb"), "b20.bpmn")}
    )
    errors = [
        unescape(e) for e in re.findall(r'class="field-error" role="alert">(.*?)</div>', page.get_data(as_text=True))
    ]
    assert page.status_code == 422 and len(errors) >= 4 and all(POINTS.match(e) for e in errors), errors
    _nothing_stored()


def test_refused_on_the_command_line_with_its_first_reason(app) -> None:  # type: ignore[no-untyped-def]
    result = app.test_cli_runner().invoke(args=["shar", "workflow", "create", "B20", str(REFUSED)])
    assert result.exit_code != 0 and POINTS.search(result.output), result.output
    _nothing_stored()
