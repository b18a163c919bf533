"""The dashboard in headless Chromium against the running stack: what a person sees and does."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.support.factories import FIXTURES, make_user
from tests.support.servers import wait_until

PASSWORD = "browser-pass-1"


def _sign_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator(".who .user")).to_contain_text(email)


def _upload(page: Any, base: str, name: str) -> None:
    page.goto(f"{base}/workflows")
    page.fill("input[name=name]", name)
    page.set_input_files("input[name=file]", str(FIXTURES / "user_task.bpmn"))
    page.click("#upload button[type=submit]")


def test_upload_launch_complete_and_get_notified(app, processes, live_url, page, smtp) -> None:
    make_user("ann@example.com", "user", PASSWORD)
    processes.start_consumers()
    _sign_in(page, live_url, "ann@example.com")
    screenshot(page, "overview")

    _upload(page, live_url, "OrderReview")
    row = page.locator("tr[data-workflow=OrderReview]")
    expect(row.locator(".badge")).to_have_attribute("data-status", "creating")
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    expect(row.locator(".badge")).to_have_attribute("data-status", "active")  # turned by polling, no reload
    assert navigations == []
    screenshot(page, "workflows")

    page.click("tr[data-workflow=OrderReview] a")
    expect(page.locator("#diagram[data-rendered=true]")).to_be_visible()
    assert page.locator("#diagram svg g.djs-element").count() >= 4  # the diagram is drawn
    page.fill("#kv-rows input[name=keys]", "orderId")
    page.fill("#kv-rows input[name=values]", "12345")
    page.click("#launch-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/instances/[0-9a-f-]{36}$"))
    status = page.locator("#instance-status")
    expect(status).to_have_attribute("data-status", re.compile("launching|running"))
    expect(status).to_have_attribute("data-status", "running")
    expect(page.locator("#diagram .current-activity")).to_have_count(1)  # the waiting task is highlighted
    assert '"orderId": 12345' in page.locator("pre.json").inner_text()
    screenshot(page, "instance-running")

    expect(page.locator(".bell-count")).to_have_text("0")
    page.click("text=Complete review")
    expect(page.locator("#instance-status")).to_have_attribute("data-status", "completed")
    expect(page.locator(".bell-count")).to_have_text("1")  # the bell polls its count
    screenshot(page, "instance-completed")
    wait_until(lambda: smtp.messages, what="the completion email")
    assert smtp.messages[0]["Subject"] == "Workflow Instance Completed: OrderReview"
    page.goto(f"{live_url}/notifications")
    expect(page.locator(".note.unread")).to_have_count(1)
    page.click(".note button")
    expect(page.locator(".note.unread")).to_have_count(0)


def test_failed_create_is_retried_from_the_admin_page(app, processes, live_url, page, shar) -> None:
    make_user("ops@example.com", "admin", PASSWORD)
    shar.set_faults(error_rate=1.0)
    processes.start_consumers()
    _sign_in(page, live_url, "ops@example.com")
    _upload(page, live_url, "Unlucky")
    badge = page.locator("tr[data-workflow=Unlucky] .badge")
    expect(badge).to_have_attribute("data-status", "failed", timeout=30_000)

    page.goto(f"{live_url}/admin/failed-jobs")
    row = page.locator("#failed-jobs tbody tr").first
    expect(row).to_contain_text("create_workflow")
    expect(row).to_contain_text("injected fault")
    screenshot(page, "admin-failed-jobs")
    shar.set_faults(error_rate=0.0)
    row.locator("button", has_text="Retry").click()
    expect(page.locator("#failed-jobs tbody tr").first).to_contain_text("queued again")  # no page reload
    page.goto(f"{live_url}/workflows")
    expect(page.locator("tr[data-workflow=Unlucky] .badge")).to_have_attribute("data-status", "active")
    page.goto(f"{live_url}/admin/queues")
    screenshot(page, "admin-queues")


def test_plain_user_is_kept_out(app, live_url, page) -> None:
    from app.services.launches import launch_instance
    from app.services.workflows import create_workflow
    from tests.support.factories import bpmn

    owner = make_user("owner@example.com", "user", PASSWORD)
    create_workflow("Private", bpmn("user_task"), actor=owner, async_=False)
    theirs = launch_instance("Private", {"secret": 1}, actor=owner, async_=False).instance
    make_user("bob@example.com", "user", PASSWORD)
    _sign_in(page, live_url, "bob@example.com")
    response = page.goto(f"{live_url}/admin/failed-jobs")
    assert response.status == 403
    expect(page.locator("h1")).to_contain_text("Not allowed")
    response = page.goto(f"{live_url}/instances/{theirs.id}")
    assert response.status == 404
    expect(page.locator("h1")).to_contain_text("Not found")
