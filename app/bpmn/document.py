"""The document under analysis and the verdict its checks fill.

``AnalysedDocument`` holds the prepared copy of a ``definitions`` element (edited in place by the
checks; the element itself when its owner hands it over), the indexes every check reads (elements by
id, messages, process ids, conditions as written), and the ``Analysis`` it fills: ``problem()``
refuses, ``warn()`` says what SHAR would object to, ``ignore()`` lists what a modeller drew that does
not run. Each ``Finding`` points at one element.

A pure library: lxml only.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from app.bpmn.elements import BPMN_NS, DRAWN_AS, local, text_of

_M = f"{{{BPMN_NS}}}"

MAX_PROBLEMS = 20


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
        return {
            "rule": self.rule,
            "element_id": self.element_id,
            "tag": self.tag,
            "name": self.name,
            "line": self.line,
            "message": self.describe(),
        }


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


def finding(rule: str, code: str, el: etree._Element, message: str) -> Finding:
    return Finding(
        rule=rule,
        code=code,
        tag=el.get(DRAWN_AS) or local(el) or str(el.tag),
        element_id=el.get("id"),
        name=el.get("name"),
        line=el.sourceline,
        message=message,
    )


class AnalysedDocument:
    """The prepared copy being analysed, what the checks look up in it, and the verdict they fill."""

    def __init__(self, root: etree._Element, *, in_place: bool = False) -> None:
        # The prepared copy, edited by the checks; lines are kept. `in_place`: the caller hands its
        # tree over (it reads nothing of it after), which saves a copy as large as the tree.
        self.root = root if in_place else copy.deepcopy(root)
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

    def problem(self, rule: str, code: str, el: etree._Element, message: str) -> None:
        self.result.problems.append(finding(rule, code, el, message))

    def warn(self, rule: str, el: etree._Element, message: str, *, refused: bool = True) -> None:
        # refused: SHAR's parser or validation rejects the file; otherwise SHAR loads it but cannot run it as drawn.
        prefix = "SHAR would refuse this" if refused else "SHAR would not run this as drawn"
        self.result.shar_warnings.append(finding(rule, "shar_profile", el, f"{prefix}: {message}"))

    def ignore(self, el: etree._Element, reason: str) -> None:
        self.result.not_executed.append(
            {
                "tag": local(el),
                "element_id": el.get("id"),
                "name": el.get("name"),
                "line": el.sourceline,
                "reason": reason,
            }
        )
