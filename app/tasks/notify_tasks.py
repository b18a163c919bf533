"""Jobs that tell people and systems what happened: notification e-mails and callbacks, on their
own queue so a slow receiver or SMTP server never holds a worker a sync waits for."""

from __future__ import annotations

from app.jobs.specs import JobSpec, exponential_waits
from app.notifications.email import send_notification_email
from app.webhooks.delivery import deliver, delivery_failed

SPECS = (
    # Eight attempts over about an hour (30 s doubling to 32 min): an SMTP server restarted or briefly
    # away delays an e-mail; it loses none (before: 3 attempts over 2.5 min).
    JobSpec(
        "send_email",
        "shar_notify_queue",
        8,
        exponential_waits(30, 1920, 7),
        60,
        send_notification_email,
        jitter=True,
        delivers="email",
    ),
    JobSpec(
        "deliver_webhook",
        "shar_notify_queue",
        6,
        exponential_waits(10, 3600, 5),
        60,
        deliver,
        on_failure=delivery_failed,
        jitter=True,
        attempts_setting="webhook_max_attempts",
        delivers="webhook",
    ),
)
