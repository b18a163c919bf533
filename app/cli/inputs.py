"""What commands read from the operator: files (BPMN, JSON batches) and --variables.

A file that cannot be read is refused in plain words naming it. Whether a BPMN file is empty, too
large or not BPMN is the upload's check (`app.bpmn`, run by the service it is handed to), the same
at every door; here it is only read.
"""

from __future__ import annotations

from pathlib import Path

from app.bpmn import BpmnValidationError, decode_xml
from app.cli.output import fail
from app.core import json_input
from app.core.errors import InvalidInput


def read_file(file: Path) -> bytes:
    """The file's bytes; InvalidInput naming the file when it is missing or cannot be read."""
    try:
        return file.read_bytes()
    except FileNotFoundError:
        problem = "no such file"
    except IsADirectoryError:
        problem = "is a folder, not a file"
    except OSError as exc:  # permission denied, an I/O error
        problem = f"cannot be read ({exc.strerror or exc})"
    raise InvalidInput(f"{file}: {problem}")


def read_bpmn(file: Path) -> str:
    """A BPMN file as text, read in the encoding it names (its byte order mark or XML declaration,
    else UTF-8). A command with one file fails with the InvalidInput; a batch fails only that item."""
    data = read_file(file)
    if not data.strip():  # the service would say "bpmn_xml is required", the API's field, not a file
        raise InvalidInput(f"{file}: is empty; give a BPMN file")
    try:
        return decode_xml(data)
    except BpmnValidationError as exc:
        raise InvalidInput(f"{file}: {exc.message}") from None


def parse_variables(raw: str | None) -> dict:
    if not raw:
        return {}
    try:  # strict JSON within the size and depth limits (app.core.json_input)
        return json_input.loads_object(raw, what="--variables", field="variables")
    except InvalidInput as exc:
        fail(exc.message)


def parse_mapping(pairs: tuple[str, ...]) -> dict[str, str]:
    """`--map OLD=NEW` (repeated) as a migration's mapping: old element id -> element id of the target."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old.strip() or not new.strip():
            fail(f"--map takes OLD=NEW (element ids), not {pair!r}")
        mapping[old.strip()] = new.strip()
    return mapping


def parse_assignments(items: tuple[str, ...], option: str = "--set") -> dict:
    """`NAME=VALUE` items (VALUE strict JSON, else kept as text, as the launch form's rows take it)."""
    rows = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            fail(f'{option} takes NAME=VALUE (VALUE as JSON: 12, true, "text", {{"a": 1}}); got {item[:80]!r}')
        rows.append((name.strip(), value))
    try:
        return json_input.form_variables(rows, None)
    except InvalidInput as exc:
        fail(exc.message)
