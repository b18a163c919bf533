"""HMAC-SHA256 signatures of callback bodies, so receivers can trust what they get."""
from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Sharboard-Signature"
DELIVERY_HEADER = "X-Sharboard-Delivery"
EVENT_HEADER = "X-Sharboard-Event"


def sign(body: bytes, secret: str) -> str:
    """The header value: `sha256=` and the hex HMAC of the exact body bytes."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, header: str) -> bool:
    return hmac.compare_digest(sign(body, secret), header)


def webhook_secret(configured: str, secret_key: str) -> str:
    """SHARBOARD_WEBHOOK_SECRET, or one derived from SECRET_KEY so deliveries are always signed."""
    return configured or hmac.new(secret_key.encode(), b"sharboard-webhooks", hashlib.sha256).hexdigest()
