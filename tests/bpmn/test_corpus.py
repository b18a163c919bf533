"""Every real-world file of the MIWG corpus (tests/fixtures/bpmn-corpus) gets the verdict we expect,
and every refusal points: element id, line, rule, and no object reprs or Python exception names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.bpmn import BpmnSummary, BpmnValidationError, validate_bpmn

# Kept in tests/ (with its licence) so the suite passes from a plain clone.
CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn-corpus"
FILES = sorted(CORPUS.glob("**/*.bpmn"))

# Refused files: (code, rule of the first problem, its element id, number of problems). Reviewed by
# hand: exclusive gateways whose flows carry no condition (exports drop them), timers with no time
# set, FEEL/XPath conditions and Zeebe output mappings beyond simple comparisons or with names with
# spaces, a call to a process of another file, a multi-instance with only a Zeebe inputCollection,
# processes that start only by a signal (C.4.0: sharlite cannot send one).
REFUSED = {
    "miwg-bpmn-io-18.6.1/A.2.1-export.bpmn": ("cannot_run", "gateway-condition", "Flow_1xhc3bf", 2),
    "miwg-bpmn-io-18.6.1/B.1.0-export.bpmn": ("empty_timer", "empty-timer", "StartEvent_1", 1),
    "miwg-bpmn-io-18.6.1/B.2.0-export.bpmn": ("cannot_run", "gateway-condition", "Flow_1fmiuuz", 6),
    "miwg-bpmn-io-18.6.1/C.1.0-export.bpmn": ("empty_timer", "empty-timer", "Event_1m6mn1s", 1),
    "miwg-bpmn-io-18.6.1/C.1.1-export.bpmn": ("cannot_run", "gateway-condition", "Flow_0fb3pzb", 4),
    "miwg-bpmn-io-18.6.1/C.1.1-roundtrip.bpmn": ("unsafe_expression", "condition", "invoiceApproved", 4),
    "miwg-bpmn-io-18.6.1/C.3.0-export.bpmn": ("cannot_run", "gateway-condition", "Flow_0am3e0w", 8),
    "miwg-bpmn-io-18.6.1/C.3.0-roundtrip.bpmn": (
        "cannot_run",
        "gateway-condition",
        "_b99800c3-c340-460c-a43e-098014a365d0",
        7,
    ),
    "miwg-bpmn-io-18.6.1/C.4.0-roundtrip.bpmn": (
        "cannot_run",
        "gateway-condition",
        "_237c8380-5449-446e-a323-aad80181176d",
        7,
    ),
    "miwg-bpmn-io-18.6.1/C.5.0-export.bpmn": ("cannot_run", "gateway-condition", "Flow_0wsn5cd", 11),
    "miwg-bpmn-io-18.6.1/C.5.0-roundtrip.bpmn": (
        "cannot_run",
        "gateway-condition",
        "_fcb09e30-bfe6-46b9-af01-6777c60026f2",
        12,
    ),
    "miwg-bpmn-io-18.6.1/C.6.0-export.bpmn": ("empty_timer", "empty-timer", "Event_1gu9t77", 2),
    "miwg-bpmn-io-18.6.1/C.6.0-roundtrip.bpmn": (
        "empty_timer",
        "empty-timer",
        "_87baeef0-f32e-4a93-b802-fdd588aaf729",
        2,
    ),
    "miwg-bpmn-io-18.6.1/C.7.0-export.bpmn": ("cannot_run", "gateway-condition", "Flow_14ytgtt", 3),
    "miwg-bpmn-io-18.6.1/C.7.0-roundtrip.bpmn": (
        "cannot_run",
        "gateway-condition",
        "_d74707c7-6af3-4db7-9403-924bfdf6a7d8",
        3,
    ),
    "miwg-bpmn-io-18.6.1/C.8.1-roundtrip.bpmn": (
        "cannot_run",
        "output-mapping",
        "_2b960d84-feb1-46a9-a1a1-c300dd996b99",
        6,
    ),
    "miwg-bpmn-io-18.6.1/C.9.0-export.bpmn": ("cannot_run", "gateway-condition", "Flow_1qhwarq", 5),
    "miwg-bpmn-io-18.6.1/C.9.0-roundtrip.bpmn": (
        "unsafe_expression",
        "output-mapping",
        "StartEvent_ApplicationReceived",
        6,
    ),
    "miwg-bpmn-io-18.6.1/C.9.1-export.bpmn": ("empty_timer", "empty-timer", "Event_0r6z74c", 2),
    "miwg-bpmn-io-18.6.1/C.9.2-export.bpmn": ("empty_timer", "empty-timer", "Event_0s3q36a", 5),
    "miwg-bpmn-io-18.6.1/C.9.2-roundtrip.bpmn": ("cannot_run", "multi-instance", "CallActivity_RequestDocument", 2),
    "miwg-reference/C.1.1.bpmn": ("unsafe_expression", "condition", "invoiceApproved", 4),
    "miwg-reference/C.3.0.bpmn": ("cannot_run", "gateway-condition", "_b99800c3-c340-460c-a43e-098014a365d0", 7),
    "miwg-reference/C.4.0.bpmn": ("cannot_run", "gateway-condition", "_237c8380-5449-446e-a323-aad80181176d", 7),
    "miwg-reference/C.5.0.bpmn": ("cannot_run", "gateway-condition", "_fcb09e30-bfe6-46b9-af01-6777c60026f2", 12),
    "miwg-reference/C.6.0.bpmn": ("empty_timer", "empty-timer", "_87baeef0-f32e-4a93-b802-fdd588aaf729", 2),
    "miwg-reference/C.7.0.bpmn": ("cannot_run", "gateway-condition", "_d74707c7-6af3-4db7-9403-924bfdf6a7d8", 3),
    "miwg-reference/C.8.1.bpmn": ("cannot_run", "output-mapping", "_2b960d84-feb1-46a9-a1a1-c300dd996b99", 6),
    "miwg-reference/C.9.0.bpmn": ("unsafe_expression", "output-mapping", "StartEvent_ApplicationReceived", 6),
    "miwg-reference/C.9.2.bpmn": ("cannot_run", "multi-instance", "CallActivity_RequestDocument", 2),
}
PYTHONISMS = re.compile(r"0x[0-9a-f]{6,}|<Element |Traceback|\b[A-Z][A-Za-z]+(Error|Exception)\b")


def _relative(path: Path) -> str:
    return path.relative_to(CORPUS).as_posix()


def _validate(relative: str) -> BpmnSummary:
    return validate_bpmn((CORPUS / relative).read_bytes())


def test_corpus_holds_the_miwg_files_and_licence() -> None:
    assert len(FILES) >= 60, f"expected the MIWG corpus under {CORPUS}, found {len(FILES)} files"
    assert (CORPUS / "LICENSE-miwg.txt").is_file() and "CC BY 3.0" in (CORPUS / "README.md").read_text()


def test_every_expected_refusal_names_a_corpus_file() -> None:
    assert set(REFUSED) <= {_relative(path) for path in FILES}


@pytest.mark.parametrize("path", FILES, ids=_relative)
def test_corpus_file_is_accepted_or_refused_as_expected(path: Path) -> None:
    expected = REFUSED.get(_relative(path))
    if expected is None:
        summary = validate_bpmn(path.read_bytes())
        data = summary.to_dict()
        assert data["processes"] and all(p["id"] and isinstance(p["executable"], bool) for p in data["processes"])
        assert summary.element_counts
        for warning in data["shar_warnings"]:
            assert set(warning) >= {"rule", "element_id", "line", "message"}
            assert warning["rule"].startswith("shar:") and warning["rule"] in warning["message"]
            assert (
                "SHAR would refuse this" in warning["message"]
                or "SHAR would not run this as drawn" in warning["message"]
            )
            assert not PYTHONISMS.search(warning["message"])
        return
    code, rule, element_id, count = expected
    with pytest.raises(BpmnValidationError) as caught:
        validate_bpmn(path.read_bytes())
    error = caught.value
    assert (error.code, error.problems[0]["rule"], error.problems[0]["element_id"]) == (code, rule, element_id)
    assert len(error.problems) == count
    for problem in error.problems:  # every reason points: tag, id, line, the rule's name
        assert problem["element_id"] and problem["line"] and problem["tag"]
        assert f'"{problem["element_id"]}"' in problem["message"] and f"line {problem['line']}" in problem["message"]
        assert f"[{problem['rule']}]" in problem["message"] and problem["message"] in error.message
    assert not PYTHONISMS.search(error.message), error.message


def test_every_reason_is_listed_not_only_the_first() -> None:
    with pytest.raises(BpmnValidationError) as caught:
        _validate("miwg-reference/C.5.0.bpmn")
    assert caught.value.message.count("[gateway-condition]") >= 2
    assert "12 problems" in caught.value.message


def test_juel_negation_now_runs_and_feel_is_named() -> None:
    assert _validate("miwg-reference/C.1.0.bpmn").processes  # ${!approved}
    with pytest.raises(BpmnValidationError) as caught:
        _validate("miwg-reference/C.8.1.bpmn")
    assert "FEEL is not supported" in caught.value.message


@pytest.mark.parametrize("relative", ["miwg-reference/A.1.0.bpmn", "miwg-bpmn-io-18.6.1/A.1.0-export.bpmn"])
def test_a_1_0_is_one_process_of_three_tasks(relative: str) -> None:
    summary = _validate(relative)
    assert len(summary.processes) == 1
    assert summary.processes[0].is_executable is False
    assert summary.to_dict()["processes"][0]["executable"] is False
    assert summary.element_counts == {"startEvent": 1, "task": 3, "endEvent": 1, "sequenceFlow": 4}


def test_a_1_0_export_keeps_exporter_and_target_namespace() -> None:
    summary = _validate("miwg-bpmn-io-18.6.1/A.1.0-export.bpmn")
    assert (summary.exporter, summary.exporter_version) == ("Camunda Modeler", "5.23.0")
    assert summary.target_namespace == "http://bpmn.io/bpmn"
    assert summary.processes[0].id == "Process_1"


def test_a_4_0_counts_sub_process_contents() -> None:
    summary = _validate("miwg-reference/A.4.0.bpmn")
    assert [p.id for p in summary.processes] == ["WFP-6-1", "WFP-6-2"]
    # Counted with grep: 4 start events and 6 tasks in the file, most inside the two sub-processes.
    assert summary.element_counts == {"startEvent": 4, "endEvent": 5, "task": 6, "subProcess": 2, "sequenceFlow": 13}
    assert summary.processes[1].element_counts["subProcess"] == 2


def test_a_4_0_export_reads_is_executable_per_process() -> None:
    summary = _validate("miwg-bpmn-io-18.6.1/A.4.0-export.bpmn")
    assert [p.is_executable for p in summary.processes] == [True, False]
    assert summary.to_dict()["executable_process_ids"] == [summary.processes[0].id]


def test_b_2_0_has_four_processes_with_pools_and_lists_user_tasks() -> None:
    summary = _validate("miwg-reference/B.2.0.bpmn")
    processes = summary.to_dict()["processes"]
    assert len(processes) == 4
    pools = {p["id"]: (p["pool"], p["name"]) for p in processes}
    assert pools["WFP-6-1"] == ("Participant", "Participant") and pools["WFP-6-2"] == ("Pool", "Pool")
    assert pools["WFP-0-"] == (None, None)
    assert summary.element_counts["userTask"] == 5
    assert len(summary.user_task_ids) == 5


def test_data_stores_annotations_and_groups_are_listed_as_not_executed() -> None:
    data = _validate("miwg-reference/B.2.0.bpmn").to_dict()
    tags = {item["tag"] for item in data["not_executed"]}
    assert {"dataStoreReference", "textAnnotation", "association", "group"} <= tags
    assert all(item["line"] and item["reason"] for item in data["not_executed"])


def test_empty_collapsed_sub_processes_are_listed_as_not_executed() -> None:
    data = _validate("miwg-bpmn-io-18.6.1/A.3.0-export.bpmn").to_dict()
    empty = [item for item in data["not_executed"] if item["tag"] == "subProcess"]
    assert empty and all("empty collapsed sub-process" in item["reason"] for item in empty)


def test_shar_profile_warns_about_service_tasks_without_a_zeebe_type() -> None:
    data = _validate("miwg-reference/C.2.0.bpmn").to_dict()
    rules = {w["rule"] for w in data["shar_warnings"]}
    assert rules, "C.2.0 is drawn for Camunda 7 / plain BPMN: SHAR would refuse something"
