"""The errors sharboard's services raise; web, API and CLI translate them for their users.

    SharboardError
    ├── NotFound            unknown name or id, or not the caller's to see (404)
    ├── PermissionDenied    the caller's role may not do this (403)
    ├── InvalidInput        bad field values; .errors maps field -> messages (422)
    │   └── PayloadTooLarge     an upload over the size limit (413)
    ├── Conflict            the current state forbids the action (409)
    │   └── InvalidTransition   a status change the status flow does not allow
    ├── TooManyRequests     the caller's own limit: one costly read at a time, so many a minute (429)
    ├── ServiceUnavailable  work cannot be accepted now, e.g. queue down (503)
    ├── NotOffered          this SHAR does not offer the call the operation needs (501)
    └── UpstreamFailed      SHAR answered with an error or not at all, in a blocking call (502)

SHAR's own errors live in app.shar.errors; services translate them into UpstreamFailed
where a caller waits on SHAR, so front doors never import the SHAR client or its errors.
"""

from __future__ import annotations


class SharboardError(Exception):
    """Base of every error a service raises on purpose."""

    status_code = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(SharboardError):
    status_code = 404


class PermissionDenied(SharboardError):
    status_code = 403


class InvalidInput(SharboardError):
    status_code = 422

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or {}

    @classmethod
    def field(cls, name: str, message: str) -> InvalidInput:
        return cls(message, {name: [message]})


class PayloadTooLarge(InvalidInput):
    status_code = 413


class Conflict(SharboardError):
    status_code = 409


class InvalidTransition(Conflict):
    pass


class TooManyRequests(SharboardError):
    """Refused for now, for this caller only; `retry_after` seconds is when to try again."""

    status_code = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServiceUnavailable(SharboardError):
    status_code = 503

    def __init__(self, message: str, retry_after: int = 30) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NotOffered(SharboardError):
    """The SHAR behind sharboard answered that it has no such call (services.shar_features): the
    action is unavailable there, not broken."""

    status_code = 501


class UpstreamFailed(SharboardError):
    status_code = 502
