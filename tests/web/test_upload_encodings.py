"""Uploads through the page are read in the encoding the file names (app.bpmn.decode_xml) and
stored as UTF-8 text whose declaration says so."""

from __future__ import annotations

import io

from lxml import etree

from app.services.workflows import latest_workflow
from tests.support.factories import bpmn


def _upload(post, name: str, content: bytes):  # type: ignore[no-untyped-def]
    return post(
        "/workflows",
        {"name": name, "mode": "async", "file": (io.BytesIO(content), "w.bpmn")},
        page="/workflows",
        content_type="multipart/form-data",
    )


def _declaring(encoding: str) -> str:
    """The user_task fixture declaring `encoding`, its process named with a non-ASCII letter."""
    return bpmn("user_task").replace('encoding="UTF-8"', f'encoding="{encoding}"').replace("Review an order", "Café")


def _served_process_name(client, name: str) -> str:  # type: ignore[no-untyped-def]
    """The process name as an XML parser reads the served bytes, believing their declaration."""
    served = client.get(f"/workflows/{name}/v1.bpmn").get_data()
    return etree.fromstring(served).find(".//{*}process").get("name")


def test_upload_reads_a_file_in_the_encoding_it_declares_and_stores_it_as_utf8(client, sign_in, post) -> None:
    sign_in("user")
    data = _declaring("ISO-8859-1").encode("latin-1")
    assert b"Caf\xe9" in data
    preview = post(
        "/workflows/_preview",
        {"name": "Latin", "mode": "async", "file": (io.BytesIO(data), "w.bpmn")},
        page="/workflows",
        content_type="multipart/form-data",
    )
    assert preview.status_code == 200, preview.get_data(as_text=True)
    response = _upload(post, "Latin", data)
    assert response.status_code == 302, response.get_data(as_text=True)
    # Stored and sent to SHAR as UTF-8 text, so its declaration must say UTF-8.
    assert latest_workflow("Latin").bpmn_xml == _declaring("UTF-8")
    assert _served_process_name(client, "Latin") == "Café"


def test_upload_reads_utf16_with_a_byte_order_mark(client, sign_in, post) -> None:
    sign_in("user")
    response = _upload(post, "Wide", _declaring("UTF-16").encode("utf-16"))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert latest_workflow("Wide").bpmn_xml == _declaring("UTF-8")
    assert _served_process_name(client, "Wide") == "Café"


def test_upload_refuses_an_unknown_encoding_or_bytes_it_cannot_read_naming_the_encoding(client, sign_in, post) -> None:
    sign_in("user")
    for content, said in [
        (_declaring("x-unknown-charset").encode(), "x-unknown-charset"),
        (_declaring("US-ASCII").encode("latin-1"), "cannot be read as US-ASCII"),
        (_declaring("UTF-8").encode("latin-1"), "byte 0xE9"),
        (b"", "the file is empty"),
        (b"  \n", "the file is empty"),
    ]:
        response = _upload(post, "Odd", content)
        page = response.get_data(as_text=True)
        assert response.status_code == 422 and 'class="field-error"' in page and said in page, said
        assert "not UTF-8 text" not in page
    assert latest_workflow("Odd") is None
