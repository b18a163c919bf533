"""JSON from users, parsed and checked in one place: API bodies, launch-form variables, correct-and-retry.

Every problem is an InvalidInput (422) whose message names it, never a 500:

- size: more than `SHARBOARD_JSON_MAX_BYTES` (an API body carrying BPMN may be larger);
- depth: nesting deeper than `SHARBOARD_JSON_MAX_DEPTH` (measured on the parsed value; a
  document deeper than Python's recursion limit, such as 100,000 `[`, stops the parser with
  a RecursionError, which is the same refusal);
- strictness: `NaN`, `Infinity`, `-Infinity` and numbers too large for a double
  (`1e999`) are not JSON values; strings (and keys) must be valid Unicode (no lone
  surrogates such as `"\\ud800"`), and the bytes must be UTF-8.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import Any

from app.core.errors import InvalidInput

DEFAULT_MAX_DEPTH = 32
DEFAULT_MAX_BYTES = 1024 * 1024
_SURROGATE = re.compile("[\ud800-\udfff]")


class _NotStrict(ValueError):
    pass


def _limits() -> tuple[int, int]:
    try:
        from app.core.config import current_settings

        settings = current_settings()
        return settings.json_max_depth, settings.json_max_bytes
    except (RuntimeError, KeyError):  # outside an app: the defaults
        return DEFAULT_MAX_DEPTH, DEFAULT_MAX_BYTES


def loads(
    raw: bytes | str,
    *,
    what: str = "the body",
    field: str = "body",
    max_bytes: int | None = None,
    max_depth: int | None = None,
) -> Any:
    """Parse strict JSON within the size and depth limits; InvalidInput naming the problem otherwise."""
    default_depth, default_bytes = _limits()
    max_depth = max_depth or default_depth
    max_bytes = max_bytes or default_bytes
    size = len(raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw)
    if size > max_bytes:
        raise InvalidInput.field(field, f"{what} is too large: {size} bytes, the limit is {max_bytes}")
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput.field(field, f"{what} is not valid UTF-8 (byte {exc.start})") from None
    else:
        text = raw
    try:
        value = json.loads(
            text,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
            parse_int=_whole_number,
            object_pairs_hook=_unique_keys,
        )
    except _NotStrict as exc:
        raise InvalidInput.field(field, f"{what} is not strict JSON: {exc}") from None
    except RecursionError:
        raise InvalidInput.field(
            field, f"{what} is nested too deeply: more than {max_depth} levels of arrays and objects"
        ) from None
    except ValueError as exc:
        raise InvalidInput.field(field, f"{what} is not valid JSON: {exc}") from None
    check_value(value, what=what, field=field, max_depth=max_depth)
    return value


def check_value(value: Any, *, what: str = "the value", field: str = "body", max_depth: int | None = None) -> None:
    """The rules of `loads` for a value already parsed (by another front door): depth, finite
    numbers, valid Unicode. One iterative walk, so no value can exhaust the stack."""
    max_depth = max_depth or _limits()[0]
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth >= max_depth:
                raise InvalidInput.field(
                    field, f"{what} is nested too deeply: more than {max_depth} levels of arrays and objects"
                )
            children = item.values() if isinstance(item, dict) else item
            if isinstance(item, dict):
                for key in item:
                    flaw = _flaw(key, "key") if isinstance(key, str) else "is not strict JSON: a key is not a string"
                    if flaw:
                        raise InvalidInput.field(field, f"{what} {flaw}")
            stack.extend((child, depth + 1) for child in children)
        elif isinstance(item, str):
            flaw = _flaw(item, "string")
            if flaw:
                raise InvalidInput.field(field, f"{what} {flaw}")
        elif isinstance(item, float) and not math.isfinite(item):
            raise InvalidInput.field(field, f"{what} is not strict JSON: {item} is not a JSON number")
        elif item is not None and not isinstance(item, (bool, int, float)):
            raise InvalidInput.field(field, f"{what} holds a {type(item).__name__}, which is not a JSON value")


def loads_object(
    raw: bytes | str, *, what: str = "the body", field: str = "body", example: str = "", **limits: Any
) -> dict[str, Any]:
    """`loads`, and the value must be a JSON object."""
    value = loads(raw, what=what, field=field, **limits)
    if not isinstance(value, dict):
        raise InvalidInput.field(field, f"{what} must be a JSON object{example}")
    return value


def json_type(value: object) -> str:
    """What a decoded JSON value is, in the words of an error message ("a number", "an array")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return {dict: "an object", list: "an array", str: "a string", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )


