"""Feedback that is true (issue 22), on the first tier: /metrics for a person, e-mail that was not
sent, a chart's "as of", a short instance id in a URL, the list's variable conditions and columns."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import select

from app.core.extensions import db
from app.models import ActivityEvent, JobRecord, Notification, User, Workflow, WorkflowInstance
from app.notifications.email import send_notification_email
from app.notifications.in_app import notify
from app.services.trends import trends
from app.services.users import issue_token
from tests.support.factories import make_user
from tests.support.web import Browser, forget_request_user

PASSWORD = "correct-horse-1"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


def _signed_in(app: Flask, email: str, role: str) -> Browser:
    make_user(email, role, PASSWORD)
    return Browser(app, email, PASSWORD)


def test_metrics_in_a_browser_is_a_page_saying_how_to_scrape_it(offline_app: Flask) -> None:
    admin = _signed_in(offline_app, "ops@example.com", "admin")
    page = admin.get("/metrics", headers={"Accept": BROWSER_ACCEPT})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "text/html" in page.content_type
    assert "Metrics for Prometheus" in html and "scrape_configs:" in html and 'targets: ["localhost"]' in html
    assert 'curl -H "Authorization: Bearer YOUR-TOKEN" http://localhost/metrics' in html
    assert 'href="/admin/users"' in html
    # Not signed in: the sign-in page first, back here after.
    forget_request_user()
    anonymous = offline_app.test_client().get("/metrics", headers={"Accept": BROWSER_ACCEPT})
    assert anonymous.status_code == 302 and "/login?next=" in anonymous.headers["Location"]
    # A signed-in user who is not an admin is told why not.
    ann = _signed_in(offline_app, "ann@example.com", "user")
    refused = ann.get("/metrics", headers={"Accept": BROWSER_ACCEPT})
    assert refused.status_code == 403 and "only an admin may do this" in refused.get_data(as_text=True)


def test_metrics_scrapers_and_curl_keep_what_they_got(offline_app: Flask) -> None:
    client = offline_app.test_client()
    for accept in (None, "*/*", "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"):
        answer = client.get("/metrics", headers={"Accept": accept} if accept else {})
        assert answer.status_code == 401 and answer.get_json()["success"] is False, accept
    admin = make_user("ops@example.com", "admin", PASSWORD)
    token = issue_token(actor=admin, user_id=admin.id, name="prometheus").plain
    # A token wins over Accept: a browser extension or a proxy asking for HTML with it still scrapes.
    for accept in ("*/*", BROWSER_ACCEPT):
        scraped = client.get("/metrics", headers={"Accept": accept, "Authorization": f"Bearer {token}"})
        assert scraped.status_code == 200 and scraped.content_type.startswith("text/plain"), accept
        assert "sharboard_instances" in scraped.get_data(as_text=True)


def test_with_mail_off_a_notification_says_it_was_not_emailed_and_why(offline_app: Flask) -> None:
    ann = _signed_in(offline_app, "ann@example.com", "user")
    owner = db.session.scalars(select(User).where(User.email == "ann@example.com")).one()
    assert owner.email_notifications  # she asked for e-mails; this server sends none
    note = notify(
        owner.id,
        kind="instance_failed",
        target_type="instance",
        target_id="i-1",
        title="Order failed",
        body="x",
        link="/instances/i-1",
    )
    assert note is not None
    # No e-mail job is queued to "send" into nowhere, and the record says why none went.
    assert db.session.scalars(select(JobRecord).where(JobRecord.job_type == "send_email")).all() == []
    events = db.session.scalars(select(ActivityEvent).where(ActivityEvent.target_id == "i-1")).all()
    assert [e.kind for e in events] == ["notified", "email_not_sent"]
    assert events[1].message == "email to ann@example.com not sent: mail is off on this server (MAIL_ENABLED)"
    # A job queued while mail was on and run after it was turned off says the same, and marks nothing sent.
    send_notification_email(JobRecord(target_id=str(note.id)))
    assert db.session.get(Notification, note.id).emailed_at is None
    assert db.session.scalars(select(ActivityEvent.kind).where(ActivityEvent.target_id == "i-1")).all()[-1] == (
        "email_not_sent"
    )
    html = ann.get("/notifications").get_data(as_text=True)
    assert "not emailed: mail is off on this server" in html and "· emailed" not in html
    assert 'id="mail-off"' in html
    saved = ann.post("/notifications/preferences", {"email_notifications": "on"}, follow_redirects=True)
    assert "emails are on for you, but mail is off on this server" in saved.get_data(as_text=True)


def test_a_cached_chart_says_as_of_when_and_its_titles_sit_above_the_charts(offline_app: Flask) -> None:
    ann = _signed_in(offline_app, "ann@example.com", "user")
    actor = db.session.scalars(select(User).where(User.email == "ann@example.com")).one()
    html = ann.get("/?window=24h").get_data(as_text=True)
    counted = trends("24h", actor=actor)  # the same cached trend the page showed
    assert counted.as_of is not None and counted.fresh_for == 15
    as_of = re.search(r'id="trends-as-of">As of ([^·]+) ·', html).group(1).strip()
    assert as_of == counted.as_of.strftime("%Y-%m-%d %H:%M:%S UTC")
    assert "counted again at most every 15 s" in html
    # The title is a heading a person sees, before its drawing, not only the SVG's tooltip.
    figure = html[html.index('<figure class="chart" id="chart-instances">') :]
    title = "Instances per hour, the last 24 hours"
    heading = figure.index(f'<h3 class="chart-title" id="chart-instances-heading">{title}</h3>')
    assert heading < figure.index("<svg")
    # Counted once per FRESH_FOR: a second look shows the same time, which is why it is said.
    assert trends("24h", actor=actor).as_of == counted.as_of


def _instances(owner: User, *ids: str, variables: list[dict[str, object]] | None = None) -> Workflow:
    flow = Workflow(name="Orders", version=1, bpmn_xml="<x/>", bpmn_sha256="1", summary={}, status="active")
    db.session.add(flow)
    db.session.flush()
    for n, instance_id in enumerate(ids):
        db.session.add(
            WorkflowInstance(
                id=instance_id,
                workflow_id=flow.id,
                status="running",
                created_by=owner.id,
                variables=(variables or [{}] * len(ids))[n],
                current_activities=["approve"],
            )
        )
    db.session.commit()
    return flow


def test_a_short_id_in_a_url_finds_its_instance_when_it_is_unambiguous(offline_app: Flask) -> None:
    ann = _signed_in(offline_app, "ann@example.com", "user")
    owner = db.session.scalars(select(User).where(User.email == "ann@example.com")).one()
    one, two, three = (
        "3f2a9c1b-1000-4000-8000-000000000001",
        "3f2a9c1b-0000-4000-8000-000000000002",
        "7c00ffee-0000-4000-8000-000000000003",
    )
    _instances(owner, one, two, three)
    found = ann.get("/instances/7c00ffee")
    assert found.status_code == 302 and found.headers["Location"] == f"/instances/{three}"
    assert ann.get("/instances/7C00FFEE").headers["Location"] == f"/instances/{three}"  # as pasted from a screen
    assert ann.get(f"/instances/{one[:16]}").headers["Location"] == f"/instances/{one}"
    several = ann.get("/instances/3f2a9c1b")
    html = several.get_data(as_text=True)
    assert several.status_code == 300 and "Several instances start with <code>3f2a9c1b</code>" in html
    assert f'href="/instances/{one}"' in html and f'href="/instances/{two}"' in html and three not in html
    missing = ann.get("/instances/0badcafe")
    assert missing.status_code == 404 and "no instance has an id starting with 0badcafe" in missing.get_data(True)
    # Someone else's instance is not found by its start either (no existence leak).
    bob = _signed_in(offline_app, "bob@example.com", "user")
    assert bob.get("/instances/7c00ffee").status_code == 404
    assert ann.get(f"/instances/{three}").status_code == 200  # the full id is the page itself


def test_the_list_takes_several_variable_conditions_and_shows_chosen_variables_as_columns(offline_app: Flask) -> None:
    ann = _signed_in(offline_app, "ann@example.com", "user")
    owner = db.session.scalars(select(User).where(User.email == "ann@example.com")).one()
    ids = [f"a{n}000000-0000-4000-8000-00000000000{n}" for n in range(3)]
    _instances(
        owner,
        *ids,
        variables=[
            {"orderId": "A1", "amount": 150, "note": "x" * 100},
            {"orderId": "A2", "amount": 50},
            {"orderId": "A3", "amount": 300, "customer": {"name": "Zoë"}},
        ],
    )
    page = ann.get("/instances?var=amount+>%3D+100&var=orderId+!%3D+A1&columns=orderId,+customer,amount")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    listed = re.findall(r'<tr data-instance="([^"]+)"', html)
    assert listed == [ids[2]]  # both conditions hold (AND)
    # Each condition is a row of its own, with "+" to add one in the page.
    assert re.findall(r'type="search" name="var" value="([^"]*)"', html) == ["amount &gt;= 100", "orderId != A1"]
    assert 'id="add-var"' in html and 'data-max="5"' in html
    # The chosen variables are columns, in the order chosen; a missing one is a dash, JSON as JSON.
    heads = re.findall(r'<th class="var-column" scope="col">([^<]+)</th>', html)
    assert heads == ["orderId", "customer", "amount"]
    row = html[html.index(f'<tr data-instance="{ids[2]}"') :]
    assert re.findall(r'<td class="var-column">([^<]*)</td>', row)[:3] == [
        "A3",
        "{&#34;name&#34;: &#34;Zoë&#34;}",
        "300",
    ]
    first = ann.get("/instances?columns=note,missing").get_data(as_text=True)
    cells = re.findall(r'<td class="var-column">([^<]*)</td>', first[first.index(f'data-instance="{ids[0]}"') :])
    assert cells[:2] == ["x" * 59 + "…", "—"]
    # The polled rows keep the columns.
    assert "columns=note" in first and 'colspan="8"' not in first
    bad_columns = ann.get("/instances?columns=a.b").get_data(as_text=True)
    assert (
        "column &#39;a.b&#39;: a variable name is letters" in bad_columns
        and len(re.findall("data-instance=", bad_columns)) == 3
    )


def test_a_search_error_does_not_also_say_no_instances_match(offline_app: Flask) -> None:
    ann = _signed_in(offline_app, "ann@example.com", "user")
    refused = ann.get("/instances?var=amount+>%3D+lots")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "compares numbers, and &#39;lots&#39; is not a number" in html
    assert "No instances match" not in html and "Nothing is listed until the filter above is corrected." in html
    nothing = ann.get("/instances?var=amount+>%3D+5").get_data(as_text=True)
    assert "No instances match this filter." in nothing
    assert "No instances." in ann.get("/instances").get_data(as_text=True)
