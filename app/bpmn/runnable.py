"""What can run: every executable process and sub-process is walked node by node (start events,
flow ends, gateway conditions, supported elements, call activities), handing each node's timers,
loops, event references, message waits and output mappings to the checks that own them, and its
flows to the check of loops (app.bpmn.loops).

A pure library: lxml only.
"""

from __future__ import annotations

from lxml import etree

from app.bpmn.document import AnalysedDocument
from app.bpmn.elements import BPMN_NS, CONTAINERS, RUNNABLE_NODES, ZEEBE_NS, is_bpmn, local, written_condition
from app.bpmn.events import (
    MESSAGE_CATCHERS,
    check_event_gateway,
    check_signal_catch,
    signal_name,
    waits_for_message,
)
from app.bpmn.loops import check_loops
from app.bpmn.safety import check_expression, check_output
from app.bpmn.timers_and_loops import check_multi_instance, check_timer

_M = f"{{{BPMN_NS}}}"
_DATA = frozenset({"dataObject", "dataObjectReference", "dataStoreReference", "dataInput", "dataOutput"})
# What an event definition's reference must name: definition tag -> (attribute, declaration tag).
_EVENT_REFS = {
    "signalEventDefinition": ("signalRef", "signal"),
    "errorEventDefinition": ("errorRef", "error"),
    "escalationEventDefinition": ("escalationRef", "escalation"),
}
_CONDITIONAL_GATEWAYS = frozenset({"exclusiveGateway", "inclusiveGateway"})


def check_container(doc: AnalysedDocument, container: etree._Element, *, top: bool) -> None:
    nodes = [c for c in container if is_bpmn(c)]
    _check_starts(doc, container, [c for c in nodes if local(c) == "startEvent"], top=top)
    outgoing = _outgoing_flows(doc, nodes)
    for node in nodes:
        kind = local(node)
        if (
            kind
            in (
                "sequenceFlow",
                "incoming",
                "outgoing",
                "laneSet",
                "extensionElements",
                "documentation",
                "ioSpecification",
                "property",
                "dataObject",
                "dataObjectReference",
            )
            or kind in _DATA
        ):
            continue
        if kind not in RUNNABLE_NODES:
            if (
                kind in ("complexGateway",)
                or kind.endswith(("Choreography", "choreographyTask"))
                or kind in ("callChoreography", "implicitThrowEvent")
            ):
                doc.problem(
                    "unsupported-element",
                    "cannot_run",
                    node,
                    f"{kind} is not supported by the engine; redraw it with exclusive, inclusive "
                    "or parallel gateways and tasks",
                )
            continue
        if not node.get("id"):
            doc.problem("missing-id", "missing_id", node, "the element has no id; give it one")
            continue
        _check_node(doc, node, outgoing.get(node.get("id"), []))
        if kind in CONTAINERS:
            check_container(doc, node, top=False)
    check_loops(doc, nodes, outgoing)


def _check_starts(doc: AnalysedDocument, container: etree._Element, starts: list[etree._Element], *, top: bool) -> None:
    if top and not starts:
        doc.problem(
            "no-start-event",
            "cannot_run",
            container,
            "the process has no start event; add one where instances begin, or mark the process "
            'isExecutable="false" to keep it as a diagram',
        )
    signals = [s.find(f"{_M}signalEventDefinition") for s in starts]
    if top and starts and all(definition is not None for definition in signals):
        doc.problem(
            "signal-start",
            "cannot_run",
            starts[0],
            f"the process starts only by signal {signal_name(doc, signals[0], starts[0])}, which "
            "sharlite cannot send, so no instance could start; add a none start event, use a message "
            'start event, or mark the process isExecutable="false"',
        )
    if (
        not top
        and container.get("triggeredByEvent") != "true"
        and local(container) != "adHocSubProcess"
        and len(starts) != 1
    ):
        doc.problem(
            "subprocess-start",
            "cannot_run",
            container,
            f"an expanded sub-process needs exactly one start event; it has {len(starts)}",
        )


def _outgoing_flows(doc: AnalysedDocument, nodes: list[etree._Element]) -> dict[str, list[etree._Element]]:
    """Each node's outgoing flows by its id; a flow whose end is not beside it is a problem."""
    flows = [c for c in nodes if local(c) == "sequenceFlow"]
    ids_here = {c.get("id") for c in nodes if c.get("id")}
    outgoing: dict[str, list[etree._Element]] = {}
    for flow in flows:
        for end in ("sourceRef", "targetRef"):
            ref = flow.get(end)
            if not ref or ref not in ids_here:
                doc.problem(
                    "flow-ends",
                    "cannot_run",
                    flow,
                    f"its {end} {ref or '(missing)'} is not an element of the same process "
                    "or sub-process; connect it to an element beside it",
                )
        outgoing.setdefault(flow.get("sourceRef") or "", []).append(flow)
    return outgoing


