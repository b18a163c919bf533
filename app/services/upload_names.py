"""The workflow name a file offers on upload: its process's name (an executable one first, or its
pool's name), else the definitions' name, made into a valid workflow name. The upload form fills
its empty name field with it, and uses it when the name is left empty."""

from __future__ import annotations

import re
import unicodedata

from app.bpmn import BpmnValidationError
from app.bpmn.elements import BPMN_NS, is_executable
from app.bpmn.validation import parse_definitions
from app.core.config import current_settings
from app.services import large_documents
from app.services.workflow_input import NAME_PATTERN

_M = f"{{{BPMN_NS}}}"
_NOT_IN_A_NAME = re.compile(r"[^A-Za-z0-9 _.\-]+")


def offered_name(bpmn_xml: str | bytes) -> str | None:
    """The name `bpmn_xml` offers, or None when it names nothing usable (or is not a BPMN file:
    the upload itself then says why). A large file is parsed in one of the process's slots."""
    size, limit = large_documents.size_of(bpmn_xml), current_settings().max_bpmn_bytes
    with large_documents.slot(size if size <= limit else 0):
        return _offered(bpmn_xml, limit)


def _offered(bpmn_xml: str | bytes, limit: int) -> str | None:
    try:
        root = parse_definitions(bpmn_xml, max_bytes=limit)
    except BpmnValidationError:
        return None
    pools = {p.get("processRef"): p.get("name") for p in root.iter(f"{_M}participant")}
    processes = sorted(root.findall(f"{_M}process"), key=lambda p: not is_executable(p))
    names = [p.get("name") or pools.get(p.get("id")) for p in processes] + [root.get("name")]
    for name in names:
        usable = _as_workflow_name(name or "")
        if usable:
            return usable
    return None


def _as_workflow_name(text: str) -> str | None:
    """`text` without its accents, what a workflow name cannot hold made spaces, trimmed to fit."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    name = " ".join(_NOT_IN_A_NAME.sub(" ", plain).split())
    name = name.lstrip(" _.-")[:200].rstrip()
    return name if NAME_PATTERN.match(name) else None
