"""Size, BPMN structure, security policy and summary of validate_bpmn."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from app.bpmn import (
    DEFAULT_MAX_BYTES,
    BpmnSummary,
    BpmnValidationError,
    ProcessSummary,
    validate_bpmn,
)
from tests.bpmn.helpers import MODEL_NS, definitions, with_condition

KNOWN_CODES = {
    "too_large",
    "not_xml",
    "dtd_forbidden",
    "entity_forbidden",
    "not_bpmn",
    "wrong_root",
    "no_process",
    "script_task",
    "unsafe_expression",
    "empty",
}
SIMPLE_COUNTS = {"startEvent": 1, "userTask": 1, "endEvent": 1, "sequenceFlow": 2}


def refusal(data: bytes | str, **kwargs: int) -> BpmnValidationError:
    with pytest.raises(BpmnValidationError) as caught:
        validate_bpmn(data, **kwargs)
    assert caught.value.message and str(caught.value) == caught.value.message
    return caught.value


def padded(size: int) -> bytes:
    """A valid document of exactly size bytes, padded with a comment."""
    base = definitions().encode()
    filler = size - len(base) - len(b"<!---->")
    assert filler >= 0
    return base + b"<!--" + b" " * filler + b"-->"


# -- size ------------------------------------------------------------------------------


def test_exactly_the_default_limit_is_accepted() -> None:
    assert len(validate_bpmn(padded(DEFAULT_MAX_BYTES)).processes) == 1


def test_one_byte_over_the_default_limit_is_refused_with_both_sizes() -> None:
    error = refusal(padded(DEFAULT_MAX_BYTES + 1))
    assert error.code == "too_large"
    assert error.message == "BPMN file is 5,242,881 bytes; the limit is 5,242,880 bytes"


def test_size_message_names_size_and_limit_in_mib() -> None:
    error = refusal(b"x" * int(6.2 * 1024 * 1024))
    assert (error.code, error.message) == ("too_large", "BPMN file is 6.2 MiB; the limit is 5.0 MiB")


def test_size_is_checked_before_parsing_and_honours_max_bytes() -> None:
    assert refusal("<not even xml", max_bytes=5).code == "too_large"
    assert validate_bpmn(padded(4096), max_bytes=4096).processes
    assert refusal(padded(4097), max_bytes=4096).message == "BPMN file is 4,097 bytes; the limit is 4,096 bytes"
    assert refusal(padded(6000), max_bytes=4096).message == "BPMN file is 5.9 KiB; the limit is 4.0 KiB"


def test_text_size_counts_utf8_bytes() -> None:
    text = definitions().replace('name="Order"', f'name="{"é" * 100}"')
    utf8_size = len(text.encode("utf-8"))
    assert utf8_size == len(text) + 100
    assert validate_bpmn(text, max_bytes=utf8_size).processes[0].name == "é" * 100
    assert refusal(text, max_bytes=utf8_size - 1).code == "too_large"


@pytest.mark.parametrize("data", [b"", "", b"   \n\t ", "\n"])
def test_empty_input_is_refused_as_empty(data: bytes | str) -> None:
    assert refusal(data).code == "empty"


# -- BPMN structure --------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["bpmn", "bpmn2", "semantic", "model", None])
def test_any_prefix_of_the_bpmn_namespace_is_accepted(prefix: str | None) -> None:
    summary = validate_bpmn(definitions(prefix=prefix))
    assert summary.element_counts == SIMPLE_COUNTS


@pytest.mark.parametrize(
    ("namespace", "shown"),
    [
        ("http://schema.omg.org/spec/BPMN/2.0", "BPMN 2.0 beta"),
        ("http://www.wfmc.org/2008/XPDL2.1", "http://www.wfmc.org/2008/XPDL2.1"),
        ("https://www.omg.org/spec/DMN/20191111/MODEL/", "DMN"),
        ("http://example.com/random", "http://example.com/random"),
    ],
)
def test_definitions_in_another_namespace_is_not_bpmn(namespace: str, shown: str) -> None:
    error = refusal(definitions(namespace=namespace))
    assert error.code == "not_bpmn"
    assert "<bpmn:definitions>" in error.message and shown in error.message


def test_root_without_namespace_is_not_bpmn() -> None:
    error = refusal('<definitions id="x"><process id="P"/></definitions>')
    assert error.code == "not_bpmn"
    assert "<definitions> with no namespace" in error.message


def test_html_root_is_not_bpmn() -> None:
    assert "<html>" in refusal("<html><body>hi</body></html>").message


def test_other_bpmn_root_is_wrong_root() -> None:
    error = refusal(f'<bpmn2:process xmlns:bpmn2="{MODEL_NS}" id="P"><bpmn2:task id="T"/></bpmn2:process>')
    assert error.code == "wrong_root"
    assert "<bpmn2:process>" in error.message


def test_collaboration_without_process_is_no_process() -> None:
    error = refusal(definitions('<{p}collaboration id="C"><{p}participant id="Pa" name="Bank"/></{p}collaboration>'))
    assert error.code == "no_process"
    assert "collaboration" in error.message


def test_empty_definitions_is_no_process() -> None:
    assert refusal(definitions("")).code == "no_process"


# -- security policy -------------------------------------------------------------------


def test_script_task_is_refused_with_its_id() -> None:
    body = (
        '<{p}process id="P"><{p}subProcess id="Sub"><{p}scriptTask id="Script_7" scriptFormat="python">'
        "<{p}script>import os</{p}script></{p}scriptTask></{p}subProcess></{p}process>"
    )
    error = refusal(definitions(body))
    assert error.code == "script_task"
    assert "Script_7" in error.message


def test_every_script_task_is_named() -> None:
    body = '<{p}process id="P"><{p}scriptTask id="S1"/><{p}task id="T"/><{p}scriptTask id="S2"/></{p}process>'
    error = refusal(definitions(body))
    assert [p["element_id"] for p in error.problems] == ["S1", "S2", "P"]  # P: no start event
    assert error.problems[2]["rule"] == "no-start-event"
    assert '"S1"' in error.message and '"S2"' in error.message and "3 problems" in error.message


UNSAFE = {
    "__import__('os').system('x')": "a function call",
    "a.__class__": "attribute access",
    "open('f')": "a function call",
    "lambda: 1": "a lambda",
    "[x for x in y]": "a comprehension",
    "_secret > 1": "the name '_secret'",
    "${x.y}": "attribute access",
    "= items[0] > 1": "subscripting",
    "2 ** 1000000": "the operator **",
    "a if b else c": "a conditional expression",
    "(y := 1)": "an assignment expression",
    "x is None": "the operator is",
    "{'a': 1}": "a dict",
    "f'{x}'": "an f-string",
    "b'x' == y": "a bytes literal",
    "x in [y, 1]": "a list whose items are not all literals",
}


@pytest.mark.parametrize(("condition", "construct"), UNSAFE.items(), ids=UNSAFE.keys())
def test_unsafe_condition_is_refused_naming_flow_and_construct(condition: str, construct: str) -> None:
    error = refusal(with_condition(condition))
    assert error.code == "unsafe_expression"
    assert error.message.startswith('this BPMN cannot run: <sequenceFlow> "Flow_1" at line 8: its condition is refused')
    assert construct in error.message and error.message.endswith("[condition]")
    assert error.problems == [
        {
            "rule": "condition",
            "element_id": "Flow_1",
            "tag": "sequenceFlow",
            "name": None,
            "line": 8,
            "message": error.message.removeprefix("this BPMN cannot run: "),
        }
    ]


def test_function_call_message_reads_plainly() -> None:
    assert refusal(with_condition("open('f')")).message == (
        'this BPMN cannot run: <sequenceFlow> "Flow_1" at line 8: its condition is refused: "open(\'f\')" uses a '
        "function call, which is not allowed; write a simple comparison such as ${amount > 100} or "
        '=status = "ok" [condition]'
    )


@pytest.mark.parametrize(
    "condition", ["amount >", "Service Level == 'x'", "x = 1", "a; b", "(" * 300 + "x" + ")" * 300, "not " * 5000 + "x"]
)
def test_condition_that_does_not_parse_is_refused(condition: str) -> None:
    error = refusal(with_condition(condition))
    assert error.code == "unsafe_expression"
    assert '<sequenceFlow> "Flow_1" at line 8: its condition is refused' in error.message


SAFE = [
    "amount > 1000",
    "= amount > 1000",
    "=amount > 1000",
    "${amount > 1000}",
    "#{amount > 1000}",
    'status == "ok" and not vip',
    "x in [1, 2]",
    "x not in (-1, 'a', None)",
    "= not(approved)",
    "true",
    "approved == false or total == null",
    "(a + b - c * d / e % f // g) >= -1.5",
    "1 < x <= 10",
    "",
    "   ",
    "${}",
    # JUEL and FEEL forms mapped onto the evaluator
    "${!approved}",
    "${a && !b || c == 'x'}",
    "${x eq 5 and not empty y}",
    '=a = "x"',
    "= a > 5",
    '${s == "a&&b!"}',
]


@pytest.mark.parametrize("condition", SAFE)
def test_simple_condition_is_accepted(condition: str) -> None:
    assert validate_bpmn(with_condition(condition)).element_counts["sequenceFlow"] == 2


def test_feel_language_maps_simple_comparisons_and_names_the_rest() -> None:
    feel = "https://www.omg.org/spec/DMN/20191111/FEEL/"
    assert validate_bpmn(with_condition('amount > 1 and status = "ok"', language=feel)).processes
    error = refusal(with_condition("some x in xs satisfies x > 1", language=feel))
    assert error.code == "unsafe_expression" and "FEEL is not supported: " in error.message


@pytest.mark.parametrize(
    ("language", "named"),
    [("javascript", "JavaScript"), ("groovy", "Groovy"), ("http://groovy.codehaus.org/", "Groovy")],
)
def test_other_condition_languages_are_named_and_refused(language: str, named: str) -> None:
    error = refusal(with_condition("amount > 1", language=language))
    assert error.code == "unsafe_expression" and f"{named} is not supported" in error.message


def test_xpath_is_named_when_the_condition_is_beyond_a_comparison() -> None:
    error = refusal(with_condition("bpmn:getDataObject('x')", language="http://www.w3.org/1999/XPath"))
    assert "XPath is not supported" in error.message
    assert validate_bpmn(with_condition("true", language="http://www.w3.org/1999/XPath")).processes


def test_timer_expressions_are_refused_never_evaluated() -> None:
    body = (
        '<{p}process id="P"><{p}intermediateCatchEvent id="Wait"><{p}timerEventDefinition id="Td">'
        "<{p}timeDuration>${{__import__('os')}}</{p}timeDuration><{p}timeCycle>R3/PT10H</{p}timeCycle>"
        "</{p}timerEventDefinition></{p}intermediateCatchEvent></{p}process>"
    )
    error = refusal(definitions(body))
    assert ("timer-expression", "Wait") in [(p["rule"], p["element_id"]) for p in error.problems]


def test_condition_inside_a_sub_process_is_checked() -> None:
    body = (
        '<{p}process id="P"><{p}startEvent id="S"/><{p}subProcess id="Sub"><{p}startEvent id="a"/>'
        '<{p}exclusiveGateway id="b"/><{p}endEvent id="c"/>'
        '<{p}sequenceFlow id="In" sourceRef="a" targetRef="b"/><{p}sequenceFlow id="Inner" sourceRef="b" '
        "targetRef=\"c\"><{p}conditionExpression>open('x')</{p}conditionExpression></{p}sequenceFlow>"
        "</{p}subProcess></{p}process>"
    )
    error = refusal(definitions(body))
    assert [p["element_id"] for p in error.problems] == ["Inner"] and "a function call" in error.message


# -- summary ---------------------------------------------------------------------------

NESTED = """
  <{p}process id="Main" name="Main flow" isExecutable="true">
    <{p}documentation>ignored</{p}documentation>
    <{p}extensionElements><{p}task id="NotCounted"/></{p}extensionElements>
    <{p}laneSet id="Ls"><{p}lane id="L"><{p}flowNodeRef>Start</{p}flowNodeRef></{p}lane></{p}laneSet>
    <{p}startEvent id="Start"><{p}outgoing>F1</{p}outgoing></{p}startEvent>
    <{p}subProcess id="Sub">
      <{p}incoming>F1</{p}incoming>
      <{p}startEvent id="SubStart"/>
      <{p}userTask id="Approve"/>
      <{p}transaction id="Tx"><{p}startEvent id="TxStart"/><{p}serviceTask id="Pay"/><{p}manualTask id="Count"/>
      </{p}transaction>
      <{p}sequenceFlow id="SF" sourceRef="SubStart" targetRef="Approve"/>
    </{p}subProcess>
    <{p}exclusiveGateway id="G"/>
    <{p}parallelGateway id="PG"/>
    <{p}intermediateCatchEvent id="Timer"><{p}timerEventDefinition><{p}timeDuration>PT1H</{p}timeDuration>
      </{p}timerEventDefinition></{p}intermediateCatchEvent>
    <{p}endEvent id="End"/>
    <{p}sequenceFlow id="F1" sourceRef="Start" targetRef="Sub"/>
    <{p}textAnnotation id="Note"><{p}text>not a flow element</{p}text></{p}textAnnotation>
  </{p}process>
  <{p}process id="Other" isExecutable="false"><{p}task id="T1"/><{p}userTask id="U2"/></{p}process>
  <{p}process id="Defaulted"><{p}startEvent id="S2"/><{p}task id="T2"/></{p}process>
  <{p}collaboration id="C"><{p}participant id="Pa" processRef="Main"/></{p}collaboration>
