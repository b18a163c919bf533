"""The SHAR gateway client: the only code in sharboard that talks to SHAR.

It speaks the contract in shar-gateway-api.md over one pooled httpx client, checks
that every answer has the contract's shape, and translates every failure into the
typed errors of app.shar.errors at this boundary.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import quote

import httpx

from app.core import metrics
from app.core.logging_setup import SHAR_LOGGER
from app.core.text import clip, storable
from app.shar.errors import (
    SharError,
    SharNotFound,
    SharNotOffered,
    SharPermanentError,
    SharRetryableError,
    SharUnavailable,
)

logger = logging.getLogger(f"{SHAR_LOGGER}.client")
INSTANCE_STATUSES = ("running", "completed", "failed")
# Answers that speak of SHAR as a whole, not of the request: a gateway or SHAR itself cannot serve now.
OUTAGE_STATUSES = frozenset({429, 502, 503, 504})
# Connections one process's client holds open to SHAR at once: a batch of jobs run together
# (JobSpec.together.most) makes its calls at once, and must not wait for one of them.
MAX_CONNECTIONS = 20


@dataclass(frozen=True)
class SharInstance:
    """What SHAR says of one instance; extension fields are empty when SHAR lacks them."""

    id: str
    workflow_name: str
    status: str
    variables: dict[str, Any]
    created_at: str | None = None
    current_activities: tuple[str, ...] | None = None
    error: str | None = None
    completed_at: str | None = None
    # The elements SHAR says the instance completed, in order, where it offers them (an extension).
    completed_activities: tuple[str, ...] | None = None
    # The version of its workflow the instance runs (SHAR's number; an extension).
    workflow_version: int | None = None
    # Where a failed instance stands (the elements a move may start from; an extension).
    failed_activities: tuple[str, ...] | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class MoveResult:
    """SHAR's answer to a move: the instance after it, the elements its tokens left and entered."""

    instance: SharInstance
    left: tuple[str, ...]
    entered: tuple[str, ...]


@dataclass(frozen=True)
class SharHealth:
    healthy: bool
    status: str
    version: str | None
    detail: str = ""
    # False when SHAR could not be reached or answered as a whole that it cannot serve (an outage);
    # an unhealthy SHAR that answers is reachable.
    reachable: bool = True


