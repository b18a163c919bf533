"""In Chromium: a file without diagram information is laid out in the browser (every process, one
diagram each), a launch chooses the process of a file with several, a message-start process starts
by message, and an operator delivers messages from the instance page."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from app.services.launches import launch_instance
from app.services.workflows import create_workflow
from tests.browser.conftest import screenshot
from tests.support.factories import bpmn, make_user

PASSWORD = "browser-pass-1"


def _sign_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator(".who .user")).to_contain_text(email)


def _no_csp_violations(page: Any) -> list[str]:
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    return violations


def _open_workflow(page: Any, live_url: str, processes: Any, name: str, fixture: str) -> list[str]:
    """Ann's workflow `name` (from `fixture`), consumers running, its page open; CSP violations collected."""
    ann = make_user("ann@example.com", "user", PASSWORD)
    create_workflow(name, bpmn(fixture), actor=ann, async_=False)
    processes.start_consumers()
    violations = _no_csp_violations(page)
    _sign_in(page, live_url, "ann@example.com")
    page.goto(f"{live_url}/workflows/{name}")
    return violations


def test_a_file_without_diagram_information_is_laid_out_and_launch_chooses_the_process(
    app, processes, live_url, page
) -> None:  # type: ignore[no-untyped-def]
    violations = _open_workflow(page, live_url, processes, "Orders", "two_processes")
    diagram = page.locator("#diagram[data-rendered=true]")
    expect(diagram).to_have_attribute("data-layout", "auto")
    expect(page.locator("#diagram-auto-layout")).to_contain_text("laid out automatically")
    assert page.locator("#diagram svg g.djs-element").count() >= 5  # drawn although the file has no DI
    assert page.locator("#diagram svg g.djs-connection").count() >= 2  # with its sequence flows
    # Every process is laid out, one diagram each, the launchable one first; nothing is left undrawn.
    expect(diagram).to_have_attribute("data-diagram", "Customer")
    expect(page.locator("#diagram-choice option")).to_have_count(3)
    expect(page.locator("#diagram-missing")).to_have_count(0)
    page.select_option("#diagram-choice", label="Clear a payment (Bank)")
    expect(diagram).to_have_attribute("data-diagram", "Bank")
    expect(page.locator("#diagram svg [data-element-id=b_start]")).to_have_count(1)
    expect(page.locator("#processes tbody tr")).to_have_count(3)
    expect(page.locator("#processes tr[data-process=Bank]")).to_contain_text("cannot be launched")
    expect(page.locator("#processes tr[data-process=Shop]")).to_contain_text("Shop")  # the pool
    screenshot(page, "workflow-laid-out")

    page.click("#launch-form button[type=submit]")  # no process chosen: refused, with the choices
    expect(page.locator("#launch-form .field-error")).to_contain_text("choose one with process_id: Customer, Shop")
    expect(page.locator("#process_id option[value=Bank]")).to_be_disabled()
    page.select_option("#process_id", "Shop")
    page.click("#launch-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/instances/[0-9a-f-]{36}$"))
    expect(page.locator("#instance-status")).to_have_attribute("data-status", "running")
    expect(page.locator("#instance-process")).to_have_text("Shop")
    expect(page.locator(".status-line code.element-id")).to_have_text("s_ship")
    # The instance's own process is the diagram shown, so its waiting task is highlighted.
    expect(page.locator("#diagram[data-rendered=true]")).to_have_attribute("data-diagram", "Shop")
    expect(page.locator("#diagram .current-activity")).to_have_count(1)
    expect(page.locator("#diagram-missing")).to_have_count(0)
    assert violations == []


def test_an_operator_delivers_messages_from_the_instance_page(app, processes, live_url, page) -> None:  # type: ignore[no-untyped-def]
    ann = make_user("ann@example.com", "user", PASSWORD)
    create_workflow("Delivery", bpmn("messages"), actor=ann, async_=False)
    instance = launch_instance("Delivery", {"orderId": 7}, actor=ann, async_=False).instance
    processes.start_consumers()
    violations = _no_csp_violations(page)
    _sign_in(page, live_url, "ann@example.com")

    page.goto(f"{live_url}/instances/{instance.id}")
    expect(page.locator("#diagram[data-rendered=true]")).to_be_visible()
    expect(page.locator("#diagram .current-activity")).to_have_count(1)  # the receive task, on the laid-out diagram
    waiting = page.locator("#waiting-messages")
    expect(waiting).to_contain_text("payment-received")
    expect(page.locator("#message-form input[name=name]")).to_have_value("payment-received")
    page.fill("#message-form input[name=variables_json]", '{"paid": 12}')
    page.click("#message-form button[type=submit]")
    expect(page.locator("#waiting-messages")).to_contain_text("order-shipped")  # polled: now at the catch event
    screenshot(page, "instance-waiting-for-message")

    page.fill("#message-form input[name=name]", "no-such-message")
    page.click("#message-form button[type=submit]")
    expect(page.locator(".alert.error")).to_contain_text("not waiting for a message named")

    page.fill("#message-form input[name=name]", "order-shipped")
    page.click("#message-form button[type=submit]")
    expect(page.locator("#instance-status")).to_have_attribute("data-status", "completed")
    assert '"paid": 12' in page.locator("pre.json").inner_text()
    assert violations == []


def test_a_message_start_process_is_started_by_message_from_the_launch_form(app, processes, live_url, page) -> None:  # type: ignore[no-untyped-def]
    violations = _open_workflow(page, live_url, processes, "Intake", "message_start")
    expect(page.locator("#message option[value=order-placed]")).to_have_count(1)
    page.select_option("#message", "order-placed")
    page.fill("#launch-form textarea[name=variables_json]", '{"orderId": 9}')
    page.click("#launch-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/instances/[0-9a-f-]{36}$"))
    # Started by the message in one step: past the start event, at the review task.
    expect(page.locator(".status-line code.element-id")).to_have_text("review")
    expect(page.locator("#instance-status")).to_have_attribute("data-status", "running")
    assert violations == []
