"""What a conformance check works with: one HTTP exchange at a time, recorded so a verdict can
quote the answer it got, and the verdicts a check raises."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from app.core.text import clip

DOCUMENTS = Path(__file__).with_name("documents")
BASE = "base"
EXTENSION = "extension"
BASE_DOC = "shar-gateway-api.md"
EXTENSIONS_DOC = "docs/gateway-extensions.md"
QUOTE_CHARS = 400
# RFC 3339 date-time: a date, "T" (or a space, as RFC 3339 allows), a time, an offset or Z.
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


@dataclass(frozen=True)
class Exchange:
    """One request and what came back: a status and body, or the transport error instead."""

    method: str
    path: str
    sent: str | None
    status: int | None
    text: str
    error: str | None = None

    def json(self) -> Any:
        try:
            return json.loads(self.text)
        except ValueError:
            return _NOT_JSON

    def request_line(self) -> str:
        return f"{self.method} {self.path}" + (f" {clip(self.sent, 200)}" if self.sent else "")

    def answer(self) -> str:
        if self.error:
            return f"no answer ({self.error})"
        return f"HTTP {self.status} {clip(self.text.strip(), QUOTE_CHARS)}".rstrip()


_NOT_JSON = object()


class Verdict(Exception):
    """Raised by a check to end it: what it found and the exchange that shows it."""

    outcome = ""

    def __init__(self, reason: str, exchange: Exchange | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.exchange = exchange


class Failed(Verdict):
    outcome = "failed"


class NotOffered(Verdict):
    outcome = "not offered"


@dataclass
class Probe:
    """The run: one HTTP client on the gateway, the run's unique names, and what earlier checks left
    (`state`: workflow names, instance ids, answers) for later ones."""

    http: httpx.Client
    run: str
    settle: float
    state: dict[str, Any] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)
    last: Exchange | None = None

    def call(self, method: str, path: str, body: Any = None, *, raw: str | None = None) -> Exchange:
        """One request (JSON `body`, or `raw` text sent as JSON); never raises for the answer."""
        sent = raw if raw is not None else (None if body is None else json.dumps(body))
        kwargs: dict[str, Any] = {}
        if sent is not None:
            kwargs = {"content": sent.encode(), "headers": {"Content-Type": "application/json"}}
        try:
            response = self.http.request(method, path, **kwargs)
            exchange = Exchange(method, path, _shown(sent), response.status_code, response.text)
        except httpx.HTTPError as exc:
            exchange = Exchange(method, path, _shown(sent), None, "", f"{type(exc).__name__}: {exc}".rstrip(": "))
        self.last = exchange
        return exchange

    def name(self, what: str) -> str:
        """A workflow name of this run: unique, so a real gateway's own workflows are never touched."""
        return f"sharboard-conformance-{self.run}-{what}"

    def document(self, name: str) -> str:
        """The BPMN document `name` of documents/, its process ids and message names made the run's own."""
        return (DOCUMENTS / f"{name}.bpmn").read_text().replace("@RUN@", self.run)

    def create(self, what: str, document: str) -> tuple[str, str, Exchange]:
        """Create workflow `what` of this run from `document`; an answer other than 201 fails the check."""
        name, xml = self.name(what), self.document(document)
        exchange = self.call("POST", "/api/v1/workflows", {"name": name, "bpmn_xml": xml})
        if name not in self.created:
            self.created.append(name)
        expect_status(exchange, 201, "creating a workflow")
        return name, xml, exchange

    def launch(self, workflow: str, variables: dict[str, Any], **extra: Any) -> dict[str, Any]:
        exchange = self.call(
            "POST", f"/api/v1/workflows/{seg(workflow)}/instances", _launch_body(workflow, variables, extra)
        )
        expect_status(exchange, 201, "launching an instance")
        return expect_object(exchange, "id", what="the launch answer")

    def instance(self, instance_id: Any) -> dict[str, Any]:
        exchange = self.call("GET", f"/api/v1/instances/{seg(str(instance_id))}")
        expect_status(exchange, 200, "reading an instance")
        return expect_object(exchange, "id", "status", what="the instance")

    def instance_until(self, instance_id: Any, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The instance read until `done` holds or `settle` seconds pass (a real SHAR runs asynchronously)."""
        deadline = time.monotonic() + self.settle
        while True:
            data = self.instance(instance_id)
            if done(data) or time.monotonic() >= deadline:
                return data
            time.sleep(0.2)


def _launch_body(workflow: str, variables: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    return {"workflow_name": workflow, "variables": variables, **extra}


def _shown(sent: str | None) -> str | None:
    """A request body as quoted: a BPMN document is named by its size, not shown."""
    if sent is None:
        return None
    try:
        data = json.loads(sent)
    except ValueError:
        return sent
    if isinstance(data, dict) and isinstance(data.get("bpmn_xml"), str):
        data = {**data, "bpmn_xml": f"<{len(data['bpmn_xml'])} characters of BPMN>"}
    return json.dumps(data)


def seg(value: str) -> str:
    return quote(value, safe="")


def expect_status(exchange: Exchange, status: int, what: str) -> None:
    if exchange.error:
        raise Failed(f"{what}: no answer", exchange)
    if exchange.status != status:
        raise Failed(f"{what}: expected HTTP {status}", exchange)


def expect_object(exchange: Exchange, *keys: str, what: str) -> dict[str, Any]:
    body = exchange.json()
    if not isinstance(body, dict):
        raise Failed(f"{what} is not a JSON object", exchange)
    missing = [k for k in keys if k not in body]
    if missing:
        raise Failed(f"{what} lacks {', '.join(missing)}", exchange)
    return body


def expect_list(exchange: Exchange, what: str) -> list[Any]:
    body = exchange.json()
    if not isinstance(body, list):
        raise Failed(f"{what} is not a JSON list", exchange)
    return body


def offered(exchange: Exchange, call: str) -> None:
    """An extension call's "not offered" answers (docs/gateway-extensions.md): 501, 405, or a 404 that
    is not the contract's {"error": "..."} (a router's "404 page not found" for an unknown route)."""
    if exchange.error:
        raise Failed(f"{call}: no answer", exchange)
    body = exchange.json()
    json_error = isinstance(body, dict) and isinstance(body.get("error"), str)
    if exchange.status in (405, 501) or (exchange.status == 404 and not json_error):
        raise NotOffered(f"the gateway does not offer {call}", exchange)


def rfc3339(value: Any) -> bool:
    if not isinstance(value, str) or not _RFC3339.match(value):
        return False
    try:
        datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def identifier(value: Any) -> bool:
    """An id as the contract gives one: a non-empty string (or a number, as some gateways send)."""
    return (isinstance(value, str) and value.strip() != "") or (isinstance(value, int) and not isinstance(value, bool))
