"""An SMTP server away (its port closed) for longer than the old e-mail schedule (3 attempts over
2.5 min, which then failed the e-mail for good) delays the e-mail and loses none; it is sent once."""

from __future__ import annotations

import time

from sqlalchemy import select

from app.core.extensions import db
from app.models import JobAttempt, JobRecord
from app.notifications.in_app import notify
from tests.support.factories import make_user, refresh
from tests.support.servers import SmtpSink, free_port, wait_until

# The e-mail schedule (30 s doubling to 1,920 s, jittered) at this scale: 0.03-0.06 s first, 2-4 s last.
SCALE = 0.002


def test_an_smtp_server_away_delays_the_email_and_loses_none(make_app, processes) -> None:  # type: ignore[no-untyped-def]
    port = free_port()  # nothing listens on it yet: SMTP refused
    make_app(mail_port=port, time_scale=SCALE)
    user = make_user()
    processes.start_consumers()
    note = notify(
        user.id, kind="instance_completed", target_type="instance", target_id="x1", title="Done", body="b", link="/"
    )
    assert note is not None
    job = db.session.scalars(select(JobRecord).where(JobRecord.job_type == "send_email")).one()
    # Past the old schedule's three attempts (0.3 s at this scale), and more.
    wait_until(lambda: refresh(job).attempts >= 4, timeout=30, what="four attempts against a closed port")
    assert refresh(job).state in ("retrying", "queued", "running"), refresh(job).last_error
    assert "refused" in (refresh(job).last_error or "").lower(), refresh(job).last_error

    sink = SmtpSink(port=port)
    try:
        wait_until(lambda: sink.messages, timeout=30, what="the e-mail once the SMTP server is back")
        wait_until(lambda: refresh(job).state == "succeeded", timeout=10, what="the e-mail job to succeed")
        time.sleep(0.5)
        assert len(sink.messages) == 1 and sink.messages[0]["Subject"] == "Done"
        assert refresh(note).emailed_at is not None
        tries = db.session.scalars(select(JobAttempt.outcome).where(JobAttempt.job_id == job.id)).all()
        assert tries[-1] == "succeeded" and tries.count("retry") >= 4, tries
    finally:
        sink.stop()