"""


@pytest.fixture
def nested() -> BpmnSummary:
    attributes = 'targetNamespace="http://example.com/t" exporter="Camunda Modeler" exporterVersion="5.0"'
    return validate_bpmn(definitions(NESTED, prefix="bpmn2", attributes=attributes).encode())


def test_summary_lists_processes_with_their_flow_elements(nested: BpmnSummary) -> None:
    assert nested.processes[0] == ProcessSummary(
        id="Main",
        name="Main flow",
        is_executable=True,
        element_counts={
            "startEvent": 3,
            "subProcess": 1,
            "userTask": 1,
            "transaction": 1,
            "serviceTask": 1,
            "manualTask": 1,
            "sequenceFlow": 2,
            "exclusiveGateway": 1,
            "parallelGateway": 1,
            "intermediateCatchEvent": 1,
            "endEvent": 1,
        },
    )
    assert [(p.id, p.name, p.is_executable) for p in nested.processes[1:]] == [
        ("Other", None, False),
        ("Defaulted", None, True),
    ]  # absent isExecutable: the engine runs it


def test_summary_totals_and_definitions_attributes(nested: BpmnSummary) -> None:
    assert nested.element_counts["task"] == 2
    assert nested.element_counts["userTask"] == 2
    assert nested.element_counts["startEvent"] == 4
    assert "textAnnotation" not in nested.element_counts
    assert (nested.target_namespace, nested.exporter, nested.exporter_version) == (
        "http://example.com/t",
        "Camunda Modeler",
        "5.0",
    )
    assert nested.user_task_ids == ("Approve", "Count", "U2")


def test_summary_dict_survives_json(nested: BpmnSummary) -> None:
    data = nested.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["processes"][0]["id"] == "Main" and data["processes"][0]["is_executable"] is True
    assert data["element_counts"] == nested.element_counts
    assert set(data) == {
        "processes",
        "element_counts",
        "target_namespace",
        "exporter",
        "exporter_version",
        "user_task_ids",
        "executable_process_ids",
        "shar_warnings",
        "not_executed",
        "message_waits",
        "message_starts",
    }
    assert data["processes"][0]["executable"] is True and data["executable_process_ids"] == ["Main", "Defaulted"]
    assert [(n["tag"], n["element_id"]) for n in data["not_executed"]] == [("textAnnotation", "Note")]


def test_definitions_without_optional_attributes_give_none() -> None:
    summary = validate_bpmn(definitions())
    assert (summary.target_namespace, summary.exporter, summary.exporter_version) == (None, None, None)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), (" TRUE ", True), ("1", True), ("false", False), ("0", False), ("yes", False)],
)
def test_is_executable_reads_the_xsd_boolean(value: str, expected: bool) -> None:
    body = f'<{{p}}process id="P" isExecutable="{value}"><{{p}}startEvent id="S"/></{{p}}process>'
    assert validate_bpmn(definitions(body)).processes[0].is_executable is expected


def test_text_with_a_foreign_encoding_declaration_is_read_as_text() -> None:
    text = definitions().replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').replace("Order", "Bestellung ü")
    assert validate_bpmn(text).processes[0].name == "Bestellung ü"


def test_bytes_in_utf16_are_read() -> None:
    data = definitions().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    assert validate_bpmn(data).element_counts == SIMPLE_COUNTS


# -- never a crash ---------------------------------------------------------------------

CORPUS_SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn-corpus" / "miwg-reference"


def _outcome(data: bytes) -> str:
    try:
        summary = validate_bpmn(data)
    except BpmnValidationError as exc:
        assert exc.code in KNOWN_CODES and exc.message
        return exc.code
    assert summary.processes
    return "accepted"


def test_random_bytes_are_refused_never_crash() -> None:
    rng = random.Random(20240601)
    codes = {_outcome(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))) for _ in range(300)}
    assert codes <= KNOWN_CODES and "not_xml" in codes


def test_truncated_and_corrupted_files_are_refused_never_crash() -> None:
    rng = random.Random(7)
    sources = [definitions().encode(), (CORPUS_SAMPLE / "B.2.0.bpmn").read_bytes()]
    outcomes = set()
    for source in sources:
        for cut in sorted(rng.sample(range(1, len(source)), 60)):
            outcomes.add(_outcome(source[:cut]))
        for _ in range(60):
            corrupted = bytearray(source)
            for _ in range(3):
                corrupted[rng.randrange(len(corrupted))] = rng.randrange(256)
            outcomes.add(_outcome(bytes(corrupted)))
    assert "not_xml" in outcomes


@pytest.mark.parametrize("data", ["\ud800", "<a>\x00</a>", "\ufeff\ufeff<a/>", b"\xef\xbb\xbf", b"<?xml?>"])
def test_odd_inputs_are_refused_never_crash(data: bytes | str) -> None:
    assert refusal(data).code in {"not_xml", "empty"}


def test_a_chain_too_long_for_the_engine_is_refused_with_a_reason_not_an_exception_name() -> None:
    tasks = "".join(f'<{{p}}task id="t{i}"/>' for i in range(1000))
    flows = "".join(f'<{{p}}sequenceFlow id="f{i}" sourceRef="t{i}" targetRef="t{i + 1}"/>' for i in range(999))
    body = (
        f'<{{p}}process id="P"><{{p}}startEvent id="S"/><{{p}}sequenceFlow id="f" sourceRef="S" '
        f'targetRef="t0"/>{tasks}{flows}</{{p}}process>'
    )
    error = refusal(definitions(body))
    assert error.code == "cannot_run" and "too deeply" in error.message
    assert "Error" not in error.message and "0x" not in error.message
