"""How large an instance's variables may be: SHARBOARD_MAX_VARIABLES_BYTES, measured as their
compact JSON encoding (what SHAR keeps and what an API read answers).

Every door that takes variables refuses a set over the limit (services.instances.check_variables);
what SHAR answers is stored only as far as it fits (`stored`), so reading an instance never costs
more than the limit, whatever an engine holds.
"""

from __future__ import annotations

import json
from typing import Any

from app.core.config import current_settings
from app.core.errors import InvalidInput
from app.lifecycle.changes import record_activity
from app.models import WorkflowInstance


def limit() -> int:
    return current_settings().max_variables_bytes


def size_of(value: Any) -> int:
    """Bytes of `value`'s compact JSON encoding (UTF-8, no spaces)."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass"))


def check_size(variables: dict[str, Any], *, merged_into: dict[str, Any] | None = None) -> None:
    """InvalidInput naming the size and the limit when `variables` (merged into an instance's
    `merged_into`, for a completion, a message or an edit) are over the limit."""
    total = size_of({**merged_into, **variables} if merged_into else variables)
    if total > limit():
        what = "with the instance's variables they would be" if merged_into else "they are"
        raise InvalidInput.field(
            "variables",
            f"the variables are too large: {what} {total:,} bytes as compact "
            f"JSON; the limit is {limit():,} bytes (SHARBOARD_MAX_VARIABLES_BYTES)",
        )


def stored(variables: dict[str, Any]) -> tuple[dict[str, Any], dict[str, int]]:
    """What of `variables` (from SHAR) is stored: all of them when they fit; else the smallest that
    fit together, in their order, and the size of each one left out."""
    if size_of(variables) <= limit():
        return variables, {}
    sizes = {name: size_of({name: value}) for name, value in variables.items()}
    kept: set[str] = set()
    total = 2  # the braces
    for name in sorted(sizes, key=lambda n: (sizes[n], n)):
        if total + sizes[name] - 1 > limit():  # each member is `{...}` less its braces, plus a comma
            break
        kept.add(name)
        total += sizes[name] - 1
    return ({n: v for n, v in variables.items() if n in kept}, {n: s - 2 for n, s in sizes.items() if n not in kept})


def kept_of(instance: WorkflowInstance, variables: dict[str, Any]) -> dict[str, Any]:
    """What the row keeps of SHAR's `variables` (a launch answer, a sync): `stored`; the timeline
    names what was left out, and its size, whenever what is kept changes (not at every sync)."""
    kept, left_out = stored(variables)
    if left_out and kept != instance.variables:
        names = sorted(left_out, key=left_out.__getitem__, reverse=True)
        shown = ", ".join(f"{name[:60]} ({left_out[name]:,} bytes)" for name in names[:10])
        record_activity(
            instance,
            "variables_left_out",
            f"SHAR's variables are {size_of(variables):,} bytes as compact JSON, over the limit of "
            f"{limit():,} (SHARBOARD_MAX_VARIABLES_BYTES): not stored: {shown}"
            + (f" and {len(names) - 10} more" if len(names) > 10 else ""),
            left_out=dict(list(left_out.items())[:100]),
        )
    return kept
