"""Both signatures of a callback, checked with the `standardwebhooks` package from PyPI where it applies."""

import base64
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from app.webhooks.signing import (
    sign,
    standard_headers,
    standard_key,
    standard_secret,
    verify,
)

BODY = b'{"job_type": "launch_instance", "status": "success"}'


@pytest.mark.parametrize("secret", ["plain-secret", "0f" * 32, "whsec_" + base64.b64encode(b"raw key bytes").decode()])
def test_standard_signature_verifies_with_the_library(secret: str) -> None:
    headers = standard_headers("sharboard-delivery-1", BODY, secret)
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(standard_secret(secret)).verify(BODY, headers) == {
        "job_type": "launch_instance",
        "status": "success",
    }


def test_a_whsec_secret_is_used_the_way_the_libraries_read_it() -> None:
    secret = "whsec_" + base64.b64encode(b"raw key bytes").decode()
    assert standard_key(secret) == b"raw key bytes" and standard_secret(secret) == secret
    assert (
        standard_key("plain") == b"plain" and standard_secret("plain") == "whsec_" + base64.b64encode(b"plain").decode()
    )


def test_a_changed_body_or_id_is_refused() -> None:
    headers = standard_headers("sharboard-delivery-1", BODY, "s")
    webhook = Webhook(standard_secret("s"))
    with pytest.raises(WebhookVerificationError):
        webhook.verify(BODY.replace(b"success", b"failed"), headers)
    with pytest.raises(WebhookVerificationError):
        webhook.verify(BODY, {**headers, "webhook-id": "sharboard-delivery-2"})


def test_an_old_timestamp_is_refused_by_the_library() -> None:
    old = standard_headers("sharboard-delivery-1", BODY, "s", timestamp=int(time.time()) - 600)
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(standard_secret("s")).verify(BODY, old)


def test_the_existing_header_is_unchanged() -> None:
    assert sign(BODY, "s").startswith("sha256=") and verify(BODY, "s", sign(BODY, "s"))
    assert not verify(BODY, "other", sign(BODY, "s"))
