"""In Chromium: moving an instance to another version of its workflow from its page (issue #23).
Version 2 renames the task the instance waits at, so its first preview (htmx) says it cannot move and
asks for that element's counterpart; with it mapped the preview says it can move; Confirm queues the
move, and once the jobs have run the page shows the instance on version 2, standing at the renamed
task, and the timeline says what was asked and what SHAR did."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from app.services.launches import launch_instance
from app.services.workflows import create_workflow
from tests.api.test_repairs import run_jobs
from tests.browser.conftest import screenshot
from tests.browser.test_accessibility import _axe, _report
from tests.browser.test_story import PASSWORD, _sign_in
from tests.support.factories import bpmn, make_user

V1 = bpmn("two_step")  # start -> first -> second -> end
V2 = V1.replace('"first"', '"first_b"')  # the same, with the task `first` renamed `first_b`


def test_migrate_preview_mapping_confirm_and_the_story_it_leaves(app, shar, live_url, axe_page) -> None:  # type: ignore[no-untyped-def]
    owner = make_user("ops@example.com", "admin", PASSWORD)
    create_workflow("Twice", V1, actor=owner, async_=False)
    instance = launch_instance("Twice", {"order": 7}, actor=owner, async_=False).instance
    create_workflow("Twice", V2, actor=owner, async_=False)
    assert instance.current_activities == ["first"]

    _migrated_from_the_page(axe_page, live_url, instance.id)


def _migrated_from_the_page(page: Any, live_url: str, instance_id: str) -> None:
    _sign_in(page, live_url)
    page.goto(f"{live_url}/instances/{instance_id}")
    expect(page.locator("h1 .muted")).to_have_text("v1")
    page.locator("#migrate-link").click()
    page.wait_for_url(f"{live_url}/instances/{instance_id}/migrate")

    page.select_option("#migrate-version", "2")
    page.locator("#migrate-preview-button").click()
    expect(page.locator(f'#migrate-preview [data-instance="{instance_id}"]')).to_have_text(
        f"It cannot move: instance {instance_id} stands at First approval (first), which version 2 does not "
        "have: map it to an element of version 2."
    )
    expect(page.locator("#migrate-mapping legend")).to_have_text(
        "Elements version 2 does not have: choose their counterpart"
    )
    expect(page.locator("label[for=map-1]")).to_have_text("First approval (first) (the instance is here)")
    expect(page.locator("#migrate-confirm-button")).to_have_count(0)

    page.select_option('#migrate-mapping select[data-element="first"]', label="First approval (first_b)")
    page.locator("#migrate-preview-button").click()
    expect(page.locator("#migrate-can-move")).to_have_text("It can move to version 2, with 1 element(s) mapped.")
    expect(page.locator("#migrate-preview .alert")).to_have_count(0)
    expect(page.locator("#migrate-confirm-button")).to_have_text("Confirm: move to version 2")
    violations = {"preview": _axe(page)}
    screenshot(page, "migrate-preview")

    page.locator("#migrate-confirm-button").click()
    page.wait_for_url(f"{live_url}/instances/{instance_id}")
    expect(page.locator(".alert.flash.success")).to_have_text(
        "move to version 2 queued; the page updates when SHAR has moved it"
    )
    assert run_jobs(instance_id) == ["migrate_instance", "sync_instance"]
    page.reload()
    expect(page.locator("h1 .muted")).to_have_text("v2")
    timeline = page.locator("ol.timeline")
    expect(timeline.locator("li.tl-migration_requested")).to_contain_text(
        "move from version 1 to version 2 requested (mapping First approval (first) → First approval (first_b))"
    )
    expect(timeline.locator("li.tl-migrated")).to_contain_text(
        "moved from version 1 to version 2 in SHAR; at First approval (first_b)"
    )
    expect(page.locator("#task-waiting")).to_contain_text("Waiting for a person at First approval")
    diagram = page.locator("#diagram[data-rendered=true]")
    expect(diagram.locator('g.djs-element[data-element-id="first_b"]')).to_have_class(re.compile("current-activity"))
    violations["migrated"] = _axe(page)
    screenshot(page, "migrate-done")
    assert all(v == [] for v in violations.values()), _report(violations)
