"""Messages and events: shared event definitions inlined, the signals a file throws, the waits a
signal or message catch makes (``message_waits``, ``message_starts``), and names given to unnamed
messages and signals in the prepared copy.

A pure library: lxml only.
"""

from __future__ import annotations

import copy

from lxml import etree

from app.bpmn.document import AnalysedDocument
from app.bpmn.elements import BPMN_NS, is_bpmn, local, text_of

_M = f"{{{BPMN_NS}}}"
# Where a message can be waited for: what a messageEventDefinition (or a receive task) makes wait.
MESSAGE_CATCHERS = frozenset({"startEvent", "intermediateCatchEvent", "boundaryEvent", "receiveTask"})


def inline_definition_refs(doc: AnalysedDocument) -> None:
    """An event may point at a shared definition (``<eventDefinitionRef>``) instead of holding its
    own; SpiffWorkflow reads only inline ones (the event would pass straight through, or never
    start), so the prepared copy holds a copy of the definition in its place and every check applies."""
    for ref in list(doc.root.iter(f"{_M}eventDefinitionRef")):
        event, target_id = ref.getparent(), text_of(ref)
        target = doc.by_id.get(target_id)
        if target is None or not is_bpmn(target) or not local(target).endswith("EventDefinition"):
            doc.problem(
                "event-ref",
                "cannot_run",
                event,
                f"its eventDefinitionRef {target_id or '(empty)'} names no event definition of this "
                "file; put the definition inside the event",
            )
            event.remove(ref)
            continue
        inline = copy.deepcopy(target)
        inline.attrib.pop("id", None)  # ids stay unique: the shared definition keeps its own
        event.replace(ref, inline)


def thrown_signals(doc: AnalysedDocument) -> set[str]:
    """The signals some throw or end event of the file throws (by name, as SpiffWorkflow matches them)."""
    thrown = set()
    for event in doc.root.iter(f"{_M}intermediateThrowEvent", f"{_M}endEvent"):
        for definition in event.findall(f"{_M}signalEventDefinition"):
            thrown.add(signal_name(doc, definition, event))
    return thrown


def signal_name(doc: AnalysedDocument, definition: etree._Element, event: etree._Element) -> str:
    ref = definition.get("signalRef")
    signal = doc.by_id.get(ref or "")
    if signal is not None:
        return signal.get("name") or ref or ""
    return event.get("name") or ""


def check_signal_catch(doc: AnalysedDocument, node: etree._Element) -> None:
    """A catch event waiting for a signal nothing throws would wait for ever: sharlite cannot send
    one. After an event-based gateway another branch may fire, so only a lone wait is refused."""
    definition = node.find(f"{_M}signalEventDefinition")
    if definition is None:
        return
    if definition.get("signalRef") and definition.get("signalRef") not in doc.by_id:
        return  # refused as event-ref already
    name = signal_name(doc, definition, node)
    # By the flows' targetRef, as the engine reads them: <incoming> children are optional in BPMN.
    sources = [
        doc.by_id.get(flow.get("sourceRef") or "")
        for flow in doc.root.iter(f"{_M}sequenceFlow")
        if node.get("id") and flow.get("targetRef") == node.get("id")
    ]
    after_choice = any(s is not None and local(s) == "eventBasedGateway" for s in sources)
    if name not in doc.thrown_signals and not after_choice:
        doc.problem(
            "signal-catch",
            "cannot_run",
            node,
            f"it waits for signal {name or '(unnamed)'}, which nothing in this file throws and "
            "sharlite cannot send: an instance would wait here for ever; throw the signal in "
            "this process or wait for a message instead",
        )


