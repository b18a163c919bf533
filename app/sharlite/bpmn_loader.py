"""Turning uploaded BPMN into SpiffWorkflow specs, safely and under sharlite's policy:
no DTDs or entities, no script tasks, and only conditions the restricted evaluator accepts."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser, full_tag
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.defaults import NoneTask

from app.sharlite.expressions import UnsafeExpression, compile_expression

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


class RefusedBpmn(ValueError):
    """The engine will not run this BPMN; the message says why."""


@dataclass(frozen=True)
class LoadedProcess:
    process_id: str
    spec: Any
    subprocess_specs: dict[str, Any]
    # Service tasks and plain tasks: they complete by themselves (after the optional delay).
    automatic_task_ids: frozenset[str]


class _Parser(BpmnParser):
    # Plain BPMN service tasks call nothing here; parsed as none-tasks (which Spiff can
    # serialize), the engine completes them itself after its optional delay.
    OVERRIDE_PARSER_CLASSES = {full_tag("serviceTask"): (TaskParser, NoneTask)}


def load(bpmn_xml: str) -> LoadedProcess:
    """Check `bpmn_xml` and build the spec of its first executable process (or its first process)."""
    root = _parse_safely(bpmn_xml)
    _check_policy(root)
    processes = root.findall(f"{{{BPMN_NS}}}process")
    if not processes:
        raise RefusedBpmn("the definitions hold no process")
    chosen = next((p for p in processes if p.get("isExecutable") == "true"), processes[0])
    parser = _Parser()
    try:
        parser.add_bpmn_xml(root, filename="upload.bpmn")
        spec = parser.get_spec(chosen.get("id"))
        subprocesses = parser.get_subprocess_specs(chosen.get("id"))
    except ValidationException as exc:
        raise RefusedBpmn(f"the engine cannot run this process: {exc}") from None
    except Exception as exc:  # Spiff raises many kinds; all mean "cannot run this"
        raise RefusedBpmn(f"the engine cannot run this process: {exc.__class__.__name__}: {exc}") from None
    automatic = frozenset(el.get("id") for tag in ("serviceTask", "task", "sendTask")
                          for el in root.iter(f"{{{BPMN_NS}}}{tag}"))
    return LoadedProcess(chosen.get("id"), spec, subprocesses, automatic)


def _parse_safely(bpmn_xml: str) -> etree._Element:
    if "<!DOCTYPE" in bpmn_xml or "<!ENTITY" in bpmn_xml:
        raise RefusedBpmn("DOCTYPE and entity declarations are not allowed")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                             remove_comments=True)
    try:
        root = etree.fromstring(bpmn_xml.encode("utf-8"), parser)
    except etree.XMLSyntaxError as exc:
        raise RefusedBpmn(f"not well-formed XML: {exc}") from None
    if root.tag != f"{{{BPMN_NS}}}definitions":
        raise RefusedBpmn(f"the root element is {root.tag}, not BPMN 2.0 definitions")
    return root


def _check_policy(root: etree._Element) -> None:
    scripts = [el.get("id", "?") for el in root.iter(f"{{{BPMN_NS}}}scriptTask")]
    if scripts:
        raise RefusedBpmn(f"script tasks are not allowed: {', '.join(scripts)}")
    for flow in root.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        condition = flow.find(f"{{{BPMN_NS}}}conditionExpression")
        if condition is None or not (condition.text or "").strip():
            continue
        try:
            compile_expression(condition.text)
        except UnsafeExpression as exc:
            raise RefusedBpmn(f"condition of flow {flow.get('id', '?')} is refused: {exc}") from None
