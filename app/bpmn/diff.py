"""What changed between two versions of a BPMN file, compared element by element.

``diff_bpmn(old_xml, new_xml)`` reads both files with the upload's safe parser
(``validation.parse_definitions``: no DTD, no entity, size-limited) and compares, by id across
every process of the file (sub-processes included):

- processes: added, removed, and changed (name, executable flag);
- flow nodes and sequence flows: added, removed, and changed, each change naming its field:
  ``tag`` (the element's type), ``name`` (whitespace-normalised, as a label is read), ``process``
  (the top-level process holding it), ``container`` (the process or sub-process directly
  holding it), ``source``/``target`` (a sequence flow's ends), ``condition`` (a flow's
  ``conditionExpression`` text), ``default`` (a gateway's or activity's default flow),
  ``timer`` (an event's ``timerEventDefinition``: ``timeDuration PT5M``, ``timeDate ...``,
  ``timeCycle ...``) and ``attached_to`` (a boundary event's activity);
- conditions and timers that differ, as their own lists (old -> new, either side None when the
  element or its condition or timer is new or gone), for a reader who asks "what routes or
  waits differently now".

Everything else (layout, diagram interchange, attribute order, namespace prefixes, extension
elements, documentation) is ignored, so the same model written by two tools diffs by what differs.
Elements without an id cannot be matched and are only counted. Every list is capped at ``limit``
entries (``more`` says how many were left off) and every text at MAX_TEXT characters.

A pure library: lxml and app.bpmn only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from lxml import etree

from app.bpmn.elements import (
    BPMN_NS,
    CONTAINERS,
    TIMER_PARTS,
    is_bpmn,
    is_executable,
    local,
    text_of,
    written_condition,
)
from app.bpmn.validation import DEFAULT_MAX_BYTES, FLOW_ELEMENTS, parse_definitions

LIMIT = 500
MAX_TEXT = 500
_M = f"{{{BPMN_NS}}}"
# Flow nodes and sequence flows: the flow elements that are not data.
COMPARED = FLOW_ELEMENTS - {"dataObject", "dataObjectReference", "dataStoreReference"}
# The fields compared, in the order a change lists them.
FIELDS = ("tag", "name", "process", "container", "source", "target", "condition", "default", "timer", "attached_to")
_LISTS = (
    "processes_added",
    "processes_removed",
    "processes_changed",
    "added",
    "removed",
    "changed",
    "conditions",
    "timers",
)


@dataclass(frozen=True)
class Element:
    """One flow node or sequence flow as compared: its id and every field of FIELDS."""

    id: str
    tag: str
    name: str | None = None
    process: str | None = None
    container: str | None = None
    source: str | None = None
    target: str | None = None
    condition: str | None = None
    default: str | None = None
    timer: str | None = None
    attached_to: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, **{f: getattr(self, f) for f in FIELDS}}


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str | None
    new: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ElementChange:
    """An element present in both files, as it is in the new one, with what differs."""

    element: Element
    changes: tuple[FieldChange, ...]

    def to_dict(self) -> dict[str, Any]:
        return {**self.element.to_dict(), "changes": [c.to_dict() for c in self.changes]}


@dataclass(frozen=True)
class Difference(FieldChange):
    """A condition or a timer (``field``) that differs, old -> new, on an element as it is now
    (as it was, when the element is gone)."""

    element: Element

    def to_dict(self) -> dict[str, Any]:
        e = self.element
        return {
            "id": e.id,
            "tag": e.tag,
            "name": e.name,
            "process": e.process,
            "field": self.field,
            "old": self.old,
            "new": self.new,
        }


@dataclass(frozen=True)
class Process:
    id: str
    name: str | None
    executable: bool
    changes: tuple[FieldChange, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "name": self.name, "executable": self.executable}
        if self.changes:
            data["changes"] = [c.to_dict() for c in self.changes]
        return data


@dataclass(frozen=True)
class VersionDiff:
    processes_added: tuple[Process, ...]
    processes_removed: tuple[Process, ...]
    processes_changed: tuple[Process, ...]
    added: tuple[Element, ...]
    removed: tuple[Element, ...]
    changed: tuple[ElementChange, ...]
    conditions: tuple[Difference, ...]
    timers: tuple[Difference, ...]
    unchanged: int  # elements present in both files and equal in every compared field
    without_id: int  # elements of either file that have no id and so cannot be compared
    limit: int = LIMIT
    # How many entries each list left off past the limit, by list name.
    more: dict[str, int] = field(default_factory=dict)

    @property
    def identical(self) -> bool:
        """Nothing compared differs (the lists are empty, and none was cut)."""
        return not any(getattr(self, name) for name in _LISTS) and not any(self.more.values())

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "identical": self.identical,
            "limit": self.limit,
            "unchanged": self.unchanged,
            "without_id": self.without_id,
        }
        for name in _LISTS:
            data[name] = [entry.to_dict() for entry in getattr(self, name)]
        data["more"] = {name: self.more.get(name, 0) for name in _LISTS}
        return data


def diff_bpmn(
    old_xml: str | bytes, new_xml: str | bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, limit: int = LIMIT
) -> VersionDiff:
    """Compare two BPMN files by element id (see the module docstring). Either file failing the
    safe parse raises BpmnValidationError."""
    return diff_definitions(
        parse_definitions(old_xml, max_bytes=max_bytes), parse_definitions(new_xml, max_bytes=max_bytes), limit=limit
    )


def diff_definitions(old_root: etree._Element, new_root: etree._Element, *, limit: int = LIMIT) -> VersionDiff:
    """diff_bpmn on two parsed ``definitions`` elements."""
    old_processes, old_elements, old_anonymous = _read(old_root)
    new_processes, new_elements, new_anonymous = _read(new_root)
    lists: dict[str, list[Any]] = {name: [] for name in _LISTS}
    for pid, process in new_processes.items():
        before = old_processes.get(pid)
        if before is None:
            lists["processes_added"].append(process)
        else:
            changes = _changes(before, process, ("name", "executable"))
            if changes:
                lists["processes_changed"].append(Process(process.id, process.name, process.executable, changes))
    lists["processes_removed"] = [p for pid, p in old_processes.items() if pid not in new_processes]
    unchanged = 0
    for eid, element in new_elements.items():
        before = old_elements.get(eid)
        if before is None:
            lists["added"].append(element)
        else:
            changes = _changes(before, element, FIELDS)
            if changes:
                lists["changed"].append(ElementChange(element, changes))
            else:
                unchanged += 1
        _note_difference(lists, before, element)
    for eid, element in old_elements.items():
        if eid not in new_elements:
            lists["removed"].append(element)
            _note_difference(lists, element, None)
    more = {name: max(0, len(entries) - limit) for name, entries in lists.items()}
    capped = {name: tuple(entries[:limit]) for name, entries in lists.items()}
    return VersionDiff(**capped, unchanged=unchanged, without_id=old_anonymous + new_anonymous, limit=limit, more=more)


def _note_difference(lists: dict[str, list[Any]], old: Element | None, new: Element | None) -> None:
    """A condition or timer that is not the same on both sides, on the element as it is now."""
    shown = new if new is not None else old
    assert shown is not None
    for what, name in (("condition", "conditions"), ("timer", "timers")):
        before = getattr(old, what) if old is not None else None
        after = getattr(new, what) if new is not None else None
        if before != after:
            lists[name].append(Difference(what, before, after, shown))


def _changes(old: object, new: object, fields: tuple[str, ...]) -> tuple[FieldChange, ...]:
    return tuple(
        FieldChange(f, _shown(getattr(old, f)), _shown(getattr(new, f)))
        for f in fields
        if getattr(old, f) != getattr(new, f)
    )


def _shown(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return "yes" if value is True else "no" if value is False else str(value)


# -- reading one file ----------------------------------------------------------------------


def _read(root: etree._Element) -> tuple[dict[str, Process], dict[str, Element], int]:
    """Its processes and compared elements by id (the first of a repeated id), in the file's order
    (a sub-process's elements after those beside it), and how many compared elements have no id."""
    pools = {p.get("processRef"): p.get("name") for p in root.iter(f"{_M}participant") if p.get("processRef")}
    processes: dict[str, Process] = {}
    elements: dict[str, Element] = {}
    anonymous = 0
    for process in root.findall(f"{_M}process"):
        pid = process.get("id") or ""
        if pid and pid not in processes:
            processes[pid] = Process(pid, _name(process.get("name") or pools.get(pid)), is_executable(process))
        pending = [process]  # iterative: a sub-process inside a sub-process costs no recursion
        while pending:
            container = pending.pop(0)
            for child in container:
                if not is_bpmn(child) or local(child) not in COMPARED:
                    continue
                if local(child) in CONTAINERS:
                    pending.append(child)
                eid = (child.get("id") or "").strip()
                if not eid:
                    anonymous += 1
                elif eid not in elements:
                    elements[eid] = _element(child, eid, pid or None, container.get("id"))
    return processes, elements, anonymous


def _element(el: etree._Element, eid: str, process: str | None, container: str | None) -> Element:
    tag = local(el)
    flow = tag == "sequenceFlow"
    return Element(
        id=_clip(eid),
        tag=tag,
        name=_name(el.get("name")),
        process=_clip(process),
        container=_clip(container),
        source=_attr(el, "sourceRef") if flow else None,
        target=_attr(el, "targetRef") if flow else None,
        condition=_clip(written_condition(el)) if flow else None,
        default=_attr(el, "default"),
        timer=_timer(el),
        attached_to=_attr(el, "attachedToRef"),
    )


def _timer(el: etree._Element) -> str | None:
    """`kind value` of the element's own timer (e.g. ``timeDuration PT5M``), or None."""
    definition = el.find(f"{_M}timerEventDefinition")
    if definition is None:
        return None
    parts = [
        f"{local(part)} {text_of(part)}".strip() for part in definition if is_bpmn(part) and local(part) in TIMER_PARTS
    ]
    return _clip("; ".join(parts) or "no time set")


def _attr(el: etree._Element, name: str) -> str | None:
    return _clip((el.get(name) or "").strip() or None)


def _name(value: str | None) -> str | None:
    return _clip(" ".join((value or "").split()) or None)


def _clip(text: str | None) -> str | None:
    if text is None or len(text) <= MAX_TEXT:
        return text
    return text[: MAX_TEXT - 1] + "…"
