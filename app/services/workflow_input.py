"""What an upload must be before anything is stored: a workflow name, its BPMN, its description.
Every door (pages, API, CLI, the diff preview) passes its input through these, so each rule and
its message live here once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from app.bpmn import BpmnValidationError, declare_utf8, validate_bpmn
from app.core.errors import InvalidInput, PayloadTooLarge
from app.core.json_input import json_type
from app.services import large_documents

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,199}$")
DESCRIPTION_MAX_CHARS = 2000


@dataclass(frozen=True)
class CheckedBpmn:
    """An upload that passed check_bpmn: its text as stored and sent to SHAR, and its summary."""

    text: str
    summary: dict[str, Any]


def check_name(name: object, field: str = "name") -> str:
    """A workflow name as stored: trimmed, and within NAME_PATTERN (InvalidInput naming `field` otherwise)."""
    if name is None or (isinstance(name, str) and not name.strip()):
        raise InvalidInput.field(field, f"{field} is required")
    if not isinstance(name, str):
        raise InvalidInput.field(field, f"{field} must be a string, not {json_type(name)}")
    name = name.strip()
    if not NAME_PATTERN.match(name):
        raise InvalidInput.field(
            field,
            f"{field} must start with a letter or digit and hold only letters, digits, "
            "spaces, '.', '_' or '-' (at most 200)",
        )
    return name


def check_bpmn(bpmn_xml: object, max_bytes: int) -> CheckedBpmn:
    """The upload's verdict: its text as stored and its summary, or InvalidInput (PayloadTooLarge)
    naming every problem. Every door's upload comes through here as text (a file's bytes decoded
    by app.bpmn.decode_xml, or a JSON string) and is sent to SHAR as UTF-8, whose XML decoder
    refuses a declaration naming another encoding: such a declaration is made to say UTF-8."""
    if bpmn_xml is None or (isinstance(bpmn_xml, str) and (not bpmn_xml or bpmn_xml.isspace())):
        raise InvalidInput.field("bpmn_xml", "bpmn_xml is required")
    if not isinstance(bpmn_xml, str):
        raise InvalidInput.field("bpmn_xml", f"bpmn_xml must be a string (the file's XML), not {json_type(bpmn_xml)}")
    text = declare_utf8(bpmn_xml)
    size = large_documents.size_of(text)
    # A file over the limit is refused before it is parsed: it waits for no slot.
    with large_documents.slot(size if size <= max_bytes else 0):
        verdict = _verdict(text, max_bytes)
    if isinstance(verdict, BpmnValidationError):
        error = PayloadTooLarge if verdict.code == "too_large" else InvalidInput
        # Every reason, each naming its element and line, so one upload shows all there is to fix.
        reasons = [p["message"] for p in verdict.problems] or [verdict.message]
        raise error(verdict.message, {"bpmn_xml": reasons})
    return CheckedBpmn(text, verdict)


def _verdict(text: str, max_bytes: int) -> dict[str, Any] | BpmnValidationError:
    """The summary, or the refusal without its traceback or the error it replaced: their frames hold
    the parsed document, which must be freed before the large-document slot gives the memory back."""
    try:
        return validate_bpmn(text, max_bytes=max_bytes).to_dict()
    except BpmnValidationError as exc:
        exc.__cause__ = exc.__context__ = None
        return exc.with_traceback(None)


def check_description(description: object) -> str:
    """A version's description as stored: text of at most DESCRIPTION_MAX_CHARS ("" when absent)."""
    if description is None:
        return ""
    if not isinstance(description, str):
        raise InvalidInput.field("description", f"description must be a string, not {json_type(description)}")
    if len(description) > DESCRIPTION_MAX_CHARS:
        raise InvalidInput.field(
            "description", f"description is {len(description):,} characters; at most {DESCRIPTION_MAX_CHARS:,}"
        )
    return description
