"""Reading BPMN elements: the namespaces, the kinds of flow node the engine knows, and small readers
(an element's local name, its text, a flow's condition) that the analysis, the specs and the diff share.

A pure library: lxml only.
"""

from __future__ import annotations

import re

from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
_M = f"{{{BPMN_NS}}}"

# Flow nodes SpiffWorkflow (and so sharlite) can build; businessRuleTask runs like a service task.
RUNNABLE_NODES = frozenset(
    {
        "startEvent",
        "endEvent",
        "intermediateCatchEvent",
        "intermediateThrowEvent",
        "boundaryEvent",
        "task",
        "userTask",
        "manualTask",
        "serviceTask",
        "sendTask",
        "receiveTask",
        "businessRuleTask",
        "scriptTask",
        "callActivity",
        "subProcess",
        "transaction",
        "adHocSubProcess",
        "exclusiveGateway",
        "inclusiveGateway",
        "parallelGateway",
        "eventBasedGateway",
    }
)
CONTAINERS = frozenset({"subProcess", "transaction", "adHocSubProcess"})
AUTOMATIC_TASKS = ("task", "serviceTask", "sendTask", "businessRuleTask")


def local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def is_bpmn(el: etree._Element) -> bool:
    return isinstance(el.tag, str) and etree.QName(el).namespace == BPMN_NS


def is_executable(process: etree._Element) -> bool:
    """SpiffWorkflow's reading (and so sharlite's): absent means executable."""
    return (process.get("isExecutable") or "true").strip().lower() in ("true", "1")


DRAWN_AS = "{urn:sharboard:analysis}drawnAs"  # the tag an element had before the analysis replaced it
OUTPUT_SOURCE = "{urn:sharboard:analysis}source"  # an output mapping's source, translated for the evaluator


TIMER_PARTS = ("timeDate", "timeDuration", "timeCycle")
NO_CONDITION = re.compile(r"^[$#]\{\s*\}$|^=$")


def text_of(el: etree._Element) -> str:
    """The element's text as written (its children's text included), stripped."""
    return "".join(t for t in el.itertext() if isinstance(t, str)).strip()


def written_condition(flow: etree._Element) -> str | None:
    """A sequence flow's condition as written, or None when it has none (an empty one, even ``${}``
    or ``=``, is no condition): what the engine and a version diff both read."""
    condition = flow.find(f"{_M}conditionExpression")
    if condition is None:
        return None
    text = text_of(condition)
    return text if NO_CONDITION.sub("", text).strip() else None


def set_text(el: etree._Element, text: str) -> None:
    """Replace what `el` holds with `text` in the prepared copy (what the engine evaluates)."""
    for child in list(el):
        el.remove(child)
    el.text = text
