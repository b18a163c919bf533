"""Signatures of callback bodies, so receivers can trust what they get.

Two schemes, both on every delivery:

- `X-Sharboard-Signature: sha256=<hex HMAC-SHA256 of the body>`, as before, for existing
  receivers;
- the Standard Webhooks headers (https://www.standardwebhooks.com/): `webhook-id` (the same
  on every retry of a delivery), `webhook-timestamp` (Unix seconds of the attempt) and
  `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`. Receivers verify them
  with any Standard Webhooks library and refuse old timestamps (replays). The key is the
  secret's UTF-8 bytes, so a receiver configures `whsec_` + base64(secret); a secret that
  already is a `whsec_…` value is used the way those libraries read it (base64-decoded).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Sharboard-Signature"
DELIVERY_HEADER = "X-Sharboard-Delivery"
EVENT_HEADER = "X-Sharboard-Event"
STANDARD_ID_HEADER = "webhook-id"
STANDARD_TIMESTAMP_HEADER = "webhook-timestamp"
STANDARD_SIGNATURE_HEADER = "webhook-signature"
STANDARD_SECRET_PREFIX = "whsec_"


def sign(body: bytes, secret: str) -> str:
    """The header value: `sha256=` and the hex HMAC of the exact body bytes."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, header: str) -> bool:
    return hmac.compare_digest(sign(body, secret), header)


def webhook_secret(configured: str, secret_key: str) -> str:
    """SHARBOARD_WEBHOOK_SECRET, or one derived from SECRET_KEY so deliveries are always signed."""
    return configured or hmac.new(secret_key.encode(), b"sharboard-webhooks", hashlib.sha256).hexdigest()


def standard_key(secret: str) -> bytes:
    """The HMAC key of the Standard Webhooks signature for `secret`."""
    if secret.startswith(STANDARD_SECRET_PREFIX):
        try:
            key = base64.b64decode(secret[len(STANDARD_SECRET_PREFIX) :] + "==", validate=False)
        except (binascii.Error, ValueError):
            key = b""
        if key:
            return key
    return secret.encode()


def standard_secret(secret: str) -> str:
    """What a Standard Webhooks receiver configures to verify sharboard's deliveries."""
    if secret.startswith(STANDARD_SECRET_PREFIX):
        return secret
    return STANDARD_SECRET_PREFIX + base64.b64encode(secret.encode()).decode()


def sign_standard(msg_id: str, timestamp: int, body: bytes, secret: str) -> str:
    """`v1,` and the base64 HMAC-SHA256 of `msg_id.timestamp.body`."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(standard_key(secret), signed, hashlib.sha256).digest()).decode()


def standard_headers(msg_id: str, body: bytes, secret: str, *, timestamp: int | None = None) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt (timestamp: now)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    return {
        STANDARD_ID_HEADER: msg_id,
        STANDARD_TIMESTAMP_HEADER: str(stamp),
        STANDARD_SIGNATURE_HEADER: sign_standard(msg_id, stamp, body, secret),
    }
