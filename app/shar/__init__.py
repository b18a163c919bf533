"""Access to SHAR: the client and its errors."""

from app.shar.client import (
    SharClient,
    SharHealth,
    SharInstance,
    client_for,
    current_client,
)
from app.shar.errors import (
    SharError,
    SharNotFound,
    SharPermanentError,
    SharRetryableError,
    SharUnavailable,
)

__all__ = [
    "SharClient",
    "SharError",
    "SharHealth",
    "SharInstance",
    "SharNotFound",
    "SharPermanentError",
    "SharRetryableError",
    "SharUnavailable",
    "client_for",
    "current_client",
]
