"""Errors raised by the SHAR client; every httpx error is translated into one of these.

SharError                 base; .status (HTTP status or None) and .message (SHAR's text)
├── SharRetryableError    worth trying again: a 500 or 408 for this one request
│   └── SharUnavailable   SHAR cannot be reached at all: connection refused or reset, DNS,
│                         timeouts, 502/503/504, 429 (an outage: jobs are held, not failed)
└── SharPermanentError    will fail the same way again: 4xx, an answer off the contract
    ├── SharNotFound      404 with a JSON error: the workflow or instance does not exist in SHAR
    └── SharNotOffered    this SHAR lacks the call (an extension): 501, 405, or a 404 that is not a
                          JSON error (Go's "404 page not found": the route is unknown, not the instance)
"""

from __future__ import annotations


class SharError(Exception):
    """Base of every SHAR client error."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(f"{message} (HTTP {status})" if status else message)
        self.message = message
        self.status = status


class SharRetryableError(SharError):
    retryable = True


class SharUnavailable(SharRetryableError):
    """SHAR could not be reached, or said it cannot serve now. `sent` is False only when the
    request certainly never reached SHAR (the connection was refused or never made)."""

    def __init__(self, message: str, *, status: int | None = None, sent: bool = True) -> None:
        super().__init__(message, status=status)
        self.sent = sent


class SharPermanentError(SharError):
    pass


class SharNotFound(SharPermanentError):
    pass


class SharNotOffered(SharPermanentError):
    """This SHAR does not offer the call `call` (e.g. "move", "variables", "migrate")."""

    def __init__(self, message: str, *, call: str, status: int | None = None) -> None:
        super().__init__(message, status=status)
        self.call = call