def waits_for_message(doc: AnalysedDocument, node: etree._Element, holder: etree._Element) -> None:
    """Record the message `node` waits for; one without a messageRef (a receive task that would
    otherwise pass straight through) waits for a message named after it (its name, else its id)."""
    ref = holder.get("messageRef")
    if ref:
        name = doc.messages[ref].get("name") or ref
    else:
        name = " ".join((node.get("name") or "").split()) or node.get("id") or ""
        ref = f"sharboard_message_{node.get('id')}"
        if ref not in doc.messages:  # by id, never in a path: an id may hold any character, as ']
            message = etree.Element(f"{_M}message", id=ref, name=name)
            doc.root.insert(0, message)
            doc.messages[ref] = message
        holder.set("messageRef", ref)
    if node.get("id"):
        doc.result.message_waits[node.get("id")] = name
    parent = node.getparent()
    if local(node) == "startEvent" and parent is not None and local(parent) == "process" and parent.get("id"):
        starts = doc.result.message_starts.setdefault(parent.get("id"), [])
        if name not in starts:
            starts.append(name)


def name_unnamed(doc: AnalysedDocument) -> None:
    """A message or signal without a name is named by its id in the prepared copy: SpiffWorkflow
    fails on a missing name, and a message's waits (message_waits) already use the id."""
    for el in doc.root.iter(f"{_M}message", f"{_M}signal"):
        if not (el.get("name") or "").strip() and el.get("id"):
            el.set("name", el.get("id"))


# What may follow an event-based gateway: what waits for an event (BPMN's rule), and the events
# sharlite can run there.
_GATEWAY_FOLLOWERS = frozenset({"intermediateCatchEvent", "receiveTask"})
_CATCHABLE = frozenset(
    {"messageEventDefinition", "timerEventDefinition", "signalEventDefinition", "conditionalEventDefinition"}
)


def check_event_gateway(doc: AnalysedDocument, node: etree._Element, flows: list[etree._Element]) -> None:
    """An event-based gateway waits with the catch events after it: Spiff moves their event
    definitions onto the gateway's own task. Refused: a flow to anything else (Spiff fails on it, or
    waits there for nothing), more than one timer (the gateway keeps one due time, so the later timer
    would fire with the earlier), a timeCycle (it never fires there), and only signals nothing throws."""
    targets = [doc.by_id.get(flow.get("targetRef") or "") for flow in flows]
    followers = [t for t in targets if t is not None]
    for target in followers:
        if local(target) not in _GATEWAY_FOLLOWERS or not _waits_for_event(target):
            doc.problem(
                "event-gateway",
                "cannot_run",
                node,
                f"its flow to {local(target)} {target.get('id')} leads to no event to wait for: every flow "
                "out of an event-based gateway must lead to an intermediate catch event (message, timer, "
                "signal or condition) or a receive task",
            )
            return
    timers = [t for t in followers if t.find(f"{_M}timerEventDefinition") is not None]
    if len(timers) > 1:
        doc.problem(
            "event-gateway",
            "cannot_run",
            node,
            f"it is followed by {len(timers)} timers ({', '.join(t.get('id') or '' for t in timers)}); the "
            "engine keeps one due time per event-based gateway, so the later timer would fire with the "
            "earlier: keep one timer after the gateway",
        )
    for timer in timers:
        if timer.find(f"{_M}timerEventDefinition/{_M}timeCycle") is not None:
            doc.problem(
                "event-gateway",
                "cannot_run",
                timer,
                f"it follows event-based gateway {node.get('id')} with a timeCycle, which the engine never "
                "fires there; give it a timeDuration or timeDate",
            )
    if followers and all(_unthrown_signal(doc, t) for t in followers):
        doc.problem(
            "signal-catch",
            "cannot_run",
            node,
            "every flow out of it waits for a signal nothing in this file throws, and sharlite cannot send "
            "one: an instance would wait here for ever; throw the signal in this process or wait for a message",
        )


def _waits_for_event(target: etree._Element) -> bool:
    return local(target) == "receiveTask" or any(is_bpmn(c) and local(c) in _CATCHABLE for c in target)


def _unthrown_signal(doc: AnalysedDocument, target: etree._Element) -> bool:
    definition = target.find(f"{_M}signalEventDefinition")
    return definition is not None and signal_name(doc, definition, target) not in doc.thrown_signals
