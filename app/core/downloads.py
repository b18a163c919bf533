"""Answers that are files to save: a streamed CSV and a JSON document, named for the download."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from flask import Response, stream_with_context


def csv_download(chunks: Iterator[str], filename: str) -> Response:
    """`chunks` sent as they are made (the request's context kept open until the last one)."""
    response = Response(stream_with_context(chunks), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def json_download(data: Any, filename: str) -> Response:
    response = Response(json.dumps(data, indent=2, ensure_ascii=False, default=str), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
