"""What a modeller drew that does not affect execution: listed in ``not_executed`` and removed from
the prepared copy, so the engine never sees it (text annotations, groups, data stores, data
associations SpiffWorkflow cannot resolve, empty collapsed sub-processes).

A pure library: lxml only.
"""

from __future__ import annotations

import copy

from lxml import etree

from app.bpmn.document import AnalysedDocument
from app.bpmn.elements import BPMN_NS, CONTAINERS, DRAWN_AS, RUNNABLE_NODES, is_bpmn, local

_M = f"{{{BPMN_NS}}}"
_NOT_EXECUTED = {
    "textAnnotation": "a text annotation",
    "association": "an association",
    "group": "a group",
    "dataStoreReference": "a data store reference",
    "dataStore": "a data store",
}


def drop_not_executed(doc: AnalysedDocument) -> None:
    stores = {el.get("id") for el in doc.root.iter(f"{_M}dataStoreReference", f"{_M}dataStore")}
    for el in list(doc.root.iter(f"{_M}dataInputAssociation", f"{_M}dataOutputAssociation")):
        ref_tag = "sourceRef" if local(el) == "dataInputAssociation" else "targetRef"
        ref = el.find(f"{_M}{ref_tag}")
        ref_id = (ref.text or "").strip() if ref is not None else ""
        owner = el.getparent()
        reason = None
        if ref_id in stores:
            reason = f"its data store {ref_id} is outside the engine"
        elif not _data_object_resolves(doc, owner, ref_id):
            reason = f"{ref_id or 'its reference'} is not a data object of this process or its parent"
        if reason:
            doc.ignore(el, f"data association of {owner.get('id')} ignored: {reason}")
            owner.remove(el)
    # Associations are dropped only when they touch a drawn-only element: one linking a
    # compensation boundary event to its handler is part of execution.
    drawn_only = {
        el.get("id")
        for el in doc.root.iter(f"{_M}textAnnotation", f"{_M}group", f"{_M}dataStoreReference", f"{_M}dataStore")
    }
    for tag, what in _NOT_EXECUTED.items():
        for el in list(doc.root.iter(f"{_M}{tag}")):
            if (
                tag == "association"
                and el.get("sourceRef") in doc.by_id
                and el.get("targetRef") in doc.by_id
                and not {el.get("sourceRef"), el.get("targetRef")} & drawn_only
            ):
                continue
            doc.ignore(el, f"{what} does not affect execution")
            el.getparent().remove(el)
    for container in list(doc.root.iter(*(f"{_M}{t}" for t in CONTAINERS))):
        if (
            not any(is_bpmn(c) and local(c) in RUNNABLE_NODES for c in container)
            and container.get("triggeredByEvent") != "true"
        ):
            doc.ignore(container, "an empty collapsed sub-process: the engine passes straight through it")
            _replace_with_task(doc, container)


def _data_object_resolves(doc: AnalysedDocument, owner: etree._Element | None, ref_id: str) -> bool:
    """True when SpiffWorkflow resolves the reference (its data object sits in the owner's
    container or that container's parent; elsewhere Spiff 3.2 loops forever)."""
    ref = doc.by_id.get(ref_id)
    if owner is None or ref is None or local(ref) != "dataObjectReference" or not ref.get("dataObjectRef"):
        return False
    container = owner.getparent()
    for scope in (container, container.getparent() if container is not None else None):
        if scope is None or local(scope) not in ({"process"} | CONTAINERS):
            continue
        if any(local(d) == "dataObject" and d.get("id") == ref.get("dataObjectRef") for d in scope):
            return True
    return False


def _replace_with_task(doc: AnalysedDocument, container: etree._Element) -> None:
    task = etree.Element(f"{_M}task", {k: v for k, v in container.attrib.items() if k in ("id", "name")})
    task.set(DRAWN_AS, local(container))
    task.sourceline = container.sourceline
    for child in container:
        # Its markers are kept (a multi-instance still runs n times), so their checks still apply.
        if is_bpmn(child) and local(child) in (
            "incoming",
            "outgoing",
            "standardLoopCharacteristics",
            "multiInstanceLoopCharacteristics",
        ):
            task.append(copy.deepcopy(child))
    container.getparent().replace(container, task)
