"""Every real-world file in the MIWG corpus (tests/fixtures/bpmn-corpus) is accepted, or refused for a reason we expect."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.bpmn import BpmnSummary, BpmnValidationError, validate_bpmn

# Kept in tests/ (with its licence) so the suite passes from a plain clone.
CORPUS = Path(os.environ.get("SHARBOARD_BPMN_CORPUS")
              or Path(__file__).resolve().parents[1] / "fixtures" / "bpmn-corpus")
FILES = sorted(CORPUS.glob("**/*.bpmn"))

# Files whose conditions are not simple expressions: JUEL '!', FEEL quantifiers and multi-word
# names, and a Trisotech data-object function call. Each (code, flow id named, fragment of message).
REFUSED = {
    "miwg-reference/C.1.0.bpmn": ("unsafe_expression", "invoiceNotApproved", "'!approved'"),
    "miwg-bpmn-io-18.6.1/C.1.0-roundtrip.bpmn": ("unsafe_expression", "invoiceNotApproved", "'!approved'"),
    "miwg-reference/C.1.1.bpmn": ("unsafe_expression", "invoiceApproved", "bpmn:getDataObject('approved')"),
    "miwg-bpmn-io-18.6.1/C.1.1-roundtrip.bpmn":
        ("unsafe_expression", "invoiceApproved", "bpmn:getDataObject('approved')"),
    "miwg-reference/C.3.0.bpmn":
        ("unsafe_expression", "_be893987-caec-4605-b078-bd96b7cd6c12", "Service Level == 'Premium'"),
    "miwg-bpmn-io-18.6.1/C.3.0-roundtrip.bpmn":
        ("unsafe_expression", "_be893987-caec-4605-b078-bd96b7cd6c12", "Service Level == 'Premium'"),
    "miwg-reference/C.8.0.bpmn":
        ("unsafe_expression", "_f2b0da63-d841-4457-ad85-7d86c8b5c1d2", 'Vacation Approval = "Approved"'),
    "miwg-bpmn-io-18.6.1/C.8.0-roundtrip.bpmn":
        ("unsafe_expression", "_f2b0da63-d841-4457-ad85-7d86c8b5c1d2", 'Vacation Approval = "Approved"'),
    "miwg-reference/C.8.1.bpmn": ("unsafe_expression", "_0a1c4f20-509f-4aeb-baf9-acc762f4fdf9",
                                  'Vacation Approval = "Manual Validation Required"'),
    "miwg-bpmn-io-18.6.1/C.8.1-roundtrip.bpmn": ("unsafe_expression", "_0a1c4f20-509f-4aeb-baf9-acc762f4fdf9",
                                                 'Vacation Approval = "Manual Validation Required"'),
    "miwg-reference/C.9.0.bpmn": ("unsafe_expression", "SequenceFlow_Red", "some risk in riskLevels satisfies"),
    "miwg-bpmn-io-18.6.1/C.9.0-roundtrip.bpmn":
        ("unsafe_expression", "SequenceFlow_Red", "some risk in riskLevels satisfies"),
}


def _relative(path: Path) -> str:
    return path.relative_to(CORPUS).as_posix()


def _validate(relative: str) -> BpmnSummary:
    return validate_bpmn((CORPUS / relative).read_bytes())


def test_corpus_holds_the_shared_files() -> None:
    assert len(FILES) >= 60, f"expected the MIWG corpus under {CORPUS}, found {len(FILES)} files"


def test_every_expected_refusal_names_a_corpus_file() -> None:
    assert set(REFUSED) <= {_relative(path) for path in FILES}


@pytest.mark.parametrize("path", FILES, ids=_relative)
def test_corpus_file_is_accepted_or_refused_as_expected(path: Path) -> None:
    expected = REFUSED.get(_relative(path))
    if expected is None:
        summary = validate_bpmn(path.read_bytes())
        assert summary.processes
        assert all(process.id for process in summary.processes)
        assert summary.element_counts
        return
    code, flow_id, fragment = expected
    with pytest.raises(BpmnValidationError) as caught:
        validate_bpmn(path.read_bytes())
    assert caught.value.code == code
    assert f"condition of flow {flow_id} " in caught.value.message
    assert fragment in caught.value.message


@pytest.mark.parametrize("relative", ["miwg-reference/A.1.0.bpmn", "miwg-bpmn-io-18.6.1/A.1.0-export.bpmn"])
def test_a_1_0_is_one_process_of_three_tasks(relative: str) -> None:
    summary = _validate(relative)
    assert len(summary.processes) == 1
    assert summary.processes[0].is_executable is False
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
    assert summary.element_counts == {"startEvent": 4, "endEvent": 5, "task": 6, "subProcess": 2,
                                      "sequenceFlow": 13}
    assert summary.processes[1].element_counts["subProcess"] == 2


def test_a_4_0_export_reads_is_executable_per_process() -> None:
    summary = _validate("miwg-bpmn-io-18.6.1/A.4.0-export.bpmn")
    assert [p.is_executable for p in summary.processes] == [True, False]


def test_b_2_0_has_four_processes_and_lists_user_tasks() -> None:
    summary = _validate("miwg-reference/B.2.0.bpmn")
    assert len(summary.processes) == 4
    assert summary.element_counts["userTask"] == 5
    assert len(summary.user_task_ids) == 5


def test_c_9_2_export_is_an_executable_camunda_8_model() -> None:
    summary = _validate("miwg-bpmn-io-18.6.1/C.9.2-export.bpmn")
    assert summary.exporter_version == "5.34.0"
    assert summary.processes[0].is_executable is True
    assert summary.element_counts["userTask"] == 3
    assert summary.to_dict()["user_task_ids"] == ["Activity_1r664on", "Activity_1u6uc9z", "Activity_1cyr8qi"]


def test_c_9_0_export_without_feel_conditions_is_accepted_unlike_its_roundtrip() -> None:
    assert _validate("miwg-bpmn-io-18.6.1/C.9.0-export.bpmn").processes
    assert "miwg-bpmn-io-18.6.1/C.9.0-roundtrip.bpmn" in REFUSED
