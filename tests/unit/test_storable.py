"""What SHAR sends that no database stores is kept in a form they do, and named: non-finite numbers
anywhere nested become their JSON text, NUL becomes U+FFFD, and altered_paths says where."""

from __future__ import annotations

import json

from app.core.text import altered_paths, storable

SENT = json.loads(
    '{"total": Infinity, "ok": 1.5, "order": {"items": [1, -Infinity, {"ratio": NaN}]},'
    ' "k\\u0000": "a\\u0000b", "name": "plain"}'
)


def test_non_finite_numbers_anywhere_become_their_json_text() -> None:
    assert storable(SENT) == {
        "total": "Infinity",
        "ok": 1.5,
        "order": {"items": [1, "-Infinity", {"ratio": "NaN"}]},
        "k\ufffd": "a\ufffdb",
        "name": "plain",
    }
    json.dumps(storable(SENT), allow_nan=False)  # what the database is given: strict JSON


def test_altered_paths_name_each_value_changed_as_stored() -> None:
    assert altered_paths(SENT) == ["total", "order.items[1]", "order.items[2].ratio", "k\ufffd"]
    assert altered_paths({"n": 1, "s": "x", "f": 2.0, "l": [None, True]}) == []
