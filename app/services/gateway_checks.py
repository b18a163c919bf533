"""Checking a SHAR gateway against the contract sharboard relies on (the conformance suite in
app.shar.conformance), for an operator deciding whether to switch to it.

It talks only to the gateway it is given (never to the configured one unless that is the URL), and
changes nothing of sharboard's: its workflows live on that gateway, named for the run, and are
deleted at its end, so no audit entry is written."""

from __future__ import annotations

from urllib.parse import urlsplit

from app.core.errors import InvalidInput
from app.services.access import require_admin
from app.services.actors import Actor
from app.shar.conformance import Report, run_checks

MAX_TIMEOUT = 600.0


def check_gateway(url: str, *, actor: Actor, timeout: float = 10.0) -> Report:
    """Every check of the suite against the gateway at `url` (admins: it creates workflows there)."""
    require_admin(actor)
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput.field("url", f"not an http(s) URL of a gateway: {url!r}")
    if not 0 < timeout <= MAX_TIMEOUT:
        raise InvalidInput.field("timeout", f"the timeout must be over 0 and at most {MAX_TIMEOUT:g} seconds")
    return run_checks(url.strip(), timeout=timeout)
