"""URL converters: an id in a URL is never larger than its column holds.

Werkzeug's `<int:…>` takes any number of digits; an id past what the column holds reached the
database and failed there (SQLite: an overflow past 2**63 - 1; PostgreSQL: "integer out of range"
past 2**31 - 1, the ids and version numbers being 32-bit columns): a 500 instead of a 404. Replacing the converter for
the whole app bounds every route, page, admin page and API alike, present and future.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

# The largest id (or version number) a column holds: ids and versions are `integer` columns, 32
# bits on PostgreSQL. Larger ones are unknown (404), never an overflow.
MAX_ID = 2**31 - 1


class SqlIdConverter(IntegerConverter):
    def __init__(
        self,
        map: Any,
        fixed_digits: int = 0,
        min: int | None = None,  # noqa: A002  (Werkzeug's names)
        max: int | None = MAX_ID,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=MAX_ID if max is None else max, signed=signed)
        if not signed and not fixed_digits:
            # A number past the column does not match the rule at all: refused only by to_python, a path
            # whose other methods match (GET and PATCH of one view) would read 405 instead of 404.
            self.regex = at_most(self.max)


def at_most(limit: int) -> str:
    """A regular expression that matches every decimal number up to `limit` and none above it."""
    digits = str(limit)
    parts = [rf"\d{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    for i, digit in enumerate(digits):
        lowest, rest = (1 if i == 0 and len(digits) > 1 else 0), len(digits) - i - 1
        if int(digit) > lowest:
            parts.append(f"{digits[:i]}[{lowest}-{int(digit) - 1}]" + (rf"\d{{{rest}}}" if rest else ""))
    parts.append(digits)
    return "(?:" + "|".join(parts) + ")"


def init_app(app: Flask) -> None:
    """Before any route is registered: rules bind their converter when they are added."""
    app.url_map.converters["int"] = SqlIdConverter
