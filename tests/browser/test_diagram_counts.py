"""In Chromium: the workflow page's diagram carries, on each element, how many instances wait there
and how many failed there; a click lists exactly those instances, and the badges follow the polling."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from app.services.instances import complete_task
from app.services.launches import launch_instance
from app.services.workflows import create_workflow
from tests.browser.conftest import screenshot
from tests.support.factories import bpmn, make_user, refresh
from tests.support.servers import wait_until

PASSWORD = "browser-pass-1"


def test_the_diagram_counts_waiting_and_failed_instances_and_lists_them(app, processes, live_url, page) -> None:  # type: ignore[no-untyped-def]
    ann = make_user("ann@example.com", "user", PASSWORD)
    create_workflow("Orders", bpmn("review_decision"), actor=ann, async_=False)
    launched = [launch_instance("Orders", {"orderId": n}, actor=ann, async_=False).instance for n in range(4)]
    waiting, failing = launched[:3], launched[3]
    processes.start_consumers()
    complete_task(failing.id, actor=ann, variables={"approved": False})  # to the error end: SHAR fails it
    failed = wait_until(lambda: (row := refresh(failing)).status == "failed" and row, what="the failed instance")
    assert failed.current_activities == ["rejected"]  # where SHAR says it failed (failed_activities) is kept
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(f"{live_url}/login")
    page.fill("input[name=email]", "ann@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")

    page.goto(f"{live_url}/workflows/Orders")
    expect(page.locator("#diagram[data-rendered=true]")).to_be_visible()
    badges = page.locator('#diagram .djs-overlays[data-container-id="review"] .count-badge')
    expect(badges).to_have_text(["3 waiting"])
    failures = page.locator('#diagram .djs-overlays[data-container-id="rejected"] .count-badge')
    expect(failures).to_have_text(["1 failed"])
    expect(badges.first).to_have_attribute("aria-label", "3 waiting at Review order (review)")
    expect(page.locator("#diagram .djs-overlays .count-badge")).to_have_count(2)  # on no other element
    screenshot(page, "diagram-counts")

    page.click('#diagram [data-element-id="review"]')  # the element: its waiting instances
    expect(page).to_have_url(re.compile(r"/instances\?workflow=Orders&version=1&activity=review&status=running$"))
    expect(page.locator("#instance-rows tr[data-instance]")).to_have_count(3)
    assert sorted(
        page.locator("#instance-rows tr[data-instance]").evaluate_all("rows => rows.map(r => r.dataset.instance)")
    ) == sorted(i.id for i in waiting)

    page.goto(f"{live_url}/workflows/Orders")
    page.locator('#diagram .djs-overlays[data-container-id="rejected"] .count-failed').click()  # a real link
    expect(page).to_have_url(re.compile(r"activity=rejected&status=failed$"))
    expect(page.locator("#instance-rows tr[data-instance]")).to_have_count(1)
    expect(page.locator(f'#instance-rows tr[data-instance="{failing.id}"]')).to_have_count(1)

    # The counts follow the page's polling: one approved instance leaves, without a reload.
    page.goto(f"{live_url}/workflows/Orders")
    expect(badges).to_have_text(["3 waiting"])
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    complete_task(waiting[0].id, actor=ann, variables={"approved": True})
    expect(badges).to_have_text(["2 waiting"])
    expect(failures).to_have_text(["1 failed"])
    assert navigations == [] and violations == []
