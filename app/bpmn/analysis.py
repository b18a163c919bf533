"""One analysis of what a BPMN file can run: used by the upload validator and by sharlite.

``analyse(root)`` reads a parsed ``definitions`` element and returns:

- ``problems``: what stops an executable process from running (each names the element's tag, id,
  name, line, and what to change); the upload is refused with all of them (capped);
- ``shar_warnings``: what SHAR's own parser would refuse although sharlite can run it
  (rules from SHAR's ``client/parser``, see docs/bpmn-profile.md);
- ``not_executed``: what a modeller drew that does not affect execution and is ignored;
- ``processes``: every process (pool) with its executable flag;
- ``prepared``: a copy of the document with the ignored constructs removed and conditions
  rewritten into the evaluator's language: what the engine builds its specs from.

A pure library: lxml only (no Flask, no database, no engine).
"""
from __future__ import annotations

import ast
import copy
import re
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from app.bpmn.expressions import (
    EMPTY_FUNCTION,
    LITERAL_NAMES,
    UnsafeExpression,
    compile_condition,
    language_of,
    translate,
)

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
_M = f"{{{BPMN_NS}}}"

MAX_PROBLEMS = 20
MAX_LOOP_CARDINALITY = 1000
MAX_TIMER_REPETITIONS = 100

# Flow nodes SpiffWorkflow (and so sharlite) can build; businessRuleTask runs like a service task.
RUNNABLE_NODES = frozenset({
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "task", "userTask", "manualTask", "serviceTask", "sendTask", "receiveTask", "businessRuleTask",
    "scriptTask", "callActivity", "subProcess", "transaction", "adHocSubProcess",
    "exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway",
})
CONTAINERS = frozenset({"subProcess", "transaction", "adHocSubProcess"})
AUTOMATIC_TASKS = ("task", "serviceTask", "sendTask", "businessRuleTask")
_DATA = frozenset({"dataObject", "dataObjectReference", "dataStoreReference", "dataInput", "dataOutput"})
_NOT_EXECUTED = {"textAnnotation": "a text annotation", "association": "an association",
                 "group": "a group", "dataStoreReference": "a data store reference",
                 "dataStore": "a data store"}
_MESSAGE_CATCHERS = frozenset({"startEvent", "intermediateCatchEvent", "boundaryEvent", "receiveTask"})
# What an event definition's reference must name: definition tag -> (attribute, declaration tag).
_EVENT_REFS = {"signalEventDefinition": ("signalRef", "signal"), "errorEventDefinition": ("errorRef", "error"),
               "escalationEventDefinition": ("escalationRef", "escalation")}
_CONDITIONAL_GATEWAYS = frozenset({"exclusiveGateway", "inclusiveGateway"})
# Expressions the engine evaluates besides flow conditions and cardinalities, by tag.
_OTHER_EXPRESSIONS = {"completionCondition": "completion condition", "loopCondition": "loop condition",
                      "condition": "condition"}
_NATS_SAFE = re.compile(r"\A[-/_=.a-zA-Z0-9]+\Z")
_ISO_DURATION = re.compile(r"^P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_ISO_CYCLE = re.compile(r"^R(\d*)/(.+)$")


@dataclass(frozen=True)
class Finding:
    """One reason, pointing at one element. ``rule`` names it; ``message`` says what to change."""

    rule: str
    code: str
    tag: str
    element_id: str | None
    name: str | None
    line: int | None
    message: str

    def describe(self) -> str:
        where = f"<{self.tag}>"
        if self.element_id:
            where += f' "{self.element_id}"'
        if self.name:
            where += f' ("{" ".join(self.name.split())}")'
        if self.line:
            where += f" at line {self.line}"
        return f"{where}: {self.message} [{self.rule}]"

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "element_id": self.element_id, "tag": self.tag, "name": self.name,
                "line": self.line, "message": self.describe()}


@dataclass
class Analysis:
    processes: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)
    shar_warnings: list[Finding] = field(default_factory=list)
    not_executed: list[dict[str, Any]] = field(default_factory=list)
    # Where an instance waits for a message: element id -> the message name to deliver there.
    message_waits: dict[str, str] = field(default_factory=dict)
    # The messages that start each process (its top-level message start events): process id -> names.
    message_starts: dict[str, list[str]] = field(default_factory=dict)
    prepared: etree._Element | None = None

    @property
    def executable_ids(self) -> list[str]:
        return [p["id"] for p in self.processes if p["executable"]]


