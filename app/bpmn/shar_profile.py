"""What SHAR's own parser would say (rules from SHAR's ``client/parser``, see docs/bpmn-profile.md):
``shar_warnings`` for what sharlite runs but SHAR would refuse, or load and not run as drawn.

A pure library: lxml only.
"""

from __future__ import annotations

import ast
import re

from lxml import etree

from app.bpmn.document import AnalysedDocument
from app.bpmn.elements import BPMN_NS, RUNNABLE_NODES, ZEEBE_NS, is_bpmn, local
from app.bpmn.expressions import EMPTY_FUNCTION, LITERAL_NAMES, UnsafeExpression, language_of, translate

_M = f"{{{BPMN_NS}}}"
_NATS_SAFE = re.compile(r"\A[-/_=.a-zA-Z0-9]+\Z")


def check_shar_profile(doc: AnalysedDocument) -> None:
    for process in doc.root.findall(f"{_M}process"):
        pid = process.get("id") or ""
        if pid and not _nats_safe(pid):
            doc.warn(
                "shar:process-id",
                process,
                f"process id {pid!r} is not NATS-safe; use only letters, digits and -/_=. "
                "without a leading or trailing dot",
            )
    for message in doc.messages.values():
        name = (message.get("name") or "").strip()
        if not name:
            doc.warn(
                "shar:message-name",
                message,
                "the message has no name; give it one of letters, digits and -/_=. (SHAR delivers messages by name)",
            )
        elif not _nats_safe(name):
            doc.warn(
                "shar:message-name",
                message,
                f'message name "{name}" is not NATS-safe; use only letters, digits and -/_=. '
                "without a leading or trailing dot",
            )
    outputs = {o.get("target") for o in doc.root.iter(f"{{{ZEEBE_NS}}}output") if o.get("target")}
    for el in doc.root.iter():
        if not is_bpmn(el):
            continue
        kind = local(el)
        if kind in RUNNABLE_NODES and not el.get("id"):
            doc.warn("shar:missing-id", el, "every element needs an id")
        if kind == "serviceTask":
            task_type = el.find(f"{_M}extensionElements/{{{ZEEBE_NS}}}taskDefinition")
            if task_type is None or not (task_type.get("type") or "").strip():
                doc.warn(
                    "shar:service-task-type",
                    el,
                    'a service task needs <zeebe:taskDefinition type="..."/> naming its worker',
                )
        elif kind == "callActivity" and el.find(f"{_M}extensionElements/{{{ZEEBE_NS}}}calledElement") is None:
            doc.warn(
                "shar:call-activity",
                el,
                'a call activity names its process with <zeebe:calledElement processId="..."/>',
                refused=False,
            )
        elif kind == "messageEventDefinition" and el.get("messageRef") in doc.messages:
            message = doc.messages[el.get("messageRef")]
            if message.find(f"{_M}extensionElements/{{{ZEEBE_NS}}}subscription") is None:
                doc.warn(
                    "shar:message-correlation",
                    el.getparent(),
                    f"message {_message_label(message)} has no <zeebe:subscription correlationKey="
                    '"=..."/>, so SHAR cannot correlate it',
                    refused=False,
                )
        elif kind == "conditionExpression":
            _shar_condition(doc, el, outputs)


def _shar_condition(doc: AnalysedDocument, condition: etree._Element, outputs: set[str]) -> None:
    flow = condition.getparent()
    original = doc.written.get(flow.get("id") or "", "").strip()
    if not original:
        return
    if not original.startswith("="):
        doc.warn(
            "shar:expression-prefix",
            flow,
            f"condition {original[:60]!r} is not a FEEL expression starting with '='",
            refused=False,
        )
    try:
        body = translate(original, language_of(original, condition.get("language"), doc.default_language))
    except UnsafeExpression:
        return
    names = sorted(_names(body))
    missing = [n for n in names if n not in outputs]
    if missing:
        doc.warn(
            "shar:undefined-variable",
            flow,
            f"condition uses {', '.join(missing)}, which no zeebe:output mapping of the file declares",
        )


def _message_label(message: etree._Element) -> str:
    name = (message.get("name") or "").strip()
    return f'"{name}"' if name else f"{message.get('id')} (which has no name)"


def _names(text: str) -> set[str]:
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError):
        return set()
    return {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id not in LITERAL_NAMES and n.id != EMPTY_FUNCTION
    }


def _nats_safe(name: str) -> bool:
    return bool(name) and not name.startswith(".") and not name.endswith(".") and bool(_NATS_SAFE.match(name))
