"""Errors raised by the SHAR client; every httpx error is translated into one of these.

    SharError                 base; .status (HTTP status or None) and .message (SHAR's text)
    ├── SharRetryableError    worth trying again: connection refused, timeout, 5xx, 429
    └── SharPermanentError    will fail the same way again: 4xx, an answer off the contract
        └── SharNotFound      404: the workflow or instance does not exist in SHAR
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


class SharPermanentError(SharError):
    pass


class SharNotFound(SharPermanentError):
    pass
