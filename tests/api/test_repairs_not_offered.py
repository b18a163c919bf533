"""A SHAR without the repair calls: a tiny gateway that answers the move and variables calls as Go's
router does for an unknown route (404, "404 page not found" as text) and hands every other request to
the real engine. The move job ends at its first attempt, the call is recorded as not offered, the
timeline says so, and every door then shows the action as unavailable with the reason (the API 501),
until an answer to the call clears it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from flask import Flask, Response, request
from sqlalchemy import select
from werkzeug.serving import make_server

from app.core.extensions import db
from app.models import JobRecord, User
from app.services import shar_features
from app.services.launches import launch_instance
from app.services.workflows import create_workflow
from tests.api.test_repairs import entries, instance, run_jobs
from tests.cli.conftest import cli_runner
from tests.support.factories import bpmn
from tests.support.servers import serving
from tests.support.web import Browser

PASSWORD = "pw-ann-123"  # tests.support.factories.make_user's, which the API client's user has


def _gateway(engine_url: str) -> Flask:
    gateway = Flask("gateway-without-repairs")

    @gateway.post("/api/v1/instances/<instance_id>/move")
    @gateway.patch("/api/v1/instances/<instance_id>/variables")
    def unknown(instance_id: str) -> Response:
        return Response("404 page not found\n", 404, mimetype="text/plain")

    @gateway.route("/<path:path>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def forward(path: str) -> Response:
        answer = httpx.request(
            request.method,
            f"{engine_url}/{path}",
            params=request.args,
            content=request.get_data(),
            headers={"Content-Type": request.headers.get("Content-Type", "application/json")},
        )
        return Response(answer.content, answer.status_code, content_type=answer.headers.get("content-type"))

    return gateway


@pytest.fixture
def gateway(shar: Any) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, _gateway(shar.url), threaded=True)
    serving(server)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def overrides(overrides: dict[str, Any], gateway: str) -> dict[str, Any]:
    return {**overrides, "shar_base_url": gateway}


def test_a_move_this_shar_does_not_offer_shows_as_unavailable(app, api) -> None:  # type: ignore[no-untyped-def]
    ann = db.session.scalars(select(User).where(User.email == "ann@example.com")).one()  # the API client's user
    create_workflow("Twice", bpmn("two_step"), actor=ann, async_=False)
    instance_id = launch_instance("Twice", {}, actor=ann, async_=False).instance.id
    url = f"/api/shar/instances/{instance_id}"
    body = {"from": "first", "to": "second"}

    assert api.post(f"{url}/move", json=body).status_code == 202  # not known yet: offered, queued
    assert run_jobs(instance_id) == ["move_instance"]
    job = db.session.scalars(select(JobRecord).where(JobRecord.job_type == "move_instance")).one()
    assert (job.state, job.attempts) == ("failed", 1)  # no retries: trying again cannot help
    said = entries(instance_id, "repair_failed")
    assert len(said) == 1 and said[0].startswith("this SHAR does not offer moving instances"), said
    assert instance(instance_id).current_activities == ["first"]  # nothing moved

    shown = api.get(url).get_json()["data"]
    assert "move" not in shown["allowed_actions"] and "edit_variables" in shown["allowed_actions"]
    assert shown["unavailable_actions"]["move"].startswith("this SHAR does not offer moving instances")
    for path in ("move/preview", "move"):
        refused = api.post(f"{url}/{path}", json=body)
        assert refused.status_code == 501, refused.get_json()
        assert refused.get_json()["message"].startswith("this SHAR does not offer moving instances")
    cli = cli_runner(app)("instance", "move", instance_id, "--from", "first", "--to", "second", "--yes")
    assert cli.exit_code == 1 and "this SHAR does not offer moving instances" in cli.stderr

    page = Browser(app, "ann@example.com", PASSWORD).get(f"/instances/{instance_id}").get_data(as_text=True)
    assert 'id="move-unavailable"' in page and "this SHAR does not offer moving instances" in page
    assert 'id="move-form"' not in page and 'id="variables-form"' in page

    # The variables call, answered the same way, is recorded on its own.
    assert api.post(f"{url}/variables", json={"set": {"n": 1}}).status_code == 202
    run_jobs(instance_id)
    assert set(api.get(url).get_json()["data"]["unavailable_actions"]) == {"move", "edit_variables"}

    shar_features.record_offered("move")  # what an answer to the call does (repair_work)
    db.session.commit()
    assert "move" in api.get(url).get_json()["data"]["allowed_actions"]