def local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def is_bpmn(el: etree._Element) -> bool:
    return isinstance(el.tag, str) and etree.QName(el).namespace == BPMN_NS


def is_executable(process: etree._Element) -> bool:
    """SpiffWorkflow's reading (and so sharlite's): absent means executable."""
    return (process.get("isExecutable") or "true").strip().lower() in ("true", "1")


_DRAWN_AS = "{urn:sharboard:analysis}drawnAs"  # the tag an element had before the analysis replaced it
OUTPUT_SOURCE = "{urn:sharboard:analysis}source"  # an output mapping's source, translated for the evaluator


TIMER_PARTS = ("timeDate", "timeDuration", "timeCycle")
_NO_CONDITION = re.compile(r"^[$#]\{\s*\}$|^=$")


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
    return text if _NO_CONDITION.sub("", text).strip() else None


def finding(rule: str, code: str, el: etree._Element, message: str) -> Finding:
    return Finding(rule=rule, code=code, tag=el.get(_DRAWN_AS) or local(el) or str(el.tag), element_id=el.get("id"),
                   name=el.get("name"), line=el.sourceline, message=message)


def analyse(root: etree._Element) -> Analysis:
    """The verdict on a parsed ``definitions`` element (see the module docstring)."""
    return _Analyser(root).run()


