"""BPMN uploads: reading a file's encoding, safe parsing, validation and a summary of what a file holds."""

from app.bpmn.encoding import declare_utf8, decode_xml
from app.bpmn.validation import (
    DEFAULT_MAX_BYTES,
    BpmnSummary,
    BpmnValidationError,
    Inspection,
    ProcessSummary,
    inspect_bpmn,
    validate_bpmn,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "BpmnSummary",
    "BpmnValidationError",
    "Inspection",
    "ProcessSummary",
    "declare_utf8",
    "decode_xml",
    "inspect_bpmn",
    "validate_bpmn",
]
