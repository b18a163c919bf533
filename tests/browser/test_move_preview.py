"""In Chromium: moving an instance's token from its page (issue #23). The Move form offers where it
stands and the process's elements by name; its preview (htmx) says "leaves X, enters Y, keeps
variables ..."; Confirm queues the move, and once the job has run the timeline says who moved it from
where to where and the diagram marks the element it was moved from and where it stands now."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import expect

from app.services.launches import launch_instance
from app.services.sync import apply_shar_state
from app.services.workflows import create_workflow
from tests.api.test_repairs import run_jobs
from tests.browser.conftest import screenshot
from tests.browser.test_accessibility import _axe, _report
from tests.browser.test_story import PASSWORD, _sign_in
from tests.support.factories import bpmn, make_user


def test_move_preview_confirm_and_the_story_it_leaves(app, shar, live_url, axe_page) -> None:  # type: ignore[no-untyped-def]
    owner = make_user("ops@example.com", "admin", PASSWORD)
    create_workflow("Twice", bpmn("two_step"), actor=owner, async_=False)
    instance = launch_instance("Twice", {"order": 7}, actor=owner, async_=False).instance
    httpx.post(f"{shar.url}/api/v1/instances/{instance.shar_instance_id}/complete").raise_for_status()
    assert apply_shar_state(instance) == "running"

    _moved_from_the_page(axe_page, live_url, instance.id)


def _moved_from_the_page(page: Any, live_url: str, instance_id: str) -> None:
    _sign_in(page, live_url)
    page.goto(f"{live_url}/instances/{instance_id}")
    expect(page.locator("#move-from option:checked")).to_have_text("Second approval (second)")
    page.select_option("#move-to", label="First approval (first)")
    page.locator("#move-preview-button").click()
    summary = page.locator("#move-summary")
    expect(summary).to_have_text(
        "leaves Second approval (second), enters First approval (first), keeps variables order"
    )
    violations = {"preview": _axe(page)}
    screenshot(page, "move-preview")

    page.locator("#move-confirm-button").click()
    expect(page.locator(".flash, .alert").filter(has_text="move queued")).to_be_visible()
    assert run_jobs(instance_id) == ["move_instance", "sync_instance"]
    page.reload()
    timeline = page.locator("ol.timeline")
    expect(timeline).to_contain_text("moved from Second approval (second) to First approval (first) by ops@example.com")
    diagram = page.locator("#diagram[data-rendered=true]")
    expect(diagram.locator('g.djs-element[data-element-id="second"]')).to_have_class(re.compile("moved-from-element"))
    expect(diagram.locator('g.djs-element[data-element-id="first"]')).to_have_class(re.compile("current-activity"))
    expect(page.locator("#diagram-legend")).to_contain_text("moved from")
    violations["moved"] = _axe(page)
    screenshot(page, "move-done")
    assert all(v == [] for v in violations.values()), _report(violations)
