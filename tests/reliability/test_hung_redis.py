"""A Redis that accepts connections and never answers (paused, cut off) costs a process one short
timeout, then its calls fail at once for a while: requests answer at once as when Redis is down, and
the jobs wait for the reconciler (before, a fault probe saw 15-20 s a completion: every Redis call of a
request waited on its own)."""

from __future__ import annotations

import socket
import time
from typing import Any

from app.core import redis_gate
from app.core.extensions import db
from app.models import ApiToken, JobRecord
from tests.support.factories import bpmn, make_user
from tests.support.servers import free_port
from tests.support.stack import build_app


def test_a_redis_that_never_answers_costs_one_timeout_then_requests_answer_at_once(overrides: dict[str, Any]) -> None:
    port = free_port()
    silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    silent.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    silent.bind(("127.0.0.1", port))
    silent.listen(128)  # the kernel completes each handshake; nothing ever reads or answers
    redis_gate.reopen()
    try:
        app = build_app(**{**overrides, "redis_url": f"redis://127.0.0.1:{port}/0"})
        with app.app_context():
            user = make_user()
            token, plain = ApiToken.issue(user, "test")
            db.session.add(token)
            db.session.commit()
            client = app.test_client()
            headers = {"Authorization": f"Bearer {plain}"}
            took = []
            for n in range(6):
                began = time.monotonic()
                answer = client.post(
                    "/api/shar/workflows", json={"name": f"Hung{n}", "bpmn_xml": bpmn("user_task")}, headers=headers
                )
                took.append(time.monotonic() - began)
                assert answer.status_code == 202, answer.get_json()
            # The first meets the silence once (one timeout closes the gate for every client of the
            # process); the others do not wait at all.
            assert took[0] < redis_gate.CONNECT_TIMEOUT + redis_gate.COMMAND_TIMEOUT + 2.0, took
            assert max(took[1:]) < 0.5, took
            jobs = db.session.query(JobRecord).all()
            assert len(jobs) == 6 and all(job.enqueue_error for job in jobs)  # the reconciler's to hand over
    finally:
        silent.close()
        redis_gate.reopen()


def test_a_refused_connection_closes_no_gate() -> None:
    """Redis down (its port refuses) costs nothing to meet again: calls go through the moment it is back."""
    import redis

    port = free_port()  # nothing listens
    url = f"redis://127.0.0.1:{port}/0"
    redis_gate.reopen()
    client = redis.Redis.from_url(url, **redis_gate.options(url))
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        assert not isinstance(exc, redis_gate.RedisUnavailable)
    else:
        raise AssertionError("a port nobody listens on answered")
    assert redis_gate.is_open(("127.0.0.1", port))
