"""One analysis of what a BPMN file can run: used by the upload validator and by sharlite.

``analyse(root)`` reads a parsed ``definitions`` element and returns an ``Analysis``
(app/bpmn/document.py) holding:

- ``problems``: what stops an executable process from running (each names the element's tag, id,
  name, line, and what to change); the upload is refused with all of them (capped);
- ``shar_warnings``: what SHAR's own parser would refuse although sharlite can run it
  (rules from SHAR's ``client/parser``, see docs/bpmn-profile.md);
- ``not_executed``: what a modeller drew that does not affect execution and is ignored;
- ``processes``: every process (pool) with its executable flag;
- ``prepared``: a copy of the document with the ignored constructs removed and conditions
  rewritten into the evaluator's language: what the engine builds its specs from.

The steps live beside this module, one concern each: ``ids`` (each id once), ``safety`` (scripts
and expressions), ``not_executed``, ``events`` (messages and signals), ``runnable`` (what each
process holds, its loops checked by ``loops``), ``timers_and_loops`` and ``shar_profile``. This
module says in which order they run.

A pure library: lxml only (no Flask, no database, no engine).
"""

from __future__ import annotations

from lxml import etree

from app.bpmn.document import AnalysedDocument, Analysis
from app.bpmn.elements import BPMN_NS, is_executable
from app.bpmn.events import inline_definition_refs, name_unnamed, thrown_signals
from app.bpmn.ids import refuse_duplicate_ids
from app.bpmn.not_executed import drop_not_executed
from app.bpmn.runnable import check_container
from app.bpmn.safety import check_correlations, check_other_expressions, refuse_scripts
from app.bpmn.shar_profile import check_shar_profile

_M = f"{{{BPMN_NS}}}"


def analyse(root: etree._Element, *, in_place: bool = False) -> Analysis:
    """The verdict on a parsed ``definitions`` element (see the module docstring). `in_place`: the
    checks prepare `root` itself instead of a copy (the caller reads nothing of it afterwards)."""
    doc = AnalysedDocument(root, in_place=in_place)
    pools = {p.get("processRef"): p.get("name") for p in doc.root.iter(f"{_M}participant") if p.get("processRef")}
    for process in doc.root.findall(f"{_M}process"):
        # The engine reads only "true"; the xsd boolean's other spellings are normalised for it.
        process.set("isExecutable", "true" if is_executable(process) else "false")
        doc.result.processes.append(
            {
                "id": process.get("id") or "",
                "name": process.get("name") or pools.get(process.get("id")),
                "executable": is_executable(process),
                "pool": pools.get(process.get("id")),
                "line": process.sourceline,
            }
        )
    if refuse_duplicate_ids(doc):
        return doc.result  # every other check looks elements up by id: with ids shared, they would mislead
    refuse_scripts(doc)
    drop_not_executed(doc)
    inline_definition_refs(doc)
    doc.thrown_signals = thrown_signals(doc)
    for process in doc.root.findall(f"{_M}process"):
        if not process.get("id"):
            doc.problem("missing-id", "missing_id", process, "the process has no id; give it one")
            continue
        if is_executable(process):
            check_container(doc, process, top=True)
            check_other_expressions(doc, process)
    check_correlations(doc)
    check_shar_profile(doc)
    name_unnamed(doc)
    return doc.result