def whole_number(value: object, field: str, low: int, high: int, *, what: str | None = None) -> int:
    """A whole number from a caller, an int or its ASCII digits as text, between low and high;
    InvalidInput naming `field` otherwise. int() alone would take "+5", "1_0" and 5,000-digit text."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value.strip()) <= 12:
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidInput.field(field, f"{field} must be {what or f'a whole number between {low} and {high}'}")
    return value


def form_rows(keys: list[str], values: list[str]) -> list[tuple[str, str]]:
    """The launch form's variable rows: its `keys` and `values` fields, paired in order. Each row of
    the page sends one of each, so lists of different lengths cannot be paired: InvalidInput."""
    if len(keys) != len(values):
        names = f"{len(keys)} name" + ("" if len(keys) == 1 else "s")
        texts = f"{len(values)} value" + ("" if len(values) == 1 else "s")
        raise InvalidInput.field(
            "variables",
            f"the variable rows do not pair up: {names} and {texts} were sent; each row has a name and a value",
        )
    return list(zip(keys, values, strict=True))


def form_variables(rows: Iterable[tuple[str, str]], text: str | None) -> dict[str, Any]:
    """Launch-form variables: key/value rows (a value that is strict JSON is typed, other text stays a
    string), then the raw JSON object on top. Over-size values and bad JSON text are InvalidInput, and
    so are two rows of one name and a row with a value but no name (neither is dropped unsaid); a row
    with neither is an empty row, skipped."""
    _, max_bytes = _limits()
    variables: dict[str, Any] = {}
    for number, (key, raw) in enumerate(rows, 1):
        key = key.strip()
        if not key:
            if raw.strip():
                raise InvalidInput.field("variables", f"variable row {number} has a value but no name")
            continue
        if key in variables:
            raise InvalidInput.field("variables", f"the variable {key!r} is given in two rows; give each name once")
        if len(raw.encode("utf-8", "surrogatepass")) > max_bytes:
            raise InvalidInput.field("variables", f"the value of {key} is too large: the limit is {max_bytes} bytes")
        try:
            variables[key] = loads(raw, what=f"the value of {key}", field="variables")
        except InvalidInput:
            if _is_json(raw):
                raise  # JSON that breaks a rule (too deep, a lone surrogate) is refused, not kept as text
            variables[key] = raw  # plain text stays a string
    if text and text.strip():
        variables.update(loads_object(text, what="the variables", field="variables", example=', e.g. {"amount": 1200}'))
    return variables


def _is_json(raw: str) -> bool:
    """Whether `raw` is strict JSON, however deep (`NaN` typed in a row is text, as it is not JSON)."""
    try:
        json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError:
        return True
    except ValueError:
        return False
    return True


def upload_body_limit() -> int:
    """The size limit of an API body that carries a BPMN document (Settings.request_body_limit)."""
    from app.core.config import current_settings

    return current_settings().request_body_limit


def canonical(raw: bytes) -> bytes:
    """The body as parsed JSON, re-serialised one way (sorted keys, no spaces); raw bytes when not JSON.

    Idempotency-Key compares this, so the same JSON with other whitespace or key order
    is the same request.
    """
    if not raw.strip():
        return b""
    try:
        value = loads(raw, max_bytes=len(raw))
    except InvalidInput:
        return raw
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _refuse_constant(name: str) -> Any:
    raise _NotStrict(f"{name} is not a JSON number")


MAX_INT_DIGITS = (
    4300  # Python's own bound on text to int (its error told the client to call sys.set_int_max_str_digits)
)


def _whole_number(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise _NotStrict(f"a whole number of {digits} digits is longer than the {MAX_INT_DIGITS} accepted")
    return int(text)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose keys are each given once: `{"a": 1, "a": 2}` would keep 2 without a word."""
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        twice = next(key for key, _ in pairs if key in seen or seen.add(key))  # type: ignore[func-returns-value]
        raise _NotStrict(f"the key {twice[:100]!r} is given twice in one object")
    return value


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotStrict(f"the number {text[:40]} is too large")
    return value


def _flaw(text: str, kind: str) -> str | None:
    """What makes a string (`kind`: key or string) unacceptable, said after the input's name, or
    None: a lone surrogate is not Unicode; U+0000 is, but PostgreSQL stores it in neither text nor
    JSONB, so it is refused here, where every JSON input passes, rather than by one column. Searched,
    not encoded: an upload's 5 MB string would be copied to be thrown away."""
    if not text.isascii() and _SURROGATE.search(text):
        return f"is not strict JSON: a {kind} contains a lone surrogate (\\ud800-\\udfff), which is not valid Unicode"
    if "\x00" in text:
        return f"cannot be stored: a {kind} contains the character U+0000 (NUL), which the database cannot hold"
    return None
