"""Ids are unique in a file: BPMN declares every ``id`` of its model and diagram an ``xsd:ID``.

Two elements sharing one id make every reference to it ambiguous: SpiffWorkflow links a flow to
whichever element it met last (a flow into a user task could end at an end event of the same id,
or loop back), and SHAR's parser to the first it finds. So the file is refused, naming the id and
each element holding it, before any other check looks an element up by its id.

A pure library: lxml only.
"""

from __future__ import annotations

from lxml import etree

from app.bpmn.document import AnalysedDocument
from app.bpmn.elements import local

# The OMG namespaces of the model and its diagram (BPMN, BPMNDI, DI, DC). Extensions keep ids of
# their own (a Camunda form field's id is a variable name, the same in many forms).
_OMG = "http://www.omg.org/spec/"


def refuse_duplicate_ids(doc: AnalysedDocument) -> bool:
    """A problem on every element whose id an earlier element already holds; True when any was found."""
    holders: dict[str, list[etree._Element]] = {}
    for el in doc.root.iter():
        if isinstance(el.tag, str) and el.get("id") and (etree.QName(el).namespace or "").startswith(_OMG):
            holders.setdefault(el.get("id"), []).append(el)
    found = False
    for element_id, elements in holders.items():
        for later in elements[1:]:
            found = True
            others = " and ".join(_where(el) for el in elements if el is not later)
            doc.problem(
                "duplicate-id",
                "duplicate_id",
                later,
                f'its id "{element_id}" is also the id of {others}; every element needs an id of its own, '
                "so rename one of them (and the flows or shapes that refer to it)",
            )
    return found


def _where(el: etree._Element) -> str:
    return f"<{local(el)}> at line {el.sourceline}" if el.sourceline else f"<{local(el)}>"
