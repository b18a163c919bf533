"""Delivering callbacks: one signed POST per attempt, retried with capped, jittered backoff."""
from __future__ import annotations

import json
import time
from typing import Any

import httpx
from flask import current_app

from app.config import current_settings
from app.extensions import db
from app.jobs.dispatch import submit
from app.jobs.errors import PermanentJobError, RetryableJobError
from app.jobs.runner import note_attempt
from app.models import ActivityEvent, JobRecord, WebhookDelivery
from app.models._base import utcnow
from app.webhooks.address_policy import AddressRefused, check_callback_url
from app.webhooks.signing import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    sign,
    webhook_secret,
)

DELIVERY_TIMEOUT = 10.0


def schedule_delivery(url: str, payload: dict[str, Any], *, subject_type: str, subject_id: str | int,
                      replay_of: int | None = None) -> WebhookDelivery:
    """Store the exact body to send and queue its delivery."""
    delivery = WebhookDelivery(job_type=payload["job_type"], url=url, body=json.dumps(payload, sort_keys=True),
                               subject_type=subject_type, subject_id=str(subject_id), replay_of=replay_of)
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
    delivery.last_error = str(exc)
    _timeline(delivery, "callback_failed", f"callback to {delivery.url} failed: {exc}")
    db.session.commit()


def deliver(job_record: JobRecord) -> None:
    """POST the stored body to the callback URL, signed; 2xx is delivered."""
    delivery = _delivery(job_record)
    if delivery.state != "pending":
        return
    settings = current_settings()
    delivery.attempts += 1
    try:
        check_callback_url(delivery.url, settings)
    except AddressRefused as exc:
        delivery.state, delivery.last_error = "refused", str(exc)
        db.session.commit()
        raise PermanentJobError(str(exc)) from None
    body = delivery.body.encode()
    secret = webhook_secret(settings.webhook_secret, current_app.config["SECRET_KEY"])
    headers = {"Content-Type": "application/json", "User-Agent": "sharboard-webhooks",
               SIGNATURE_HEADER: sign(body, secret), DELIVERY_HEADER: str(delivery.id),
               EVENT_HEADER: delivery.job_type}
    started = time.monotonic()
    try:
        # No redirects: a redirect could point at an address the policy refuses.
        response = httpx.post(delivery.url, content=body, headers=headers, timeout=DELIVERY_TIMEOUT,
                              follow_redirects=False)
    except httpx.HTTPError as exc:
        delivery.last_error = f"{exc.__class__.__name__}: {exc}"
        note_attempt(job_record, error=delivery.last_error, elapsed_ms=_ms(started))
        db.session.commit()
        raise RetryableJobError(f"callback to {delivery.url} failed: {delivery.last_error}") from exc
    delivery.last_status_code = response.status_code
    note_attempt(job_record, status_code=response.status_code, elapsed_ms=_ms(started))
    if response.is_success:
        delivery.state, delivery.delivered_at, delivery.last_error = "delivered", utcnow(), None
        _timeline(delivery, "callback_delivered", f"callback delivered to {delivery.url} (HTTP {response.status_code})")
        db.session.commit()
        return
    delivery.last_error = f"HTTP {response.status_code}: {response.text[:200]}"
    db.session.commit()
    error = f"callback to {delivery.url} answered HTTP {response.status_code}"
    if response.status_code >= 500 or response.status_code in (408, 429):
        raise RetryableJobError(error)
    raise PermanentJobError(error)


def _timeline(delivery: WebhookDelivery, kind: str, message: str) -> None:
    db.session.add(ActivityEvent(subject_type=delivery.subject_type, subject_id=delivery.subject_id,
                                 kind=kind, message=message, data={"delivery_id": delivery.id}))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
