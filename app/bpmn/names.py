"""The names a file gives its flow nodes: what a person reads where the engine says an element id.

A pure library: lxml only.
"""

from __future__ import annotations

from lxml import etree

from app.bpmn.elements import RUNNABLE_NODES, is_bpmn, local

MAX_NAME = 200  # a name is a label: a longer one is clipped, never stored whole per element


def is_flow_node(el: etree._Element) -> bool:
    """A task, event or gateway: where an instance can be (flows, lanes and data are not)."""
    if not is_bpmn(el):
        return False
    tag = local(el)
    return tag in RUNNABLE_NODES or tag.endswith(("Task", "Event", "Gateway", "SubProcess"))


def flow_node_names(root: etree._Element) -> dict[str, str]:
    """{element id: its name, "" when the file gives none} for every flow node of every process,
    in the file's order (the first of a repeated id); names with their white space made single."""
    found: dict[str, str] = {}
    for el in root.iter():
        if not isinstance(el.tag, str) or not is_flow_node(el):
            continue
        element_id = (el.get("id") or "").strip()
        if element_id and element_id not in found:
            name = " ".join((el.get("name") or "").split())
            found[element_id] = name if len(name) <= MAX_NAME else name[: MAX_NAME - 1] + "…"
    return found


def process_flow_nodes(root: etree._Element) -> dict[str, dict[str, str]]:
    """{process id: {element id: its kind (the local tag: "userTask", "exclusiveGateway", ...)}} for
    every flow node of each process, those inside its sub-processes too: where an instance of that
    process can stand (what a move of its token may name)."""
    found: dict[str, dict[str, str]] = {}
    for process in root.iter():
        if not isinstance(process.tag, str) or not is_bpmn(process) or local(process) != "process":
            continue
        nodes = found.setdefault((process.get("id") or "").strip(), {})
        for el in process.iter():
            if isinstance(el.tag, str) and el is not process and is_flow_node(el):
                element_id = (el.get("id") or "").strip()
                if element_id:
                    nodes.setdefault(element_id, local(el))
    return found
