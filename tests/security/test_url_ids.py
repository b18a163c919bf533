"""Ids in URLs: every route with an integer in its path answers 404 for an id its column cannot
hold and for the largest one it can, on SQLite and PostgreSQL, never a 500 (an overflow)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

from app.core.extensions import db
from app.core.routing import MAX_ID
from app.models import ApiToken

WORD = "Nothing"  # for the routes' text parts (a workflow name, say)


def _int_routes(app: Flask) -> list[tuple[str, str, list[str]]]:
    """(rule, method, the integer arguments) of every route with an integer in its path."""
    found = []
    for rule in app.url_map.iter_rules():
        ints = [name for name, converter in rule._converters.items() if isinstance(converter, IntegerConverter)]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}) if ints else ():
            found.append((rule.rule, method, ints))
    return found


def _url(app: Flask, rule: str, ints: list[str], number: int) -> str:
    endpoint = next(r.endpoint for r in app.url_map.iter_rules() if r.rule == rule)
    arguments = {
        name: number if name in ints else WORD
        for name in next(r.arguments for r in app.url_map.iter_rules() if r.rule == rule)
    }
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **arguments)


def test_every_integer_route_is_404_for_ids_beyond_sql_never_500(database, app, client, sign_in, post) -> None:  # type: ignore[no-untyped-def]
    admin = sign_in("admin")
    token, plain = ApiToken.issue(admin, "ids")
    db.session.add(token)
    db.session.commit()
    bearer = {"Authorization": f"Bearer {plain}"}
    routes = _int_routes(app)
    assert len(routes) >= 10, routes  # pages, admin pages and the API all have some
    answers: dict[tuple[str, str, int], int] = {}
    for rule, method, ints in routes:
        for number in (MAX_ID, MAX_ID + 1, 2**63, 10**30):
            url = _url(app, rule, ints, MAX_ID) if number > MAX_ID else _url(app, rule, ints, number)
            url = url.replace(str(MAX_ID), str(number))  # url_for would refuse it: build the valid one, then widen
            headers: dict[str, Any] = bearer if url.startswith("/api/") else {}
            if method == "GET":
                response = client.get(url, headers=headers)
            elif url.startswith("/api/"):
                response = client.open(url, method=method, headers=headers, json={})
            else:
                response = post(url, {}, page="/notifications") if method == "POST" else client.open(url, method=method)
            answers[(rule, method, number)] = response.status_code
    assert not [key for key, status in answers.items() if status >= 500], answers
    beyond = {key: status for key, status in answers.items() if key[2] > MAX_ID}
    assert set(beyond.values()) == {404}, {k: s for k, s in beyond.items() if s != 404}
