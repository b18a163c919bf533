"""Refusals said on the page: a second completion while the first is queued (a flash on the
instance page)."""
from __future__ import annotations

import html

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import JobRecord
from app.services.actors import CLI
from app.services.instances import launch_instance
from app.services.workflows import create_workflow
from tests.support.factories import bpmn


@pytest.fixture
def flow(app, shar):  # type: ignore[no-untyped-def]
    return create_workflow("Flow", bpmn("user_task"), actor=CLI, async_=False).workflow


def _count(model, *where) -> int:  # type: ignore[no-untyped-def]
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _page(client, url: str) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(client.get(url).get_data(as_text=True))


def test_a_second_completion_on_the_page_is_refused_with_a_flash(database, client, sign_in, post, flow) -> None:
    user = sign_in("user")
    instance = launch_instance("Flow", {}, actor=user, async_=False).instance
    assert instance.status == "running"
    page = f"/instances/{instance.id}"
    assert post(f"{page}/complete", page=page).status_code == 302
    assert "completion queued" in _page(client, page)
    job_id = db.session.scalars(select(JobRecord.id).where(JobRecord.job_type == "complete_task")).one()
    assert post(f"{page}/complete", page=page).status_code == 302
    assert (f"a completion of instance {instance.id} is already queued (job {job_id}); wait for it to finish"
            in _page(client, page))
    assert _count(JobRecord, JobRecord.job_type == "complete_task") == 1

