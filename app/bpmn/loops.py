"""Loops the engine can run: every loop of sequence flows passes through a gateway that decides.

SpiffWorkflow lays out the path ahead of every task it knows will run, element after element,
and stops only where a gateway decides (exclusive, inclusive or event-based: what follows them
only may run). A loop with no such gateway in it (a task whose flow comes back to itself, tasks,
events, parallel gateways or sub-processes in a ring) is laid out for ever: the launch, or the
step that enters the loop, ends in a RecursionError. SHAR would run it, but sharlite cannot, so
it is refused, naming the elements of the loop; an exclusive gateway anywhere in the loop (even
one with a single unconditional flow) is enough. Only loops that an instance can reach count:
reached from a start event, a boundary event or an element no flow leads into.

A pure library: lxml only.
"""

from __future__ import annotations

from lxml import etree

from app.bpmn.document import AnalysedDocument
from app.bpmn.elements import RUNNABLE_NODES, local

# What follows these only may run, so the engine stops laying out the path there.
_DECIDING = frozenset({"exclusiveGateway", "inclusiveGateway", "eventBasedGateway"})
_SHOWN = 6


def check_loops(doc: AnalysedDocument, nodes: list[etree._Element], flows: dict[str, list[etree._Element]]) -> None:
    """A problem for each loop among `nodes` (one container's) that no deciding gateway interrupts."""
    by_id = {n.get("id"): n for n in nodes if local(n) in RUNNABLE_NODES and n.get("id")}
    after = {
        node_id: [t for t in (f.get("targetRef") for f in flows.get(node_id, [])) if t in by_id] for node_id in by_id
    }
    reached = _reached(by_id, after)
    undecided = {
        node_id: [t for t in targets if t in reached and local(by_id[t]) not in _DECIDING]
        for node_id, targets in after.items()
        if node_id in reached and local(by_id[node_id]) not in _DECIDING
    }
    for ring in _rings(undecided):
        first = by_id[ring[0]]
        if len(ring) == 1:
            where = "its flow comes straight back to it"
        else:
            others = [_label(by_id[node_id]) for node_id in _along_flows(ring, undecided)[1:]]
            shown = ", ".join(others[:_SHOWN]) + (f" and {len(others) - _SHOWN} more" if len(others) > _SHOWN else "")
            where = f"its flow goes round through {shown} and back to it"
        doc.problem(
            "endless-loop",
            "cannot_run",
            first,
            f"{where} with no gateway to decide when to leave the loop, so the engine cannot run it; "
            "put an exclusive gateway in the loop, with a condition for going round again and a flow out",
        )


def _reached(by_id: dict[str, etree._Element], after: dict[str, list[str]]) -> set[str]:
    """What an instance can reach: from start and boundary events, and elements no flow leads into."""
    entered = {t for targets in after.values() for t in targets}
    pending = [
        node_id
        for node_id, node in by_id.items()
        if local(node) in ("startEvent", "boundaryEvent") or node_id not in entered
    ]
    reached = set(pending)
    while pending:
        for target in after[pending.pop()]:
            if target not in reached:
                reached.add(target)
                pending.append(target)
    return reached


def _rings(graph: dict[str, list[str]]) -> list[list[str]]:
    """The loops of `graph`: its strongly connected components holding a cycle, each in the order
    the elements were drawn, found iteratively (Tarjan's algorithm; a long chain costs no stack)."""
    order = {node_id: n for n, node_id in enumerate(graph)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    rings: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node_id, next_child = work.pop()
            if next_child == 0:
                index[node_id] = low[node_id] = len(index)
                stack.append(node_id)
                on_stack.add(node_id)
            children = graph[node_id]
            if next_child < len(children):
                work.append((node_id, next_child + 1))
                child = children[next_child]
                if child not in index:
                    work.append((child, 0))
                elif child in on_stack:
                    low[node_id] = min(low[node_id], index[child])
                continue
            if low[node_id] == index[node_id]:
                ring = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    ring.append(member)
                    if member == node_id:
                        break
                if len(ring) > 1 or node_id in children:
                    rings.append(sorted(ring, key=order.__getitem__))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node_id])
    return sorted(rings, key=lambda ring: order[ring[0]])


def _along_flows(ring: list[str], graph: dict[str, list[str]]) -> list[str]:
    """The ring's elements in the order its flows take them, from its first drawn element."""
    members, seen, order, pending = set(ring), set(), [], [ring[0]]
    while pending:
        node_id = pending.pop()
        if node_id in seen:
            continue
        seen.add(node_id)
        order.append(node_id)
        pending.extend(reversed([t for t in graph[node_id] if t in members and t not in seen]))
    return order


def _label(node: etree._Element) -> str:
    name = " ".join((node.get("name") or "").split())
    return f'{node.get("id")} ("{name}")' if name else str(node.get("id"))
