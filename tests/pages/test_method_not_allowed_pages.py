"""A method a page does not take: 405 with the Allow header HTTP requires (it had none) and a message
naming the methods the URL takes, on the error page and in JSON alike."""

from __future__ import annotations

from flask import Flask

from tests.support.factories import make_user
from tests.support.web import Browser

PASSWORD = "correct-horse-1"


def test_a_method_a_page_does_not_take_is_a_405_naming_the_ones_it_takes(offline_app: Flask) -> None:
    make_user("ada@example.com", "admin", PASSWORD)
    ada = Browser(offline_app, "ada@example.com", PASSWORD)
    page = ada.client.put("/workflows")
    assert page.status_code == 405 and page.headers["Allow"] == "GET, HEAD, OPTIONS, POST"
    assert "PUT is not allowed here: this URL takes GET, HEAD, OPTIONS, POST" in page.get_data(as_text=True)
    # A client asking for JSON gets the API's envelope, with the same header and message.
    asked = ada.client.delete("/instances", headers={"Accept": "application/json"})
    assert asked.status_code == 405 and asked.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert asked.get_json()["message"] == "DELETE is not allowed here: this URL takes GET, HEAD, OPTIONS"
