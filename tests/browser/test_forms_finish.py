"""Forms that finish the job (issue 22), in Chromium at 1366 and 390 px: a task completed with
variables says "completing…" with its button disabled and moves on without a reload; the upload form
offers the file's process name and its "is creating" note goes once the version is active; a diagram
only shows so, its launch form disabled with the reason; the bulk preview says what SHAR keeps doing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from app.services.launches import launch_instance
from app.services.workflows import create_workflow
from tests.browser.conftest import screenshot
from tests.support.factories import bpmn, make_user

PASSWORD = "browser-pass-1"
WIDTHS = [1366, 390]


def _sign_in(page: Any, base: str, width: int) -> Any:
    page.set_viewport_size({"width": width, "height": 900})
    user = make_user("ann@example.com", "user", PASSWORD)
    page.goto(f"{base}/login")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator(".who .user")).to_contain_text(user.email)
    return user


def _no_sideways_scroll(page: Any) -> None:
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("width", WIDTHS)
def test_completing_a_task_with_variables_moves_on_without_a_reload(app, processes, live_url, page, width) -> None:  # type: ignore[no-untyped-def]
    ann = _sign_in(page, live_url, width)
    create_workflow("Flow", bpmn("user_task"), actor=ann, async_=False)
    instance = launch_instance("Flow", {"amount": 5}, actor=ann, async_=False).instance
    page.goto(f"{live_url}/instances/{instance.id}")
    page.click(".complete-variables summary")
    page.fill("#complete-kv-rows input[name=keys]", "approved")
    page.fill("#complete-kv-rows input[name=values]", "true")
    page.click("#complete-add-kv")
    expect(page.locator("#complete-kv-rows .kv-row")).to_have_count(2)
    page.locator("#complete-kv-rows input[name=keys]").nth(1).fill("note")
    page.locator("#complete-kv-rows input[name=values]").nth(1).fill("fine")
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    page.click("#complete-button")
    # No consumer runs yet: the completion waits in its job, and the page says so, its button disabled.
    expect(page.locator("#completing button")).to_be_disabled()
    expect(page.locator("#completing")).to_contain_text("Completing…")
    _no_sideways_scroll(page)
    screenshot(page, f"complete-task-completing-{width}")
    processes.start_consumers()
    expect(page.locator("#instance-status")).to_have_attribute("data-status", "completed")
    assert navigations == []  # moved on in place
    shown = page.locator("pre.json").inner_text()
    assert '"approved": true' in shown and '"note": "fine"' in shown
    screenshot(page, f"complete-task-done-{width}")


@pytest.mark.parametrize("width", WIDTHS)
def test_a_refused_completion_keeps_what_was_typed(app, shar, live_url, page, width) -> None:  # type: ignore[no-untyped-def]
    ann = _sign_in(page, live_url, width)
    create_workflow("Flow", bpmn("user_task"), actor=ann, async_=False)
    instance = launch_instance("Flow", {}, actor=ann, async_=False).instance
    page.goto(f"{live_url}/instances/{instance.id}")
    page.click(".complete-variables summary")
    page.fill("#complete-kv-rows input[name=keys]", "a\tb")  # a tab: refused by the server, not the browser
    page.fill("#complete-kv-rows input[name=values]", "1")
    page.click("#complete-button")
    expect(page.locator("#completion-error")).to_contain_text("contains the control character U+0009")
    expect(page.locator("#complete-kv-rows input[name=keys]")).to_have_value("a\tb")
    expect(page.locator("#complete-button")).to_be_enabled()
    screenshot(page, f"complete-task-refused-{width}")


@pytest.mark.parametrize("width", WIDTHS)
def test_the_upload_offers_the_name_and_the_creating_note_goes_once_active(
    app, processes, live_url, page, width
) -> None:  # type: ignore[no-untyped-def]
    _sign_in(page, live_url, width)
    page.goto(f"{live_url}/workflows")
    page.set_input_files(
        "#upload-form input[name=file]",
        files=[{"name": "review.bpmn", "mimeType": "application/xml", "buffer": bpmn("user_task").encode()}],
    )
    expect(page.locator("#upload-form input[name=name]")).to_have_value("Review an order")
    page.click("#upload-form button[type=submit]:not([formaction])")
    expect(page).to_have_url(re.compile(r"/workflows\?created=\d+$"))
    note = page.locator("#created-note .alert")
    expect(note).to_contain_text("Review an order v1 is being created in SHAR")
    # (The list's table scrolling sideways at 390 px is another part of issue 22's: not checked here.)
    screenshot(page, f"upload-creating-note-{width}")
    processes.start_consumers()
    expect(page.locator("tr[data-workflow='Review an order'] .badge")).to_have_attribute("data-status", "active")
    expect(note).to_have_count(0)  # gone by polling once active
    screenshot(page, f"upload-created-{width}")

    # A typed name is never overwritten by the file's.
    page.fill("#upload-form input[name=name]", "Mine")
    page.set_input_files(
        "#upload-form input[name=file]",
        files=[{"name": "r.bpmn", "mimeType": "application/xml", "buffer": bpmn("user_task").encode()}],
    )
    page.wait_for_timeout(500)
    expect(page.locator("#upload-form input[name=name]")).to_have_value("Mine")


@pytest.mark.parametrize("width", WIDTHS)
def test_a_diagram_only_says_so_and_its_launch_form_is_disabled(app, shar, live_url, page, width) -> None:  # type: ignore[no-untyped-def]
    ann = _sign_in(page, live_url, width)
    sketch = bpmn("user_task").replace('isExecutable="true"', 'isExecutable="false"')
    create_workflow("Sketch", sketch, actor=ann, async_=False)
    page.goto(f"{live_url}/workflows")
    expect(page.locator("tr[data-workflow=Sketch] .badge")).to_have_text("diagram only")
    page.goto(f"{live_url}/workflows/Sketch")
    expect(page.locator("#wf-badge-1, .page-head .badge").first).to_have_text("diagram only")
    expect(page.locator("#launch-refused")).to_contain_text("Sketch is a diagram only")
    expect(page.locator("#launch-form button[type=submit]")).to_be_disabled()
    expect(page.locator("#launch-form input[name=keys]")).to_be_disabled()
    page.locator("#launch").scroll_into_view_if_needed()
    screenshot(page, f"diagram-only-{width}")


@pytest.mark.parametrize("width", WIDTHS)
def test_stop_tracking_is_one_term_and_the_preview_says_what_shar_keeps_doing(app, shar, live_url, page, width) -> None:  # type: ignore[no-untyped-def]
    ann = _sign_in(page, live_url, width)
    create_workflow("Flow", bpmn("user_task"), actor=ann, async_=False)
    instance = launch_instance("Flow", {}, actor=ann, async_=False).instance
    page.goto(f"{live_url}/instances?workflow=Flow")
    expect(page.locator("#bulk-action option[value=cancel]")).to_have_text("stop tracking")
    page.select_option("#bulk-action", "cancel")
    page.click("#bulk-form button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Bulk stop tracking")
    expect(page.locator("#bulk-shar-note")).to_contain_text("SHAR keeps running the ones it has started")
    expect(page.locator("#bulk-confirm-form button[type=submit]")).to_have_text("Confirm: stop tracking 1 instances")
    screenshot(page, f"bulk-stop-tracking-preview-{width}")
    page.goto(f"{live_url}/instances/{instance.id}")
    page.once(
        "dialog", lambda dialog: dialog.accept() if "SHAR keeps running it" in dialog.message else dialog.dismiss()
    )
    page.click(".page-head button.danger")
    expect(page.locator("#instance-status")).to_have_text("tracking stopped")
    expect(page.locator(".alert.success")).to_contain_text("SHAR keeps running it")
    screenshot(page, f"instance-tracking-stopped-{width}")
