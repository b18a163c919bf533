"""Delivering callbacks: one signed POST per attempt, retried with capped, jittered backoff.

Each attempt connects only to the address vetted just before it (pinned, see transport.py),
within one total deadline (SHARBOARD_WEBHOOK_TIMEOUT), reads at most 4 KiB of the answer and
never follows a redirect. Deliveries run on the notify queue (SHAR_NOTIFY_QUEUE), apart from
syncs, and are tried at most SHARBOARD_WEBHOOK_MAX_ATTEMPTS times.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, NoReturn

from flask import current_app

from app.core.config import Settings, current_settings
from app.core.extensions import db
from app.core.text import clip
from app.jobs.dispatch import submit
from app.jobs.errors import PermanentJobError, RetryableJobError
from app.jobs.runner import note_attempt
from app.models import ActivityEvent, JobRecord, WebhookDelivery
from app.models._base import utcnow
from app.webhooks.address_policy import (
    AddressRefused,
    ResolveTimeout,
    check_callback_url,
)
from app.webhooks.signing import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    sign,
    standard_headers,
    webhook_secret,
)
from app.webhooks.transport import DEFAULT_KEEP_BYTES, Answer, DeliveryFailed, post

RESPONSE_KEEP_BYTES = DEFAULT_KEEP_BYTES  # of an answer's body, kept for the attempt record

logger = logging.getLogger("sharboard.webhooks")


def schedule_delivery(
    url: str, payload: dict[str, Any], *, target_type: str, target_id: str | int, replay_of: int | None = None
) -> WebhookDelivery:
    """Store the exact body to send and queue its delivery (committing the caller's session)."""
    delivery = WebhookDelivery(
        job_type=payload["job_type"],
        url=url,
        body=json.dumps(payload, sort_keys=True),
        target_type=target_type,
        target_id=str(target_id),
        replay_of=replay_of,
    )
    db.session.add(delivery)
    db.session.flush()
    submit("deliver_webhook", target_type="webhook", target_id=delivery.id)
    return delivery


def _delivery(job_record: JobRecord) -> WebhookDelivery:
    delivery = db.session.get(WebhookDelivery, int(job_record.target_id))
    if delivery is None:
        raise PermanentJobError(f"webhook delivery {job_record.target_id} no longer exists")
    return delivery


def delivery_failed(job_record: JobRecord, exc: BaseException) -> None:
    delivery = _delivery(job_record)
    if delivery.state == "pending":
        delivery.state = "failed"
    delivery.last_error = clip(delivery.last_error or str(exc))
    _timeline(delivery, "callback_failed", clip(f"callback to {delivery.url} failed: {delivery.last_error}"))
    db.session.commit()


def deliver(job_record: JobRecord) -> None:
    """POST the stored body to the callback URL, signed; 2xx is delivered."""
    delivery = _delivery(job_record)
    if delivery.state != "pending":
        return
    settings = current_settings()
    delivery.attempts += 1
    started = time.monotonic()  # one deadline for the whole attempt: resolving included
    addresses = _vetted_addresses(job_record, delivery, settings, started)
    answer = _send(job_record, delivery, settings, addresses, started)
    delivery.last_status_code = answer.status
    note_attempt(
        job_record,
        status_code=answer.status,
        elapsed_ms=_ms(started),
        peer=answer.peer,
        response_bytes_read=answer.body_bytes_read,
        response_complete=answer.body_complete,
        response_body=answer.text,
    )
    _settle(job_record, delivery, answer)


def _vetted_addresses(
    job_record: JobRecord, delivery: WebhookDelivery, settings: Settings, started: float
) -> list[str]:
    """The callback host's addresses, each allowed by the address policy; else the attempt ends here."""
    try:
        return check_callback_url(delivery.url, settings)
    except ResolveTimeout as exc:  # a slow DNS server is no verdict on the address: try again later
        _fail(job_record, delivery, str(exc), retry=True, elapsed_ms=_ms(started))
    except AddressRefused as exc:  # the delivery row says only that it was refused; the log says why
        logger.warning("callback delivery %s refused: %s", delivery.id, exc.detail)
        _fail(job_record, delivery, str(exc), retry=False, state="refused")


def _signed_headers(delivery: WebhookDelivery, body: bytes, settings: Settings) -> dict[str, str]:
    secret = webhook_secret(settings.webhook_secret, current_app.config["SECRET_KEY"])
    return {
        "Content-Type": "application/json",
        "User-Agent": "sharboard-webhooks",
        SIGNATURE_HEADER: sign(body, secret),
        DELIVERY_HEADER: str(delivery.id),
        EVENT_HEADER: delivery.job_type,
        **standard_headers(f"sharboard-delivery-{delivery.id}", body, secret),
    }


def _send(
    job_record: JobRecord, delivery: WebhookDelivery, settings: Settings, addresses: list[str], started: float
) -> Answer:
    """The signed POST to the vetted addresses, within what is left of the deadline; no answer is retried."""
    body = delivery.body.encode()
    headers = _signed_headers(delivery, body, settings)
    try:
        return post(
            delivery.url,
            body,
            headers,
            addresses=addresses,
            deadline=settings.webhook_timeout,
            started=started,
            keep_bytes=RESPONSE_KEEP_BYTES,
        )
    except DeliveryFailed as exc:
        _fail(job_record, delivery, str(exc), retry=True, elapsed_ms=_ms(started))


def _settle(job_record: JobRecord, delivery: WebhookDelivery, answer: Answer) -> None:
    """What the answer's status makes of the delivery: 2xx delivered, 3xx refused, 5xx/408/429 retried."""
    if 200 <= answer.status < 300:
        delivery.state, delivery.delivered_at, delivery.last_error = "delivered", utcnow(), None
        _timeline(delivery, "callback_delivered", f"callback delivered to {delivery.url} (HTTP {answer.status})")
        db.session.commit()
        return
    if 300 <= answer.status < 400:
        # Never followed: the target could be an address the policy refuses.
        location = clip(answer.headers.get("location", "no Location"), 300)
        _fail(
            job_record,
            delivery,
            f"HTTP {answer.status}: redirect to {location} not followed "
            "(callbacks are never redirected; configure the final URL)",
            retry=False,
        )
    _fail(
        job_record,
        delivery,
        f"HTTP {answer.status}: {answer.text}",
        retry=answer.status >= 500 or answer.status in (408, 429),
    )


def _fail(
    job_record: JobRecord,
    delivery: WebhookDelivery,
    error: str,
    *,
    retry: bool,
    state: str | None = None,
    **detail: object,
) -> NoReturn:
    """Record why this attempt failed, on the delivery and its attempt, then end the attempt:
    retried after the backoff, or given up (with `state`, e.g. refused)."""
    delivery.last_error = clip(error, 500)  # a receiver's text is bounded where it is stored
    if state is not None:
        delivery.state = state
    note_attempt(job_record, error=delivery.last_error, **detail)
    db.session.commit()
    message = f"callback to {delivery.url} failed: {delivery.last_error}"
    raise RetryableJobError(message) if retry else PermanentJobError(message)


def _timeline(delivery: WebhookDelivery, kind: str, message: str) -> None:
    db.session.add(
        ActivityEvent(
            target_type=delivery.target_type,
            target_id=delivery.target_id,
            kind=kind,
            message=message,
            data={"delivery_id": delivery.id},
        )
    )


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
