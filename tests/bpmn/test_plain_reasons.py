"""Over every corpus file (and the hand-written hazards): each refusal, problem, SHAR warning and
not-executed note reads as plain words (tests/bpmn/plain_words.py), and each one about an element
points at it by id, never at <definitions>."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.bpmn import BpmnValidationError, inspect_bpmn
from app.bpmn.expressions import UnsafeExpression, compile_condition, language_of
from tests.bpmn.plain_words import ALL_FILES, HAZARDS, python_speak
from tests.bpmn.test_corpus import CORPUS

# Rules about an element that has no id: they point by tag, name and line instead.
_NO_ID_RULES = {"missing-id", "shar:missing-id"}


def _shown(path: Path) -> str:
    return path.relative_to(CORPUS).as_posix() if path.is_relative_to(CORPUS) else f"hazards/{path.name}"


def _verdict(path: Path) -> tuple[list[str], list[dict[str, Any]]]:
    """Every text the verdict shows, and every finding pointing at an element."""
    try:
        summary = inspect_bpmn(path.read_bytes()).summary.to_dict()
    except BpmnValidationError as exc:
        return [exc.message, *(p["message"] for p in exc.problems)], exc.problems
    warnings = summary["shar_warnings"]
    return [w["message"] for w in warnings] + [n["reason"] for n in summary["not_executed"]], warnings


@pytest.mark.parametrize("path", ALL_FILES, ids=_shown)
def test_every_reason_reads_as_plain_words(path: Path) -> None:
    texts, _ = _verdict(path)
    offenders = {text: python_speak(text) for text in texts if python_speak(text)}
    assert not offenders, offenders


@pytest.mark.parametrize("path", ALL_FILES, ids=_shown)
def test_every_finding_points_at_its_element(path: Path) -> None:
    _, findings = _verdict(path)
    for finding in findings:
        assert finding["tag"] != "definitions", finding["message"]
        if finding["rule"] not in _NO_ID_RULES:
            assert finding["element_id"] and f'"{finding["element_id"]}"' in finding["message"], finding


def test_the_hazards_are_refused_or_run_as_drawn() -> None:
    verdicts = {}
    for path in HAZARDS:
        try:
            inspection = inspect_bpmn(path.read_bytes())
            verdicts[path.stem] = ("accepted", inspection.summary.message_waits)
        except BpmnValidationError as exc:
            verdicts[path.stem] = ("refused", [p["rule"] for p in exc.problems])
    assert verdicts == {
        "signal_start": ("refused", ["signal-start"]),  # nothing can send the signal: no instance could start
        "event_definition_ref": ("refused", ["signal-catch"]),  # the shared definition is read: a lone signal wait
        "boundary_definition_ref": ("accepted", {}),  # its shared timer definition is copied in: it runs
        "message_without_name": ("accepted", {"paid": "Message_paid"}),  # waits for a message named by its id
        "none_and_signal_start": ("accepted", {}),  # starts at its none start event
        "signal_ref_missing": ("refused", ["event-ref"]),
        "spaced_condition": ("refused", ["condition"]),
    }


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("${approved yes}", 'it cannot be read from "yes" on'),
        ("[a b]", "it cannot be read from"),  # Python: "invalid syntax. Perhaps you forgot a comma?"
        ("amount > (3", "the bracket ( is never closed"),
        ("amount > 3)", "the bracket ) closes nothing"),
        ("status == 'ok", "a quoted text is never closed"),  # Python: "... (detected at line 1)"
        ("3days > 1", "a number runs into letters"),
        ("amount >", "it ends before the expression is complete"),
        ("amount … 3", "the character … cannot be used"),
    ],
)
def test_an_expression_that_does_not_parse_says_why_in_plain_words(text: str, words: str) -> None:
    with pytest.raises(UnsafeExpression) as caught:
        compile_condition(text, language_of(text))
    assert words in str(caught.value) and not python_speak(str(caught.value)), str(caught.value)
