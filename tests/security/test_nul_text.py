"""No U+0000 (NUL) in a path, a query or a form reaches the database: every page and API call answers
422 naming where it was, on PostgreSQL (which refuses NUL even in a comparison: `/workflows?q=a%00b`
was a 500) as on SQLite. Every GET route of the app is tried, so a new one is covered when it is added."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.factories import make_user
from tests.support.web import Browser, forget_request_user
from tests.web.conftest import csrf_from

PASSWORD = "pw-nul-12345"


def _urls(app: Any) -> list[str]:
    """Every GET route, its parts filled with a NUL where they take text."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint == "static":
            continue
        values = {
            arg: 1 if type(rule._converters[arg]).__name__ in ("IntegerConverter", "IdConverter") else "a\x00b"
            for arg in rule.arguments
        }
        try:
            path = rule.build(values, append_unknown=False)[1]
        except Exception:  # a converter that takes no text (a number): the query carries the NUL
            path = rule.build({arg: 1 for arg in rule.arguments}, append_unknown=False)[1]
        urls.append(path)
    return sorted(set(urls))


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_a_nul_anywhere_in_a_request_is_a_422_naming_where_never_a_500(database, app, api) -> None:  # type: ignore[no-untyped-def]
    make_user("root@example.com", "admin", PASSWORD)
    browser = Browser(app, "root@example.com", PASSWORD)
    admin_api = api.as_role("admin", "api-root@example.com")
    for url in _urls(app):
        client = admin_api if url.startswith("/api/") else browser
        for query in ({"q": "a\x00b"}, {"workflow": "a\x00b", "status": "running"}, {"x\x00": "1"}):
            answer = client.get(url, query_string=query)
            assert answer.status_code == 422, (url, query, answer.status_code)
            assert "U+0000" in answer.get_data(as_text=True), (url, query)
    signed_out = app.test_client()
    forget_request_user()  # the browser's user, remembered in the test's app context
    token = csrf_from(signed_out.get("/login").get_data(as_text=True))
    login = signed_out.post("/login", data={"email": "root@example.com\x00", "password": PASSWORD, "csrf_token": token})
    assert login.status_code == 422 and "the form field &#39;email&#39;" in login.get_data(as_text=True)
    refused = browser.post("/workflows/upload", data={"name": "Nul\x00Name"})
    assert refused.status_code == 422 and "the form field &#39;name&#39;" in refused.get_data(as_text=True)