def _check_node(doc: AnalysedDocument, node: etree._Element, flows: list[etree._Element]) -> None:
    kind = local(node)
    _check_flow_conditions(doc, node, kind, flows)
    for timer in node.findall(f"{_M}timerEventDefinition"):  # direct: a sub-process's own are checked inside
        check_timer(doc, node, timer)
    for loop in node.findall(f"{_M}multiInstanceLoopCharacteristics"):
        check_multi_instance(doc, node, loop)
    for tag, (attribute, declared) in _EVENT_REFS.items():
        for definition in node.findall(f"{_M}{tag}"):
            ref = definition.get(attribute)
            if ref and (ref not in doc.by_id or local(doc.by_id[ref]) != declared):
                doc.problem(
                    "event-ref",
                    "cannot_run",
                    node,
                    f"its {attribute} {ref} names no <{declared}> of this file; declare it or fix the ref",
                )
    if kind == "intermediateCatchEvent":
        check_signal_catch(doc, node)
    if kind == "eventBasedGateway":
        check_event_gateway(doc, node, flows)
    _check_message_refs(doc, node, kind)
    if kind == "callActivity":
        _check_call(doc, node)
    for output in node.findall(f"{_M}extensionElements/{{{ZEEBE_NS}}}ioMapping/{{{ZEEBE_NS}}}output"):
        check_output(doc, node, output)


def _check_flow_conditions(doc: AnalysedDocument, node: etree._Element, kind: str, flows: list[etree._Element]) -> None:
    """Conditions on the flows leaving a node: needed from a conditional gateway, refused elsewhere."""
    default = node.get("default")
    if kind in _CONDITIONAL_GATEWAYS:
        for flow in flows:
            text = _condition_text(doc, flow)
            if text is None:
                if len(flows) > 1 and flow.get("id") != default:
                    doc.problem(
                        "gateway-condition",
                        "cannot_run",
                        flow,
                        f"leaves gateway {node.get('id')} without a condition and is not its "
                        "default flow; add a condition or make it the default",
                    )
                continue
            check_expression(doc, flow, flow.find(f"{_M}conditionExpression"), "condition")
    elif kind != "eventBasedGateway":
        for flow in flows:
            if _condition_text(doc, flow) is not None:
                doc.problem(
                    "conditional-flow",
                    "cannot_run",
                    flow,
                    f"a condition on a flow leaving {kind} {node.get('id')} is not supported; "
                    "put an exclusive gateway after the element and move the condition there",
                )


def _check_message_refs(doc: AnalysedDocument, node: etree._Element, kind: str) -> None:
    """Each messageRef names a declared message; what catches a message is checked for waiting on it."""
    for definition in node.findall(f"{_M}messageEventDefinition"):
        ref = definition.get("messageRef")
        if ref and ref not in doc.messages:
            doc.problem(
                "message-ref",
                "cannot_run",
                node,
                f"its messageRef {ref} names no <message> of this file; declare it or fix the ref",
            )
        elif kind in MESSAGE_CATCHERS:
            waits_for_message(doc, node, definition)
    if kind == "receiveTask" and node.get("messageRef") and node.get("messageRef") not in doc.messages:
        doc.problem(
            "message-ref",
            "cannot_run",
            node,
            f"its messageRef {node.get('messageRef')} names no <message> of this file",
        )
    elif kind == "receiveTask" and node.find(f"{_M}messageEventDefinition") is None:
        waits_for_message(doc, node, node)


def _condition_text(doc: AnalysedDocument, flow: etree._Element) -> str | None:
    """The condition as written, or None (an empty one, even ``${}``, is removed: no condition)."""
    text = written_condition(flow)
    condition = flow.find(f"{_M}conditionExpression")
    if text is None and condition is not None:
        flow.remove(condition)  # the engine sees no condition either
    return text


def _check_call(doc: AnalysedDocument, node: etree._Element) -> None:
    called = node.get("calledElement")
    zeebe = node.find(f"{_M}extensionElements/{{{ZEEBE_NS}}}calledElement")
    if not called and zeebe is not None:
        called = zeebe.get("processId")
        if called:
            node.set("calledElement", called)  # Spiff reads only the attribute
    if not called:
        doc.problem(
            "call-activity",
            "cannot_run",
            node,
            "the call activity names no process; set calledElement to a process id of this file",
        )
    elif called not in doc.process_ids:
        doc.problem(
            "call-activity",
            "cannot_run",
            node,
            f"it calls process {called!r}, which is not in this file; upload one file holding both",
        )
