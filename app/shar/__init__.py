"""Access to SHAR: the client and its errors."""

from app.shar.client import (
    MoveResult,
    SharClient,
    SharHealth,
    SharInstance,
    client_for,
    current_client,
)
from app.shar.errors import (
    SharError,
    SharNotFound,
    SharNotOffered,
    SharPermanentError,
    SharRetryableError,
    SharUnavailable,
)

__all__ = [
    "MoveResult",
    "SharClient",
    "SharError",
    "SharHealth",
    "SharInstance",
    "SharNotFound",
    "SharNotOffered",
    "SharPermanentError",
    "SharRetryableError",
    "SharUnavailable",
    "client_for",
    "current_client",
]
