"""What is refused for safety: nothing from an uploaded file runs as code.

Script tasks are refused; every expression the engine evaluates (flow, loop, completion and
conditional-event conditions, correlation retrievals, Zeebe output mappings) must pass the
evaluator's checks, and the prepared copy holds it translated into the evaluator's language.

A pure library: lxml only.
"""

from __future__ import annotations

import re

from lxml import etree

from app.bpmn.document import AnalysedDocument
from app.bpmn.elements import BPMN_NS, NO_CONDITION, OUTPUT_SOURCE, local, set_text, text_of
from app.bpmn.expressions import UnsafeExpression, compile_condition, language_of, translate

_M = f"{{{BPMN_NS}}}"
# Expressions the engine evaluates besides flow conditions and cardinalities, by tag.
_OTHER_EXPRESSIONS = {
    "completionCondition": "completion condition",
    "loopCondition": "loop condition",
    "condition": "condition",
}


def refuse_scripts(doc: AnalysedDocument) -> None:
    for task in doc.root.iter(f"{_M}scriptTask"):
        doc.problem(
            "script-task",
            "script_task",
            task,
            "script tasks are not allowed: the dashboard never runs code from uploaded files; use a service task",
        )


def check_other_expressions(doc: AnalysedDocument, process: etree._Element) -> None:
    """Loop, completion and conditional-event conditions pass the same check as a flow's condition:
    the engine evaluates every one of them, so none may reach it unchecked or untranslated."""
    for el in process.iter(*(f"{_M}{tag}" for tag in _OTHER_EXPRESSIONS)):
        owner = el.getparent()  # the element a modeller clicks: the event or task, not its definition
        while owner is not None and (not owner.get("id") or local(owner).endswith(("Definition", "Characteristics"))):
            owner = owner.getparent()
        check_expression(doc, owner if owner is not None else el, el, _OTHER_EXPRESSIONS[local(el)])


def check_correlations(doc: AnalysedDocument) -> None:
    """Correlation retrieval expressions: evaluated when a message arrives, whichever process waits."""
    for retrieval in doc.root.iter(f"{_M}correlationPropertyRetrievalExpression"):
        owner = retrieval.getparent() if retrieval.getparent() is not None else retrieval
        for el in retrieval:
            if local(el) in ("formalExpression", "messagePath"):
                check_expression(doc, owner, el, "correlation retrieval expression")


def check_expression(doc: AnalysedDocument, owner: etree._Element, el: etree._Element, what: str) -> None:
    text = text_of(el)
    if not NO_CONDITION.sub("", text).strip():
        if local(el) == "condition":
            doc.problem(
                "condition",
                "cannot_run",
                owner,
                "its conditional event has no condition; write one such as ${amount > 100}",
            )
        else:
            el.getparent().remove(el)  # an empty one means none, as for a flow
        return
    language = language_of(text, el.get("language"), doc.default_language)
    try:
        compile_condition(text, language)
    except UnsafeExpression as exc:
        doc.problem(
            "condition",
            "unsafe_expression",
            owner,
            f'its {what} is refused: {exc}; write a simple comparison such as ${{amount > 100}} or =status = "ok"',
        )
        return
    # The engine sees only the translated text: one meaning, whatever the file's language.
    set_text(el, translate(text, language))


def check_output(doc: AnalysedDocument, node: etree._Element, output: etree._Element) -> None:
    """A Zeebe output mapping: the engine sets ``target`` from ``source`` when the task completes, as SHAR does."""
    source, target = (output.get("source") or "").strip(), (output.get("target") or "").strip()
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", target):
        doc.problem(
            "output-mapping",
            "cannot_run",
            node,
            f"its output mapping target {target!r} is not a plain variable name; use one word",
        )
        return
    if not source.startswith("="):
        output.set(OUTPUT_SOURCE, repr(source))  # a static value, as in Zeebe
        return
    try:
        compile_condition(source, "feel")
    except UnsafeExpression as exc:
        doc.problem("output-mapping", "unsafe_expression", node, f"its output mapping to {target} is refused: {exc}")
        return
    output.set(OUTPUT_SOURCE, translate(source, "feel"))
