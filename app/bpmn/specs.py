"""Building SpiffWorkflow specs from an analysed document: the last step of the one verdict.

The upload validator builds them too (and throws them away), so a file accepted at upload is a
file sharlite deploys: the same code runs in both. Anything SpiffWorkflow still refuses after
the analysis becomes a Finding that points at the element, with object reprs and Python
exception names removed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser, full_tag
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.defaults import NoneTask

from app.bpmn.document import Finding
from app.bpmn.elements import AUTOMATIC_TASKS, BPMN_NS, OUTPUT_SOURCE, ZEEBE_NS, local

_REPR = re.compile(r"<Element \{[^}]*\}(\w+) at 0x[0-9a-fA-F]+>")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


class _AutomaticTaskParser(TaskParser):
    """Service and business-rule tasks: none-tasks the engine completes as if a worker answered."""


_OVERRIDES = {
    full_tag("serviceTask"): (_AutomaticTaskParser, NoneTask),
    full_tag("businessRuleTask"): (_AutomaticTaskParser, NoneTask),
}
_splitting: dict[type, type] = {}


def _splitting_parser(base: type) -> type:
    """The same parser, allowing several (unconditional) outgoing flows: BPMN's implicit split."""
    if base not in _splitting:
        _splitting[base] = type(f"Splitting{base.__name__}", (base,), {"handles_multiple_outgoing": lambda self: True})
    return _splitting[base]


class SharliteParser(BpmnParser):
    OVERRIDE_PARSER_CLASSES = _OVERRIDES

    def _get_parser_class(self, tag: str) -> tuple[Any, Any]:
        parser_class, spec_class = super()._get_parser_class(tag)
        if parser_class is not None and issubclass(parser_class, TaskParser):
            parser_class = _splitting_parser(parser_class)
        return parser_class, spec_class


@dataclass(frozen=True)
class BuiltProcess:
    process_id: str
    spec: Any
    subprocess_specs: dict[str, Any]


class SpecsRefused(ValueError):
    def __init__(self, findings: list[Finding]) -> None:
        super().__init__("; ".join(f.describe() for f in findings))
        self.findings = findings


def build_specs(prepared: etree._Element, process_ids: list[str]) -> dict[str, BuiltProcess]:
    """Specs of every executable process; raises SpecsRefused pointing at what SpiffWorkflow refused."""
    parser = SharliteParser()
    built: dict[str, BuiltProcess] = {}
    process_id: str | None = None
    try:
        parser.add_bpmn_xml(prepared, filename="upload.bpmn")
        for process_id in process_ids:
            built[process_id] = BuiltProcess(
                process_id, parser.get_spec(process_id), parser.get_subprocess_specs(process_id)
            )
    except ValidationException as exc:
        raise SpecsRefused([_from_validation(exc, prepared, process_id or next(iter(process_ids), None))]) from None
    except RecursionError:
        raise SpecsRefused([Finding("engine", "cannot_run", "process", process_id, None, None, TOO_DEEP)]) from None
    except Exception as exc:  # noqa: BLE001 - Spiff raises many kinds; all mean "cannot build this"
        # Pointed at the process being built (the first one while the file is read), never at <definitions>.
        process_id = process_id or next(iter(process_ids), None)
        process = next((el for el in prepared.iter(f"{{{BPMN_NS}}}process") if el.get("id") == process_id), None)
        raise SpecsRefused(
            [
                Finding(
                    "engine",
                    "cannot_run",
                    "process",
                    process_id,
                    None,
                    process.sourceline if process is not None else None,
                    f"the engine cannot build this process: {clean(str(exc)) or 'no detail'}",
                )
            ]
        ) from None
    return built


def output_mappings(prepared: etree._Element) -> dict[str, tuple[tuple[str, str], ...]]:
    """Zeebe output mappings checked by the analysis: element id -> ((translated source, target), ...)."""
    found: dict[str, tuple[tuple[str, str], ...]] = {}
    for mapping in prepared.iter(f"{{{ZEEBE_NS}}}ioMapping"):
        owner = mapping.getparent().getparent() if mapping.getparent() is not None else None
        pairs = tuple(
            (o.get(OUTPUT_SOURCE), o.get("target"))
            for o in mapping.findall(f"{{{ZEEBE_NS}}}output")
            if o.get(OUTPUT_SOURCE) is not None
        )
        if owner is not None and owner.get("id") and pairs:
            found[owner.get("id")] = pairs
    return found


def automatic_task_ids(prepared: etree._Element) -> frozenset[str]:
    return frozenset(
        el.get("id") for tag in AUTOMATIC_TASKS for el in prepared.iter(f"{{{BPMN_NS}}}{tag}") if el.get("id")
    )


# SpiffWorkflow's texts that speak of its own code, in plain words (its parser bugs included: a
# reference to an undeclared signal raises a TypeError about its raise_validation_exception).
_SPIFF_WORDS = (
    (
        re.compile(r"Unsupported Catch Event", re.S),
        "the engine cannot catch this event; give it a timer, message, signal, error, escalation, conditional or "
        "cancel definition",
    ),
    (
        re.compile(r"raise_validation_exception\(\) got an unexpected keyword argument", re.S),
        "it refers to a message, signal, error or escalation this file does not declare; declare it or fix the ref",
    ),
)
_RAW_XML = re.compile(r"b?(['\"])<[^>]*>.*?\1|<\w[^<>]*>.*?</[\w:]+>|%r['\"]?,?\s*", re.S)
_EXCEPTION = re.compile(r"\b[A-Z]\w*(?:Error|Exception)\((['\"]?)(.*?)\1\)", re.S)
_EXCEPTION_PREFIX = re.compile(r"\b[A-Z]\w*(?:Error|Exception): ")
TOO_DEEP = (
    "the flow is chained or nested too deeply for the engine to build (a few hundred elements in a row); "
    "split it into sub-processes or call activities"
)


def clean(text: str) -> str:
    """A Spiff message without object reprs, addresses or Python exception names."""
    if "maximum recursion depth" in text:
        return TOO_DEEP
    for pattern, words in _SPIFF_WORDS:
        if pattern.search(text):
            return words
    text = _REPR.sub(lambda m: f"<{m.group(1)}>", text)
    text = _EXCEPTION.sub(lambda m: m.group(2), text)
    text = _EXCEPTION_PREFIX.sub("", text)
    text = _RAW_XML.sub("", text)  # a copy of the element's XML: the finding already points at it
    return _ADDRESS.sub("", text).strip().rstrip(".")


def _from_validation(exc: ValidationException, prepared: etree._Element, process_id: str | None) -> Finding:
    element_id = getattr(exc, "id", "") or None
    tag = (getattr(exc, "tag", "") or "").removeprefix("bpmn:")
    if not element_id:  # a refusal naming no element points at the process, never at <definitions>
        element_id, tag = process_id, "process"
    line = None
    if element_id:
        match = next((el for el in prepared.iter() if isinstance(el.tag, str) and el.get("id") == element_id), None)
        line = match.sourceline if match is not None else None
        tag = tag or (local(match) if match is not None else "process")
    message = clean(str(exc.args[0]) if exc.args else str(exc))
    if message.startswith("Multiple outgoing flows are not supported for tasks of type"):
        message = "several outgoing flows are not supported here; join them with a gateway"
    return Finding(
        "engine",
        "cannot_run",
        tag,
        element_id,
        getattr(exc, "name", "") or None,
        line,
        f"the engine cannot run this: {message}",
    )
