"""The variables a page's form sends (launch, task completion): its key/value rows, then the raw JSON
on top, read by app.core.json_input; the services check them (instances.check_variables)."""

from __future__ import annotations

from typing import Any

from flask import request

from app.core import json_input


def form_variables() -> dict[str, Any]:
    """The posted form's variables; InvalidInput naming what is wrong with them."""
    return json_input.form_variables(
        json_input.form_rows(request.form.getlist("keys"), request.form.getlist("values")),
        request.form.get("variables_json") or "",
    )


def typed_rows() -> list[tuple[str, str]]:
    """The rows a refused form sent, to show them again as typed (none on a GET)."""
    keys, values = request.form.getlist("keys"), request.form.getlist("values")
    return [(k, v) for k, v in zip(keys, values, strict=False) if k.strip() or v.strip()]
