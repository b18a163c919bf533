"""In Chromium, at 1366 and 390 px (issue 22, names not ids): a click on an element of a workflow's
diagram lists the instances at it (those waiting there, where the diagram counts some), the list's
"at element" filter shows the element by its name, a flow leads nowhere, and the list and the
instance page name elements (the id where the file gives none), clean under axe-core."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from app.core.extensions import db
from app.models import WorkflowInstance
from app.services.workflows import create_workflow
from tests.browser.conftest import screenshot
from tests.browser.test_accessibility import _axe, _report
from tests.support.factories import bpmn, make_user

PASSWORD = "browser-pass-1"


@pytest.mark.parametrize("width", [1366, 390])
def test_a_click_on_an_element_lists_its_instances_by_name(app, live_url, browser, width: int) -> None:  # type: ignore[no-untyped-def]
    admin = make_user("ops@example.com", "admin", PASSWORD)
    workflow = create_workflow("Pay", bpmn("names"), actor=admin).workflow  # queued: no engine needed here
    rows = [
        WorkflowInstance(workflow_id=workflow.id, status="running", created_by=admin.id, current_activities=at)
        for at in (["approve"], ["approve", "wait_pay"])
    ]
    db.session.add_all(rows)
    db.session.commit()
    # axe-core is injected as an inline script, which the app's CSP blocks: this context alone bypasses it.
    context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    expect.set_options(timeout=20_000)
    try:
        _sign_in(page, live_url)
        _click_elements(page, live_url, width, {r.id for r in rows})
        violations = {"instances at an element": _axe(page)}

        page.goto(f"{live_url}/instances/{rows[1].id}")
        line = page.locator(".status-line")
        expect(line.locator(".element-name")).to_have_text("Approve order")
        expect(line.locator(".element-name")).to_have_attribute("title", "approve")
        expect(line.locator(".activity code.element-id")).to_have_text(["approve", "wait_pay"])
        expect(page.locator("#instance-live form button", has_text="Complete Approve order")).to_be_visible()
        expect(page.locator("#diagram[data-rendered=true]")).to_be_visible()
        screenshot(page, f"element-names-instance-{width}")
        violations["instance"] = _axe(page)
        assert all(v == [] for v in violations.values()), _report(violations)
    finally:
        context.close()


def _sign_in(page: Any, live_url: str) -> None:
    page.goto(f"{live_url}/login")
    page.fill("input[name=email]", "ops@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#bell")).to_be_visible()


def _click_elements(page: Any, live_url: str, width: int, ids: set[str]) -> None:
    page.goto(f"{live_url}/workflows/Pay")
    expect(page.locator("#diagram[data-rendered=true]")).to_be_visible()
    expect(page.locator("#diagram-counts li[data-element=approve] .element-name")).to_have_text("Approve order")
    screenshot(page, f"element-names-workflow-{width}")

    page.locator('#diagram [data-element-id="start"]').click()  # no instance there: the list, empty
    expect(page).to_have_url(re.compile(r"/instances\?workflow=Pay&version=1&activity=start$"))
    expect(page.locator("#activity-filter option:checked")).to_have_text("at Order placed (start)")
    expect(page.locator("#instance-rows .empty")).to_have_text("No instances match this filter.")

    page.goto(f"{live_url}/workflows/Pay")
    expect(page.locator("#diagram[data-rendered=true]")).to_be_visible()
    flow = page.locator('#diagram [data-element-id="f3"]').bounding_box()  # a flat line: clicked where it is
    page.mouse.click(flow["x"] + flow["width"] / 2, flow["y"] + flow["height"] / 2)  # a flow: nowhere to go
    page.wait_for_timeout(300)
    assert page.url.endswith("/workflows/Pay")
    page.locator('#diagram [data-element-id="approve"]').click()  # counted: those waiting there
    expect(page).to_have_url(re.compile(r"activity=approve&status=running$"))
    expect(page.locator("#activity-filter option:checked")).to_have_text("at Approve order (approve)")
    listed = page.locator("#instance-rows tr[data-instance]")
    expect(listed).to_have_count(2)
    assert set(listed.evaluate_all("rows => rows.map(r => r.dataset.instance)")) == ids
    expect(page.locator("#instance-rows .element-name").first).to_have_text("Approve order")
    expect(page.locator("#instance-rows code.element-id")).to_have_text(["wait_pay"])  # no name: its id
    screenshot(page, f"element-names-list-{width}")
