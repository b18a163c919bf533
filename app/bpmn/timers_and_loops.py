"""Timers and multi-instance loops: values the engine can read (ISO 8601 literals, whole numbers or
checked expressions) and counts within budget (MAX_TIMER_REPETITIONS, MAX_LOOP_CARDINALITY).

A pure library: lxml only.
"""

from __future__ import annotations

import re

from lxml import etree

from app.bpmn.document import AnalysedDocument
from app.bpmn.elements import BPMN_NS, TIMER_PARTS, local, set_text, text_of
from app.bpmn.expressions import UnsafeExpression, compile_condition, language_of, translate

_M = f"{{{BPMN_NS}}}"

MAX_LOOP_CARDINALITY = 1000
MAX_TIMER_REPETITIONS = 100

_ISO_DURATION = re.compile(r"^P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_ISO_CYCLE = re.compile(r"^R(\d*)/(.+)$")


def check_timer(doc: AnalysedDocument, node: etree._Element, timer: etree._Element) -> None:
    parts = [c for c in timer if local(c) in TIMER_PARTS]
    texts = [text_of(c) for c in parts]
    if not parts or not any(texts):
        doc.problem(
            "empty-timer",
            "empty_timer",
            node,
            "its timer has no time set; give it a timeDuration (e.g. PT5M), timeDate or timeCycle",
        )
        return
    for part, text in zip(parts, texts, strict=True):
        if not text:
            continue
        value = text.strip().strip("\"'")
        kind = local(part)
        if value.startswith("=") or value.startswith("${"):
            doc.problem(
                "timer-expression",
                "cannot_run",
                node,
                f"its {kind} {text!r} is an expression; write an ISO 8601 literal such as PT5M",
            )
        elif kind == "timeDuration" and not _ISO_DURATION.match(value):
            doc.problem(
                "timer-value", "cannot_run", node, f"its timeDuration {text!r} is not an ISO 8601 duration such as PT5M"
            )
        elif kind == "timeDate" and not _ISO_DATE.match(value):
            doc.problem(
                "timer-value",
                "cannot_run",
                node,
                f"its timeDate {text!r} is not an ISO 8601 date-time such as 2030-01-01T09:00:00Z",
            )
        elif kind == "timeCycle":
            _check_cycle(doc, node, part, text, value)
        else:
            set_text(part, repr(value))


def _check_cycle(doc: AnalysedDocument, node: etree._Element, part: etree._Element, text: str, value: str) -> None:
    match = _ISO_CYCLE.match(value)
    if not match or not (_ISO_DURATION.match(match.group(2).split("/")[-1])):
        doc.problem(
            "timer-value", "cannot_run", node, f"its timeCycle {text!r} is not an ISO 8601 repetition such as R3/PT10M"
        )
    elif not match.group(1):
        doc.problem(
            "timer-repetitions",
            "over_budget",
            node,
            f"its timeCycle {text!r} repeats without end; give a count of at most "
            f"{MAX_TIMER_REPETITIONS} (R{MAX_TIMER_REPETITIONS}/...)",
        )
    elif _too_big(match.group(1), MAX_TIMER_REPETITIONS):
        doc.problem(
            "timer-repetitions",
            "over_budget",
            node,
            f"its timeCycle repeats {_shown_number(match.group(1))} times; the limit is {MAX_TIMER_REPETITIONS}",
        )
    else:
        set_text(part, repr(value))


def check_multi_instance(doc: AnalysedDocument, node: etree._Element, loop: etree._Element) -> None:
    cardinality = loop.find(f"{_M}loopCardinality")
    text = text_of(cardinality) if cardinality is not None else ""
    if not text and loop.find(f"{_M}loopDataInputRef") is None:
        doc.problem(
            "multi-instance",
            "cannot_run",
            node,
            "its multi-instance marker sets neither loopCardinality nor loopDataInputRef (a Zeebe "
            "inputCollection is not supported); give a loopCardinality such as 3",
        )
        return
    if not text:
        return
    literal = text.strip("=\"' ")
    if re.fullmatch(r"\+?\d+", literal):
        if _too_big(literal, MAX_LOOP_CARDINALITY):
            doc.problem(
                "loop-cardinality",
                "over_budget",
                node,
                f"its loopCardinality {_shown_number(literal)} is over the limit of {MAX_LOOP_CARDINALITY:,} instances",
            )
        else:
            set_text(cardinality, str(int(literal)))  # "3" or =3 as written: the number 3 for the engine
        return
    language = language_of(text, cardinality.get("language"), doc.default_language)
    try:
        compile_condition(text, language)
    except UnsafeExpression as exc:
        doc.problem("loop-cardinality", "unsafe_expression", node, f"its loopCardinality is refused: {exc}")
        return
    cardinality.text = translate(text, language)


def _too_big(digits: str, limit: int) -> bool:
    # Length first: int() of thousands of digits is slow, and refused past 4,300 digits.
    digits = digits.lstrip("+").lstrip("0") or "0"
    return len(digits) > len(str(limit)) or int(digits) > limit


def _shown_number(digits: str) -> str:
    digits = digits.lstrip("+").lstrip("0") or "0"
    return f"{int(digits):,}" if len(digits) <= 18 else f"of {len(digits):,} digits"