class SharClient:
    """A thin, typed face over the gateway's HTTP endpoints."""

    def __init__(self, base_url: str, *, timeout: float = 30.0, transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=10),
            headers={"Accept": "application/json", "User-Agent": "sharboard"},
            verify=tls_context(),
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    # -- workflows ---------------------------------------------------------------
    def create_workflow(self, name: str, bpmn_xml: str) -> dict[str, Any]:
        """POST /api/v1/workflows; SHAR's answer as it came."""
        body = self._request("POST", "/api/v1/workflows", json={"name": name, "bpmn_xml": bpmn_xml})
        return _expect_object(body, "name", what="workflow creation")

    def list_workflows(self) -> list[dict[str, Any]]:
        return _expect_list(self._request("GET", "/api/v1/workflows"), what="workflow list")

    def get_workflow(self, name: str) -> dict[str, Any]:
        body = self._request("GET", f"/api/v1/workflows/{_seg(name)}")
        return _expect_object(body, "name", what="workflow")

    def delete_workflow(self, name: str) -> dict[str, Any]:
        return _expect_object(self._request("DELETE", f"/api/v1/workflows/{_seg(name)}"), what="workflow deletion")

    # -- instances ---------------------------------------------------------------
    def launch_instance(
        self, workflow_name: str, variables: dict[str, Any], process_id: str | None = None, message: str | None = None
    ) -> SharInstance:
        """Launch an instance; `process_id` chooses the process of a file with several, `message` starts
        it at its message start event of that name (contract extensions the reference gateway ignores;
        each is sent only when given)."""
        payload: dict[str, Any] = {"workflow_name": workflow_name, "variables": variables}
        if process_id:
            payload["process_id"] = process_id
        if message:
            payload["message"] = message
        body = self._request("POST", f"/api/v1/workflows/{_seg(workflow_name)}/instances", json=payload)
        return _instance(body)

    def list_instances(self) -> list[SharInstance]:
        return [
            _instance(item) for item in _expect_list(self._request("GET", "/api/v1/instances"), what="instance list")
        ]

    def get_instance(self, instance_id: str) -> SharInstance:
        return _instance(self._request("GET", f"/api/v1/instances/{_seg(instance_id)}"))

    def complete_instance(self, instance_id: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Complete the instance's waiting task; variables are sent only when given."""
        kwargs: dict[str, Any] = {"json": {"variables": variables}} if variables else {}
        body = self._request("POST", f"/api/v1/instances/{_seg(instance_id)}/complete", **kwargs)
        return _expect_object(body, what="instance completion")

    def deliver_message(self, instance_id: str, name: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST /api/v1/instances/{id}/messages (contract extension, see docs/messages.md): deliver
        message `name` with `variables` to the instance's waiting message event or receive task."""
        body = self._request(
            "POST", f"/api/v1/instances/{_seg(instance_id)}/messages", json={"name": name, "variables": variables or {}}
        )
        return _expect_object(body, what="message delivery")

    # -- repairs (contract extensions, docs/gateway-extensions.md) -----------------
    def move_instance(
        self, instance_id: str, from_elements: list[str], to_element: str, variables: dict[str, Any] | None = None
    ) -> MoveResult:
        """POST /api/v1/instances/{id}/move: take the tokens at `from_elements`, place one at `to_element`."""
        payload: dict[str, Any] = {"from": list(from_elements), "to": to_element}
        if variables:
            payload["variables"] = variables
        body = self._request("POST", f"/api/v1/instances/{_seg(instance_id)}/move", json=payload, call="move")
        data = _expect_object(body, "instance", "left", "entered", what="a move")
        if not isinstance(data["left"], list) or not isinstance(data["entered"], list):
            raise SharPermanentError(f"SHAR's answer to a move is not what the contract says: {str(body)[:200]}")
        return MoveResult(
            _instance(data["instance"]), tuple(str(e) for e in data["left"]), tuple(str(e) for e in data["entered"])
        )

    def set_variables(self, instance_id: str, set_: dict[str, Any], remove: list[str]) -> SharInstance:
        """PATCH /api/v1/instances/{id}/variables: set and remove process variables; nothing else moves."""
        body = self._request(
            "PATCH",
            f"/api/v1/instances/{_seg(instance_id)}/variables",
            json={"set": set_, "remove": list(remove)},
            call="variables",
        )
        return _instance(body)

    def migrate_instance(self, instance_id: str, version: int, mapping: dict[str, str]) -> SharInstance:
        """POST /api/v1/instances/{id}/migrate: run version `version` of its workflow from where it stands."""
        body = self._request(
            "POST",
            f"/api/v1/instances/{_seg(instance_id)}/migrate",
            json={"version": version, "mapping": dict(mapping)},
            call="migrate",
        )
        return _instance(body)

    # -- health ------------------------------------------------------------------
    def health(self) -> SharHealth:
        """GET /health; unreachable or 503 reads as unhealthy, never raises."""
        try:
            response = self._http.get("/health")
        except httpx.HTTPError as exc:
            return SharHealth(False, "unreachable", None, _describe_transport_error(exc), reachable=False)
        try:
            body = response.json()
        except ValueError:
            body = {}
        status = body.get("status", "unknown") if isinstance(body, dict) else "unknown"
        healthy = response.status_code == 200 and status == "healthy"
        return SharHealth(
            healthy,
            status,
            body.get("version") if isinstance(body, dict) else None,
            "" if healthy else f"HTTP {response.status_code}",
            reachable=response.status_code not in OUTAGE_STATUSES,
        )

    # -- plumbing ----------------------------------------------------------------
    def _request(self, method: str, path: str, *, call: str | None = None, **kwargs: Any) -> Any:
        """One call; `call` names an extension a SHAR may lack (its "not offered" answers raise SharNotOffered)."""
        logger.debug("shar request", extra={"method": method, "path": path})
        started = time.monotonic()

        def ended(error: str | None = None) -> None:
            metrics.shar_call(method, path, time.monotonic() - started, error)

        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            ended("timeout")
            raise SharUnavailable(
                f"SHAR did not answer {method} {path} in time: {exc.__class__.__name__}",
                sent=not isinstance(exc, httpx.ConnectTimeout),
            ) from exc
        except httpx.TransportError as exc:
            ended("unreachable")
            raise SharUnavailable(
                f"SHAR unreachable for {method} {path}: {_describe_transport_error(exc)}",
                sent=not isinstance(exc, httpx.ConnectError),
            ) from exc
        logger.debug("shar response", extra={"method": method, "path": path, "status": response.status_code})
        if response.is_success:
            try:
                body = response.json()
            except ValueError as exc:
                ended("bad_body")
                raise SharPermanentError(
                    f"SHAR answered {method} {path} with a body that is not JSON", status=response.status_code
                ) from exc
            ended()
            return body
        ended(f"http_{response.status_code // 100}xx")
        raise _error_for(response, f"{method} {path}", call)


def _error_for(response: httpx.Response, what: str, call: str | None = None) -> SharError:
    """502/503/504 and 429 say SHAR cannot serve now (an outage); a 500 or 408 may pass for this request;
    any other 4xx (sharlite's 422 refusals) will be answered again. For an extension (`call`), 501, 405
    or a 404 that is not a JSON error say this SHAR lacks the call."""
    message = _error_message(response)
    status = response.status_code
    if call is not None and (status in (405, 501) or (status == 404 and not _json_error(response))):
        return SharNotOffered(f"this SHAR does not offer {call} ({what})", call=call, status=status)
    if status in OUTAGE_STATUSES:
        # 503 and 429 say the request was not served; behind a 502 or 504 SHAR may have done it.
        return SharUnavailable(message or f"SHAR cannot serve {what} now", status=status, sent=status in (502, 504))
    if status == 404:
        return SharNotFound(message or f"SHAR has no such resource for {what}", status=status)
    if status >= 500 or status == 408:
        return SharRetryableError(message or f"SHAR failed {what}", status=status)
    return SharPermanentError(message or f"SHAR refused {what}", status=status)


def _json_error(response: httpx.Response) -> bool:
    """The answer is the contract's error object: {"error": "..."}."""
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get("error"), str)


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return clip(response.text.strip(), 500)
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return clip(body["error"])
    return clip(str(body), 500)


def _describe_transport_error(exc: httpx.HTTPError) -> str:
    return str(exc) or exc.__class__.__name__


def _seg(value: str) -> str:
    """One URL path segment: names may hold spaces or slashes."""
    return quote(value, safe="")


def _expect_object(body: Any, *keys: str, what: str) -> dict[str, Any]:
    if not isinstance(body, dict) or any(k not in body for k in keys):
        raise SharPermanentError(f"SHAR's answer to {what} is not what the contract says: {str(body)[:200]}")
    return body


def _expect_list(body: Any, *, what: str) -> list[Any]:
    if not isinstance(body, list):
        raise SharPermanentError(f"SHAR's answer to {what} is not a list: {str(body)[:200]}")
    return body


def _instance(body: Any) -> SharInstance:
    data = _expect_object(body, "id", "status", what="an instance")
    if data["status"] not in INSTANCE_STATUSES:
        raise SharPermanentError(f"SHAR reported an unknown instance status {data['status']!r}")
    activities = data.get("current_activities")
    completed = data.get("completed_activities")
    version = data.get("workflow_version")
    failed = data.get("failed_activities")
    return SharInstance(
        id=str(data["id"]),
        workflow_name=str(data.get("workflow_name", "")),
        status=data["status"],
        variables=storable(data["variables"]) if isinstance(data.get("variables"), dict) else {},  # type: ignore[arg-type]
        created_at=data.get("created_at"),
        current_activities=tuple(activities) if isinstance(activities, list) else None,
        error=clip(data["error"]) if isinstance(data.get("error"), str) else None,
        completed_at=data.get("completed_at"),
        completed_activities=tuple(str(e) for e in completed) if isinstance(completed, list) else None,
        workflow_version=version if isinstance(version, int) and not isinstance(version, bool) else None,
        failed_activities=tuple(str(e) for e in failed) if isinstance(failed, list) else None,
        raw=data,
    )


@cache
def tls_context() -> ssl.SSLContext:
    """The TLS settings of every SHAR client of this process (httpx's own default: certifi's bundle,
    or SSL_CERT_FILE / SSL_CERT_DIR), built once: loading the bundle costs about 20 ms of CPU, which
    each new client paid again. A consumer builds it before forking its workers (app.core.runtime)."""
    return httpx.create_ssl_context()


_clients: dict[tuple[str, float], SharClient] = {}
_clients_lock = threading.Lock()


def client_for(base_url: str, timeout: float) -> SharClient:
    """The process-wide pooled client for this gateway (one connection pool per process)."""
    key = (base_url, timeout)
    with _clients_lock:
        if key not in _clients:
            _clients[key] = SharClient(base_url, timeout=timeout)
        return _clients[key]


def current_client() -> SharClient:
    """The pooled client for the gateway of the app in context."""
    from app.core.config import current_settings

    settings = current_settings()
    return client_for(settings.shar_url(), settings.shar_timeout)
