"""A bulk action in Chromium (#12): filter the instance list, preview what a bulk cancel would do,
confirm it, and watch its progress page reach "finished" by polling, with real consumers."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from app.core.extensions import db
from app.models import WorkflowInstance
from app.services.launches import launch_instance
from app.services.workflows import create_workflow
from tests.browser.conftest import screenshot
from tests.browser.test_dashboard import PASSWORD
from tests.browser.test_dashboard import _sign_in as sign_in  # the dashboard tests' sign-in, shared
from tests.support.factories import bpmn, make_user


def test_filter_preview_confirm_and_watch_a_bulk_cancel(app, processes, live_url, page) -> None:  # type: ignore[no-untyped-def]
    ann = make_user("ann@example.com", "user", PASSWORD)
    create_workflow("Orders", bpmn("user_task"), actor=ann, async_=False)
    running = [launch_instance("Orders", {"n": n}, actor=ann, async_=False).instance.id for n in range(3)]
    ended = launch_instance("Orders", {}, actor=ann, async_=False).instance.id
    db.session.get(WorkflowInstance, ended).status = "completed"
    db.session.commit()

    refused_by_csp: list[str] = []  # the strict CSP: nothing inline on these pages
    page.on("console", lambda m: refused_by_csp.append(m.text) if "Content Security Policy" in m.text else None)
    sign_in(page, live_url, "ann@example.com")

    page.goto(f"{live_url}/instances")
    expect(page.locator("#instance-rows tr[data-instance]")).to_have_count(4)
    page.fill(".filters input[name=workflow]", "Orders")
    page.select_option(".filters select[name=status]", "running")
    page.click(".filters button[type=submit]:has-text('Filter')")
    expect(page).to_have_url(re.compile(r"status=running"))
    expect(page.locator("#instance-rows tr[data-instance]")).to_have_count(3)
    screenshot(page, "bulk-form")

    page.select_option("#bulk-action", "cancel")  # the form carries the list's filter
    page.click("#bulk-form button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Bulk stop tracking")
    expect(page.locator("#bulk-count")).to_have_attribute("data-count", "3")
    expect(page.locator("#bulk-count")).to_contain_text("3 of the 3 filtered instances would stop being tracked")
    expect(page.locator("#bulk-filter")).to_contain_text("status=running")
    sample = page.locator("#bulk-sample tr[data-instance]")
    expect(sample).to_have_count(3)
    assert sorted(sample.evaluate_all("rows => rows.map(r => r.dataset.instance)")) == sorted(running)
    screenshot(page, "bulk-preview")

    page.click("#bulk-confirm-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/instances/bulk/\d+$"))
    expect(page.locator("#bulk-state")).to_have_attribute("data-status", "running")  # its job waits for a consumer
    expect(page.locator("#bulk-total")).to_have_text("3")
    screenshot(page, "bulk-running")
    processes.start_consumers()
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    expect(page.locator("#bulk-state")).to_have_attribute("data-status", "finished")  # by polling, no reload
    assert navigations == []
    expect(page.locator("#bulk-done")).to_have_text("3")
    expect(page.locator("#bulk-failed")).to_have_text("0")
    expect(page.locator("#bulk-progress")).not_to_have_attribute("hx-get", re.compile(".*"))  # polling stopped
    screenshot(page, "bulk-progress")
    db.session.expire_all()
    assert {db.session.get(WorkflowInstance, i).status for i in running} == {"cancelled"}
    assert db.session.get(WorkflowInstance, ended).status == "completed"
    assert refused_by_csp == []