class _Analyser:
    def __init__(self, root: etree._Element) -> None:
        self.root = copy.deepcopy(root)  # the prepared copy: edited in place; lines are kept
        self.result = Analysis(prepared=self.root)
        self.by_id: dict[str, etree._Element] = {}
        for el in self.root.iter():
            if isinstance(el.tag, str) and el.get("id"):
                self.by_id.setdefault(el.get("id"), el)
        self.default_language = self.root.get("expressionLanguage")
        self.messages = {m.get("id"): m for m in self.root.findall(f"{_M}message")}
        self.thrown_signals: set[str] = set()  # filled once shared event definitions are inlined
        self.process_ids = {p.get("id") for p in self.root.findall(f"{_M}process") if p.get("id")}
        # Conditions as written, by flow id: the prepared copy holds them translated.
        self.written: dict[str, str] = {}
        for condition in self.root.iter(f"{_M}conditionExpression"):
            flow = condition.getparent()
            if flow is not None and flow.get("id"):
                self.written[flow.get("id")] = text_of(condition)

    def run(self) -> Analysis:
        pools = {p.get("processRef"): p.get("name") for p in self.root.iter(f"{_M}participant")
                 if p.get("processRef")}
        for process in self.root.findall(f"{_M}process"):
            # The engine reads only "true"; the xsd boolean's other spellings are normalised for it.
            process.set("isExecutable", "true" if is_executable(process) else "false")
            self.result.processes.append({
                "id": process.get("id") or "", "name": process.get("name") or pools.get(process.get("id")),
                "executable": is_executable(process), "pool": pools.get(process.get("id")),
                "line": process.sourceline,
            })
        self._refuse_scripts()
        self._drop_not_executed()
        self._inline_definition_refs()
        self.thrown_signals = self._thrown_signals()
        for process in self.root.findall(f"{_M}process"):
            if not process.get("id"):
                self._problem("missing-id", "missing_id", process, "the process has no id; give it one")
                continue
            if is_executable(process):
                self._check_container(process, top=True)
                self._check_other_expressions(process)
        self._check_correlations()
        self._shar_profile()
        self._name_unnamed()
        return self.result

    # -- helpers -----------------------------------------------------------------------
    def _problem(self, rule: str, code: str, el: etree._Element, message: str) -> None:
        self.result.problems.append(finding(rule, code, el, message))

    def _warn(self, rule: str, el: etree._Element, message: str, *, refused: bool = True) -> None:
        # refused: SHAR's parser or validation rejects the file; otherwise SHAR loads it but cannot run it as drawn.
        prefix = "SHAR would refuse this" if refused else "SHAR would not run this as drawn"
        self.result.shar_warnings.append(finding(rule, "shar_profile", el, f"{prefix}: {message}"))

    def _ignore(self, el: etree._Element, reason: str) -> None:
        self.result.not_executed.append({"tag": local(el), "element_id": el.get("id"), "name": el.get("name"),
                                         "line": el.sourceline, "reason": reason})

    # -- policy and ignored constructs ---------------------------------------------------
    def _refuse_scripts(self) -> None:
        for task in self.root.iter(f"{_M}scriptTask"):
            self._problem("script-task", "script_task", task,
                          "script tasks are not allowed: the dashboard never runs code from uploaded files; "
                          "use a service task")

    def _drop_not_executed(self) -> None:
        stores = {el.get("id") for el in self.root.iter(f"{_M}dataStoreReference", f"{_M}dataStore")}
        for el in list(self.root.iter(f"{_M}dataInputAssociation", f"{_M}dataOutputAssociation")):
            ref_tag = "sourceRef" if local(el) == "dataInputAssociation" else "targetRef"
            ref = el.find(f"{_M}{ref_tag}")
            ref_id = (ref.text or "").strip() if ref is not None else ""
            owner = el.getparent()
            reason = None
            if ref_id in stores:
                reason = f"its data store {ref_id} is outside the engine"
            elif not self._data_object_resolves(owner, ref_id):
                reason = f"{ref_id or 'its reference'} is not a data object of this process or its parent"
            if reason:
                self._ignore(el, f"data association of {owner.get('id')} ignored: {reason}")
                owner.remove(el)
        # Associations are dropped only when they touch a drawn-only element: one linking a
        # compensation boundary event to its handler is part of execution.
        drawn_only = {el.get("id") for el in self.root.iter(f"{_M}textAnnotation", f"{_M}group",
                                                            f"{_M}dataStoreReference", f"{_M}dataStore")}
        for tag, what in _NOT_EXECUTED.items():
            for el in list(self.root.iter(f"{_M}{tag}")):
                if tag == "association" and el.get("sourceRef") in self.by_id \
                        and el.get("targetRef") in self.by_id \
                        and not {el.get("sourceRef"), el.get("targetRef")} & drawn_only:
                    continue
                self._ignore(el, f"{what} does not affect execution")
                el.getparent().remove(el)
        for container in list(self.root.iter(*(f"{_M}{t}" for t in CONTAINERS))):
            if not any(is_bpmn(c) and local(c) in RUNNABLE_NODES for c in container) \
                    and container.get("triggeredByEvent") != "true":
                self._ignore(container, "an empty collapsed sub-process: the engine passes straight through it")
                self._replace_with_task(container)

    def _data_object_resolves(self, owner: etree._Element | None, ref_id: str) -> bool:
        """True when SpiffWorkflow resolves the reference (its data object sits in the owner's
        container or that container's parent; elsewhere Spiff 3.2 loops forever)."""
        ref = self.by_id.get(ref_id)
        if owner is None or ref is None or local(ref) != "dataObjectReference" or not ref.get("dataObjectRef"):
            return False
        container = owner.getparent()
        for scope in (container, container.getparent() if container is not None else None):
            if scope is None or local(scope) not in ({"process"} | CONTAINERS):
                continue
            if any(local(d) == "dataObject" and d.get("id") == ref.get("dataObjectRef") for d in scope):
                return True
        return False

    def _replace_with_task(self, container: etree._Element) -> None:
        task = etree.Element(f"{_M}task", {k: v for k, v in container.attrib.items()
                                           if k in ("id", "name")})
        task.set(_DRAWN_AS, local(container))
        task.sourceline = container.sourceline
        for child in container:
            # Its markers are kept (a multi-instance still runs n times), so their checks still apply.
            if is_bpmn(child) and local(child) in ("incoming", "outgoing", "standardLoopCharacteristics",
                                                   "multiInstanceLoopCharacteristics"):
                task.append(copy.deepcopy(child))
        container.getparent().replace(container, task)

    def _inline_definition_refs(self) -> None:
        """An event may point at a shared definition (``<eventDefinitionRef>``) instead of holding its
        own; SpiffWorkflow reads only inline ones (the event would pass straight through, or never
        start), so the prepared copy holds a copy of the definition in its place and every check applies."""
        for ref in list(self.root.iter(f"{_M}eventDefinitionRef")):
            event, target_id = ref.getparent(), text_of(ref)
            target = self.by_id.get(target_id)
            if target is None or not is_bpmn(target) or not local(target).endswith("EventDefinition"):
                self._problem("event-ref", "cannot_run", event,
                              f"its eventDefinitionRef {target_id or '(empty)'} names no event definition of this "
                              "file; put the definition inside the event")
                event.remove(ref)
                continue
            inline = copy.deepcopy(target)
            inline.attrib.pop("id", None)  # ids stay unique: the shared definition keeps its own
            event.replace(ref, inline)

    def _thrown_signals(self) -> set[str]:
        """The signals some throw or end event of the file throws (by name, as SpiffWorkflow matches them)."""
        thrown = set()
        for event in self.root.iter(f"{_M}intermediateThrowEvent", f"{_M}endEvent"):
            for definition in event.findall(f"{_M}signalEventDefinition"):
                thrown.add(self._signal_name(definition, event))
        return thrown

    def _signal_name(self, definition: etree._Element, event: etree._Element) -> str:
        ref = definition.get("signalRef")
        signal = self.by_id.get(ref or "")
        if signal is not None:
            return signal.get("name") or ref or ""
        return event.get("name") or ""

    def _name_unnamed(self) -> None:
        """A message or signal without a name is named by its id in the prepared copy: SpiffWorkflow
        fails on a missing name, and a message's waits (message_waits) already use the id."""
        for el in self.root.iter(f"{_M}message", f"{_M}signal"):
            if not (el.get("name") or "").strip() and el.get("id"):
                el.set("name", el.get("id"))

    # -- what runs ---------------------------------------------------------------------
    def _check_container(self, container: etree._Element, *, top: bool) -> None:
        nodes = [c for c in container if is_bpmn(c)]
        starts = [c for c in nodes if local(c) == "startEvent"]
        if top and not starts:
            self._problem("no-start-event", "cannot_run", container,
                          "the process has no start event; add one where instances begin, or mark the process "
                          "isExecutable=\"false\" to keep it as a diagram")
        signals = [s.find(f"{_M}signalEventDefinition") for s in starts]
        if top and starts and all(definition is not None for definition in signals):
            self._problem("signal-start", "cannot_run", starts[0],
                          f"the process starts only by signal {self._signal_name(signals[0], starts[0])}, which "
                          "sharlite cannot send, so no instance could start; add a none start event, use a message "
                          "start event, or mark the process isExecutable=\"false\"")
        if not top and container.get("triggeredByEvent") != "true" and local(container) != "adHocSubProcess" \
                and len(starts) != 1:
            self._problem("subprocess-start", "cannot_run", container,
                          f"an expanded sub-process needs exactly one start event; it has {len(starts)}")
        flows = [c for c in nodes if local(c) == "sequenceFlow"]
        ids_here = {c.get("id") for c in nodes if c.get("id")}
        outgoing: dict[str, list[etree._Element]] = {}
        for flow in flows:
            for end in ("sourceRef", "targetRef"):
                ref = flow.get(end)
                if not ref or ref not in ids_here:
                    self._problem("flow-ends", "cannot_run", flow,
                                  f"its {end} {ref or '(missing)'} is not an element of the same process "
                                  "or sub-process; connect it to an element beside it")
            outgoing.setdefault(flow.get("sourceRef") or "", []).append(flow)
        for node in nodes:
            kind = local(node)
            if kind in ("sequenceFlow", "incoming", "outgoing", "laneSet", "extensionElements", "documentation",
                        "ioSpecification", "property", "dataObject", "dataObjectReference") or kind in _DATA:
                continue
            if kind not in RUNNABLE_NODES:
                if kind in ("complexGateway",) or kind.endswith(("Choreography", "choreographyTask")) \
                        or kind in ("callChoreography", "implicitThrowEvent"):
                    self._problem("unsupported-element", "cannot_run", node,
                                  f"{kind} is not supported by the engine; redraw it with exclusive, inclusive "
                                  "or parallel gateways and tasks")
                continue
            if not node.get("id"):
                self._problem("missing-id", "missing_id", node, "the element has no id; give it one")
                continue
            self._check_node(node, outgoing.get(node.get("id"), []))
            if kind in CONTAINERS:
                self._check_container(node, top=False)

    def _check_node(self, node: etree._Element, flows: list[etree._Element]) -> None:
        kind = local(node)
        default = node.get("default")
        if kind in _CONDITIONAL_GATEWAYS:
            for flow in flows:
                text = self._condition_text(flow)
                if text is None:
                    if len(flows) > 1 and flow.get("id") != default:
                        self._problem("gateway-condition", "cannot_run", flow,
                                      f"leaves gateway {node.get('id')} without a condition and is not its "
                                      "default flow; add a condition or make it the default")
                    continue
                self._check_expression(flow, flow.find(f"{_M}conditionExpression"), "condition")
        elif kind != "eventBasedGateway":
            for flow in flows:
                if self._condition_text(flow) is not None:
                    self._problem("conditional-flow", "cannot_run", flow,
                                  f"a condition on a flow leaving {kind} {node.get('id')} is not supported; "
                                  "put an exclusive gateway after the element and move the condition there")
        for timer in node.findall(f"{_M}timerEventDefinition"):  # direct: a sub-process's own are checked inside
            self._check_timer(node, timer)
        for loop in node.findall(f"{_M}multiInstanceLoopCharacteristics"):
            self._check_multi_instance(node, loop)
        for tag, (attribute, declared) in _EVENT_REFS.items():
            for definition in node.findall(f"{_M}{tag}"):
                ref = definition.get(attribute)
                if ref and (ref not in self.by_id or local(self.by_id[ref]) != declared):
                    self._problem("event-ref", "cannot_run", node,
                                  f"its {attribute} {ref} names no <{declared}> of this file; "
                                  "declare it or fix the ref")
        if kind == "intermediateCatchEvent":
            self._check_signal_catch(node)
        for definition in node.findall(f"{_M}messageEventDefinition"):
            ref = definition.get("messageRef")
            if ref and ref not in self.messages:
                self._problem("message-ref", "cannot_run", node,
                              f"its messageRef {ref} names no <message> of this file; declare it or fix the ref")
            elif kind in _MESSAGE_CATCHERS:
                self._waits_for_message(node, definition)
        if kind == "receiveTask" and node.get("messageRef") and node.get("messageRef") not in self.messages:
            self._problem("message-ref", "cannot_run", node,
                          f"its messageRef {node.get('messageRef')} names no <message> of this file")
        elif kind == "receiveTask" and node.find(f"{_M}messageEventDefinition") is None:
            self._waits_for_message(node, node)
        if kind == "callActivity":
            self._check_call(node)
        for output in node.findall(f"{_M}extensionElements/{{{ZEEBE_NS}}}ioMapping/{{{ZEEBE_NS}}}output"):
            self._check_output(node, output)

    def _check_signal_catch(self, node: etree._Element) -> None:
        """A catch event waiting for a signal nothing throws would wait for ever: sharlite cannot send
        one. After an event-based gateway another branch may fire, so only a lone wait is refused."""
        definition = node.find(f"{_M}signalEventDefinition")
        if definition is None:
            return
        if definition.get("signalRef") and definition.get("signalRef") not in self.by_id:
            return  # refused as event-ref already
        name = self._signal_name(definition, node)
        incoming = {text_of(i) for i in node.findall(f"{_M}incoming")}
        sources = [self.by_id.get(flow.get("sourceRef") or "") for flow in
                   (self.by_id.get(i) for i in incoming) if flow is not None]
        after_choice = any(s is not None and local(s) == "eventBasedGateway" for s in sources)
        if name not in self.thrown_signals and not after_choice:
            self._problem("signal-catch", "cannot_run", node,
                          f"it waits for signal {name or '(unnamed)'}, which nothing in this file throws and "
                          "sharlite cannot send: an instance would wait here for ever; throw the signal in "
                          "this process or wait for a message instead")

    def _waits_for_message(self, node: etree._Element, holder: etree._Element) -> None:
        """Record the message `node` waits for; one without a messageRef (a receive task that would
        otherwise pass straight through) waits for a message named after it (its name, else its id)."""
        ref = holder.get("messageRef")
        if ref:
            name = self.messages[ref].get("name") or ref
        else:
            name = " ".join((node.get("name") or "").split()) or node.get("id") or ""
            ref = f"sharboard_message_{node.get('id')}"
            if ref not in self.messages:  # by id, never in a path: an id may hold any character, as ']
                message = etree.Element(f"{_M}message", id=ref, name=name)
                self.root.insert(0, message)
                self.messages[ref] = message
            holder.set("messageRef", ref)
        if node.get("id"):
            self.result.message_waits[node.get("id")] = name
        parent = node.getparent()
        if local(node) == "startEvent" and parent is not None and local(parent) == "process" and parent.get("id"):
            starts = self.result.message_starts.setdefault(parent.get("id"), [])
            if name not in starts:
                starts.append(name)

    def _check_output(self, node: etree._Element, output: etree._Element) -> None:
        """A Zeebe output mapping: the engine sets ``target`` from ``source`` when the task completes, as SHAR does."""
        source, target = (output.get("source") or "").strip(), (output.get("target") or "").strip()
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", target):
            self._problem("output-mapping", "cannot_run", node,
                          f"its output mapping target {target!r} is not a plain variable name; use one word")
            return
        if not source.startswith("="):
            output.set(OUTPUT_SOURCE, repr(source))  # a static value, as in Zeebe
            return
        try:
            compile_condition(source, "feel")
        except UnsafeExpression as exc:
            self._problem("output-mapping", "unsafe_expression", node,
                          f"its output mapping to {target} is refused: {exc}")
            return
        output.set(OUTPUT_SOURCE, translate(source, "feel"))

    def _condition_text(self, flow: etree._Element) -> str | None:
        """The condition as written, or None (an empty one, even ``${}``, is removed: no condition)."""
        text = written_condition(flow)
        condition = flow.find(f"{_M}conditionExpression")
        if text is None and condition is not None:
            flow.remove(condition)  # the engine sees no condition either
        return text

    def _check_other_expressions(self, process: etree._Element) -> None:
        """Loop, completion and conditional-event conditions pass the same check as a flow's condition:
        the engine evaluates every one of them, so none may reach it unchecked or untranslated."""
        for el in process.iter(*(f"{_M}{tag}" for tag in _OTHER_EXPRESSIONS)):
            owner = el.getparent()  # the element a modeller clicks: the event or task, not its definition
            while owner is not None and (not owner.get("id") or local(owner).endswith(("Definition", "Characteristics"))):
                owner = owner.getparent()
            self._check_expression(owner if owner is not None else el, el, _OTHER_EXPRESSIONS[local(el)])

    def _check_correlations(self) -> None:
        """Correlation retrieval expressions: evaluated when a message arrives, whichever process waits."""
        for retrieval in self.root.iter(f"{_M}correlationPropertyRetrievalExpression"):
            owner = retrieval.getparent() if retrieval.getparent() is not None else retrieval
            for el in retrieval:
                if local(el) in ("formalExpression", "messagePath"):
                    self._check_expression(owner, el, "correlation retrieval expression")

    def _check_expression(self, owner: etree._Element, el: etree._Element, what: str) -> None:
        text = text_of(el)
        if not _NO_CONDITION.sub("", text).strip():
            if local(el) == "condition":
                self._problem("condition", "cannot_run", owner,
                              "its conditional event has no condition; write one such as ${amount > 100}")
            else:
                el.getparent().remove(el)  # an empty one means none, as for a flow
            return
        language = language_of(text, el.get("language"), self.default_language)
        try:
            compile_condition(text, language)
        except UnsafeExpression as exc:
            self._problem("condition", "unsafe_expression", owner,
                          f"its {what} is refused: {exc}; write a simple comparison such as "
                          "${amount > 100} or =status = \"ok\"")
            return
        # The engine sees only the translated text: one meaning, whatever the file's language.
        _set_text(el, translate(text, language))

    def _check_timer(self, node: etree._Element, timer: etree._Element) -> None:
        parts = [c for c in timer if local(c) in TIMER_PARTS]
        texts = [text_of(c) for c in parts]
        if not parts or not any(texts):
            self._problem("empty-timer", "empty_timer", node,
                          "its timer has no time set; give it a timeDuration (e.g. PT5M), timeDate or timeCycle")
            return
        for part, text in zip(parts, texts, strict=True):
            if not text:
                continue
            value = text.strip().strip("\"'")
            kind = local(part)
            if value.startswith("=") or value.startswith("${"):
                self._problem("timer-expression", "cannot_run", node,
                              f"its {kind} {text!r} is an expression; write an ISO 8601 literal such as PT5M")
            elif kind == "timeDuration" and not _ISO_DURATION.match(value):
                self._problem("timer-value", "cannot_run", node,
                              f"its timeDuration {text!r} is not an ISO 8601 duration such as PT5M")
            elif kind == "timeDate" and not _ISO_DATE.match(value):
                self._problem("timer-value", "cannot_run", node,
                              f"its timeDate {text!r} is not an ISO 8601 date-time such as 2030-01-01T09:00:00Z")
            elif kind == "timeCycle":
                self._check_cycle(node, part, text, value)
            else:
                _set_text(part, repr(value))

    def _check_cycle(self, node: etree._Element, part: etree._Element, text: str, value: str) -> None:
        match = _ISO_CYCLE.match(value)
        if not match or not (_ISO_DURATION.match(match.group(2).split("/")[-1])):
            self._problem("timer-value", "cannot_run", node,
                          f"its timeCycle {text!r} is not an ISO 8601 repetition such as R3/PT10M")
        elif not match.group(1):
            self._problem("timer-repetitions", "over_budget", node,
                          f"its timeCycle {text!r} repeats without end; give a count of at most "
                          f"{MAX_TIMER_REPETITIONS} (R{MAX_TIMER_REPETITIONS}/...)")
        elif _too_big(match.group(1), MAX_TIMER_REPETITIONS):
            self._problem("timer-repetitions", "over_budget", node,
                          f"its timeCycle repeats {_shown_number(match.group(1))} times; the limit is "
                          f"{MAX_TIMER_REPETITIONS}")
        else:
            _set_text(part, repr(value))

    def _check_multi_instance(self, node: etree._Element, loop: etree._Element) -> None:
        cardinality = loop.find(f"{_M}loopCardinality")
        text = text_of(cardinality) if cardinality is not None else ""
        if not text and loop.find(f"{_M}loopDataInputRef") is None:
            self._problem("multi-instance", "cannot_run", node,
                          "its multi-instance marker sets neither loopCardinality nor loopDataInputRef (a Zeebe "
                          "inputCollection is not supported); give a loopCardinality such as 3")
            return
        if not text:
            return
        literal = text.strip("=\"' ")
        if re.fullmatch(r"\+?\d+", literal):
            if _too_big(literal, MAX_LOOP_CARDINALITY):
                self._problem("loop-cardinality", "over_budget", node,
                              f"its loopCardinality {_shown_number(literal)} is over the limit of "
                              f"{MAX_LOOP_CARDINALITY:,} instances")
            else:
                _set_text(cardinality, str(int(literal)))  # "3" or =3 as written: the number 3 for the engine
            return
        language = language_of(text, cardinality.get("language"), self.default_language)
        try:
            compile_condition(text, language)
        except UnsafeExpression as exc:
            self._problem("loop-cardinality", "unsafe_expression", node, f"its loopCardinality is refused: {exc}")
            return
        cardinality.text = translate(text, language)

    def _check_call(self, node: etree._Element) -> None:
        called = node.get("calledElement")
        zeebe = node.find(f"{_M}extensionElements/{{{ZEEBE_NS}}}calledElement")
        if not called and zeebe is not None:
            called = zeebe.get("processId")
            if called:
                node.set("calledElement", called)  # Spiff reads only the attribute
        if not called:
            self._problem("call-activity", "cannot_run", node,
                          "the call activity names no process; set calledElement to a process id of this file")
        elif called not in self.process_ids:
            self._problem("call-activity", "cannot_run", node,
                          f"it calls process {called!r}, which is not in this file; upload one file holding both")

    # -- SHAR's parser -----------------------------------------------------------------
    def _shar_profile(self) -> None:
        for process in self.root.findall(f"{_M}process"):
            pid = process.get("id") or ""
            if pid and not _nats_safe(pid):
                self._warn("shar:process-id", process,
                           f"process id {pid!r} is not NATS-safe; use only letters, digits and -/_=. "
                           "without a leading or trailing dot")
        for message in self.messages.values():
            name = (message.get("name") or "").strip()
            if not name:
                self._warn("shar:message-name", message,
                           "the message has no name; give it one of letters, digits and -/_=. (SHAR delivers "
                           "messages by name)")
            elif not _nats_safe(name):
                self._warn("shar:message-name", message,
                           f"message name \"{name}\" is not NATS-safe; use only letters, digits and -/_=. "
                           "without a leading or trailing dot")
        outputs = {o.get("target") for o in self.root.iter(f"{{{ZEEBE_NS}}}output") if o.get("target")}
        for el in self.root.iter():
            if not is_bpmn(el):
                continue
            kind = local(el)
            if kind in RUNNABLE_NODES and not el.get("id"):
                self._warn("shar:missing-id", el, "every element needs an id")
            if kind == "serviceTask":
                task_type = el.find(f"{_M}extensionElements/{{{ZEEBE_NS}}}taskDefinition")
                if task_type is None or not (task_type.get("type") or "").strip():
                    self._warn("shar:service-task-type", el,
                               "a service task needs <zeebe:taskDefinition type=\"...\"/> naming its worker")
            elif kind == "callActivity" and el.find(f"{_M}extensionElements/{{{ZEEBE_NS}}}calledElement") is None:
                self._warn("shar:call-activity", el,
                           "a call activity names its process with <zeebe:calledElement processId=\"...\"/>",
                           refused=False)
            elif kind == "messageEventDefinition" and el.get("messageRef") in self.messages:
                message = self.messages[el.get("messageRef")]
                if message.find(f"{_M}extensionElements/{{{ZEEBE_NS}}}subscription") is None:
                    self._warn("shar:message-correlation", el.getparent(),
                               f"message {_message_label(message)} has no <zeebe:subscription correlationKey="
                               "\"=...\"/>, so SHAR cannot correlate it", refused=False)
            elif kind == "conditionExpression":
                self._shar_condition(el, outputs)

    def _shar_condition(self, condition: etree._Element, outputs: set[str]) -> None:
        flow = condition.getparent()
        original = self.written.get(flow.get("id") or "", "").strip()
        if not original:
            return
        if not original.startswith("="):
            self._warn("shar:expression-prefix", flow,
                       f"condition {original[:60]!r} is not a FEEL expression starting with '='", refused=False)
        try:
            body = translate(original, language_of(original, condition.get("language"), self.default_language))
        except UnsafeExpression:
            return
        names = sorted(_names(body))
        missing = [n for n in names if n not in outputs]
        if missing:
            self._warn("shar:undefined-variable", flow,
                       f"condition uses {', '.join(missing)}, which no zeebe:output mapping of the file declares")


def _message_label(message: etree._Element) -> str:
    name = (message.get("name") or "").strip()
    return f"\"{name}\"" if name else f"{message.get('id')} (which has no name)"


def _set_text(el: etree._Element, text: str) -> None:
    """Replace what `el` holds with `text` in the prepared copy (what the engine evaluates)."""
    for child in list(el):
        el.remove(child)
    el.text = text


def _names(text: str) -> set[str]:
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError):
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id not in LITERAL_NAMES
            and n.id != EMPTY_FUNCTION}


def _too_big(digits: str, limit: int) -> bool:
    # Length first: int() of thousands of digits is slow, and refused past 4,300 digits.
    digits = digits.lstrip("+").lstrip("0") or "0"
    return len(digits) > len(str(limit)) or int(digits) > limit


def _shown_number(digits: str) -> str:
    digits = digits.lstrip("+").lstrip("0") or "0"
    return f"{int(digits):,}" if len(digits) <= 18 else f"of {len(digits):,} digits"


def _nats_safe(name: str) -> bool:
    return bool(name) and not name.startswith(".") and not name.endswith(".") and bool(_NATS_SAFE.match(name))
