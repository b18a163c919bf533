"""Feedback that is true (issue 22), on the first tier: /metrics for a person, e-mail that was not
sent, a chart's "as of", a short instance id in a URL, the list's variable conditions and columns."""

from __future__ import annotations

from flask import Flask

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
