"""The API takes the BPMN as a JSON string, already text: a declaration naming another encoding
(a Trisotech file's ISO-8859-1) is made to say UTF-8, the encoding the text is stored and sent in."""

from __future__ import annotations

from lxml import etree

from app.services.workflows import latest_workflow
from tests.support.factories import bpmn


def _declaring(encoding: str) -> str:
    return bpmn("user_task").replace('encoding="UTF-8"', f'encoding="{encoding}"').replace("Review an order", "Café")


def test_a_json_string_declaring_iso_8859_1_is_stored_and_shown_as_utf8(api) -> None:
    response = api.post(
        "/api/shar/workflows", json={"name": "Latin", "bpmn_xml": _declaring("ISO-8859-1"), "async": False}
    )
    assert response.status_code == 201, response.get_json()
    shown = api.get("/api/shar/workflows/Latin").get_json()["data"]
    assert shown["summary"]["processes"][0]["name"] == "Café"
    stored = latest_workflow("Latin").bpmn_xml
    assert stored == _declaring("UTF-8")
    # What SHAR receives: the text as UTF-8 bytes, read by a parser that believes their declaration.
    assert etree.fromstring(stored.encode()).find(".//{*}process").get("name") == "Café"
