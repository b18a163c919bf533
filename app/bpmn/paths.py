"""The paths a file draws: its sequence flows (source and target), and each process's start and end
events, for marking on an instance's diagram where it went (app.services.story).

A pure library: lxml only.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from lxml import etree

from app.bpmn.elements import BPMN_NS, is_executable, local

_M = f"{{{BPMN_NS}}}"


@dataclass(frozen=True)
class Flow:
    id: str
    source: str
    target: str


@dataclass(frozen=True)
class Start:
    id: str
    by_message: bool


@dataclass(frozen=True)
class FlowGraph:
    """Every sequence flow of the file, and the start events each process begins at (top level
    only: a sub-process's start is reached through it), executable processes first."""

    flows: tuple[Flow, ...] = ()
    starts: tuple[tuple[str, tuple[Start, ...]], ...] = ()
    ends: frozenset[str] = frozenset()

    def start_of(self, process_id: str | None, message: str | None) -> str | None:
        """The start event an instance of `process_id` (None: the engine's default, the first
        process) began at, when the file leaves one choice: a message start for a launch by message,
        a plain one otherwise."""
        processes = dict(self.starts)
        chosen = processes.get(process_id or "") if process_id else (self.starts[0][1] if self.starts else ())
        fitting = [s.id for s in chosen or () if s.by_message == bool(message)]
        return fitting[0] if len(fitting) == 1 else None

    def between(self, passed: Collection[str]) -> list[str]:
        """The flows whose source and target were both passed: the ones taken."""
        return [f.id for f in self.flows if f.source in passed and f.target in passed]

    def bridges(self, passed: Collection[str]) -> list[str]:
        """Elements not seen that sit alone between two seen ones (a gateway, a service task run
        between two syncs): entered from a passed element and leading to one."""
        into = {f.target for f in self.flows if f.source in passed}
        out_of = {f.source for f in self.flows if f.target in passed}
        return sorted((into & out_of) - set(passed))

    def ends_after(self, passed: Collection[str]) -> list[str]:
        """End events a passed element leads straight to: where a completed instance ended."""
        return sorted({f.target for f in self.flows if f.source in passed and f.target in self.ends})


NO_GRAPH = FlowGraph()


def flow_graph(root: etree._Element) -> FlowGraph:
    flows = tuple(
        Flow(el.get("id", ""), (el.get("sourceRef") or "").strip(), (el.get("targetRef") or "").strip())
        for el in root.iter(f"{_M}sequenceFlow")
        if el.get("id")
    )
    processes = sorted(root.iter(f"{_M}process"), key=lambda p: not is_executable(p))
    starts = tuple(
        (
            process.get("id", ""),
            tuple(
                Start(el.get("id", ""), el.find(f"{_M}messageEventDefinition") is not None)
                for el in process.findall(f"{_M}startEvent")
                if el.get("id")
            ),
        )
        for process in processes
    )
    ends = frozenset(el.get("id", "") for el in root.iter(f"{_M}endEvent") if local(el) == "endEvent")
    return FlowGraph(flows, starts, ends)
