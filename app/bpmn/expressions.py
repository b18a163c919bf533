"""Conditions as modellers write them, mapped onto one small, safe expression language.

Shared by the upload validator and sharlite's evaluator so both accept exactly the same texts.
The target language is a subset of Python's expression grammar, checked node by node on the
AST and evaluated by a tree walker (never eval): comparisons, and/or/not, + - * / % //,
literals, lists of literals, ``in``, variable names, and ``_empty(x)`` (JUEL's ``empty``).

Mapped forms:
    ``${...}`` / ``#{...}`` (Camunda 7 JUEL): ``!`` ``&&`` ``||`` ``eq ne lt gt le ge div mod``
        and ``empty x``; ``not``/``and``/``or``/``==`` are already the same.
    ``=...`` or language FEEL (Camunda 8 / Zeebe): simple comparisons only (``a > 5``,
        ``a = "x"``, ``!=``, and/or, ``not(...)``); anything else answers "FEEL is not supported".
    XPath, JavaScript, Groovy, ...: named and refused.
"""

from __future__ import annotations

import ast
import re

# One limit for the validator and the engine (the issue found 4,000 against 2,000).
MAX_EXPRESSION_CHARS = 2000
# Operators inside operators (`- - - a`, `a + a + ... + a`): the evaluator walks the tree
# recursively, a frame a level, so a deeper one would fail every instance with a RecursionError
# (Python's limit is 1,000 frames, the engine's own calls included); refused here.
MAX_NESTING = 500
EMPTY_FUNCTION = "_empty"

LITERAL_NAMES = {"true": True, "false": False, "null": None, "True": True, "False": False, "None": None}
_BINARY_NODES = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Mod, ast.FloorDiv)
_COMPARE_NODES = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn)
_ALLOWED = (
    ast.Expression,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.UAdd,
    ast.BinOp,
    ast.Compare,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.List,
    ast.Tuple,
    *_BINARY_NODES,
    *_COMPARE_NODES,
)
_OPERATORS = {
    ast.Pow: "the operator **",
    ast.LShift: "the operator <<",
    ast.RShift: "the operator >>",
    ast.BitOr: "the operator |",
    ast.BitXor: "the operator ^",
    ast.BitAnd: "the operator &",
    ast.MatMult: "the operator @",
    ast.Invert: "the operator ~",
    ast.Is: "the operator is",
    ast.IsNot: "the operator is not",
}
_CONSTRUCTS = {
    ast.Call: "a function call",
    ast.Attribute: "attribute access (a.b)",
    ast.Subscript: "subscripting (a[b])",
    ast.Lambda: "a lambda",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.IfExp: "a conditional expression",
    ast.NamedExpr: "an assignment expression",
    ast.Dict: "a dict",
    ast.Set: "a set",
    ast.JoinedStr: "an f-string",
    ast.Starred: "unpacking",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Slice: "a slice",
}
_JUEL_WORDS = {
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "gt": ">",
    "le": "<=",
    "ge": ">=",
    "div": "/",
    "mod": "%",
    "and": "and",
    "or": "or",
    "not": "not",
}
_STRING = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"", re.S)
_WRAPPED = re.compile(r"^[$#]\{(.*)\}$", re.S)


class UnsafeExpression(ValueError):
    """The expression is not one the evaluator accepts; the message says why, for people."""


def language_of(text: str, declared: str | None = None, document_default: str | None = None) -> str:
    """The expression's language: feel, juel, xpath, python, or a named other one.

    ``declared`` is the element's own ``language``; ``document_default`` the definitions'
    ``expressionLanguage``. The text's own form (``=`` or ``${``) wins over a document-wide
    XPath default, which tools write without meaning it.
    """
    body = text.strip()
    own = (declared or "").strip().lower()
    default = (document_default or "").strip().lower()
    if "feel" in own or (body.startswith("=") and not body.startswith("==")):
        return "feel"
    if _WRAPPED.match(body) or "juel" in own:
        return "juel"
    for lang in (own, default):
        if "feel" in lang:
            return "feel"
        if "xpath" in lang:
            return "xpath"
        for name in ("javascript", "groovy", "ecmascript", "xquery", "mvel", "spel"):
            if name in lang:
                return name
    return "python"


def translate(text: str, language: str = "python") -> str:
    """The text in the evaluator's language; raises UnsafeExpression naming what cannot be mapped."""
    body = text.strip()
    if language == "feel":
        return _from_feel(body)
    if language not in ("juel", "python", "xpath"):
        raise UnsafeExpression(
            f"{_language_label(language)} is not supported: sharlite evaluates only simple "
            'comparisons (JUEL ${{...}}, FEEL =..., or plain a > 5 and b == "x")'
        )
    match = _WRAPPED.match(body)
    if match:
        body = match.group(1).strip()
    return _map_tokens(body, juel=True)


def compile_condition(text: str, language: str = "python") -> ast.Expression:
    """Translate, parse and check; raises UnsafeExpression with a message for people."""
    if EMPTY_FUNCTION in text:
        raise UnsafeExpression(f"the name {EMPTY_FUNCTION} is reserved")
    body = translate(text, language)
    return compile_translated(body, shown=text.strip(), language=language)


def compile_translated(body: str, *, shown: str | None = None, language: str = "python") -> ast.Expression:
    """Parse and check text already in the evaluator's language."""
    shown = shown if shown is not None else body
    if len(body) > MAX_EXPRESSION_CHARS:
        raise UnsafeExpression(
            f"is {len(body):,} characters long; expressions may have at most {MAX_EXPRESSION_CHARS:,}"
        )
    if not body:
        raise UnsafeExpression("is empty")
    try:
        tree = ast.parse(body, mode="eval")
    except SyntaxError as exc:
        raise UnsafeExpression(_syntax_reason(shown, language, syntax_words(exc, body))) from None
    except (ValueError, RecursionError, MemoryError):
        raise UnsafeExpression(f"{_quote(shown)} is too deeply nested") from None
    for node in ast.walk(tree):
        problem = _disallowed(node)
        if problem:
            prefix = {"feel": "FEEL is not supported: ", "xpath": "XPath is not supported: "}.get(language, "")
            raise UnsafeExpression(f"{prefix}{_quote(shown)} uses {problem}, which is not allowed")
    if _depth(tree) > MAX_NESTING:
        raise UnsafeExpression(
            f"{_quote(shown)} is too deeply nested: more than {MAX_NESTING} operators inside one another"
        )
    return _literals_win(tree)


def _literals_win(tree: ast.Expression) -> ast.Expression:
    """`true`, `false` and `null` become constants when compiled: literals win, so a variable a caller
    or an output mapping named `true` can never change what `approved == true` means. Iterative
    (ast.walk), as the evaluator is: a recursive transformer ran out of stack on nesting the check allows."""
    for node in ast.walk(tree):
        for field, value in ast.iter_fields(node):
            if isinstance(value, ast.Name) and value.id in LITERAL_NAMES:
                setattr(node, field, ast.copy_location(ast.Constant(LITERAL_NAMES[value.id]), value))
            elif isinstance(value, list):
                for index, item in enumerate(value):
                    if isinstance(item, ast.Name) and item.id in LITERAL_NAMES:
                        value[index] = ast.copy_location(ast.Constant(LITERAL_NAMES[item.id]), item)
    return tree


def _depth(tree: ast.AST) -> int:
    """How deep the tree goes, walked without recursion."""
    deepest, pending = 0, [(tree, 1)]
    while pending:
        node, depth = pending.pop()
        deepest = max(deepest, depth)
        pending.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _disallowed(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call):
        # Only the call the JUEL translation writes itself: _empty(<one operand>).
        if (
            isinstance(node.func, ast.Name)
            and node.func.id == EMPTY_FUNCTION
            and len(node.args) == 1
            and not node.keywords
        ):
            return None
        return _CONSTRUCTS[ast.Call]
    if isinstance(node, ast.Name) and node.id == EMPTY_FUNCTION:
        return None
    if not isinstance(node, _ALLOWED):
        return _OPERATORS.get(type(node)) or _CONSTRUCTS.get(type(node), f"a {type(node).__name__} expression")
    if isinstance(node, ast.Name) and node.id.startswith("_"):
        return f"the name {node.id!r} (names may not start with '_')"
    if isinstance(node, ast.Constant) and not isinstance(node.value, (str, int, float, bool, type(None))):
        return f"a {type(node.value).__name__} literal"
    if isinstance(node, (ast.List, ast.Tuple)) and not all(_is_literal(item) for item in node.elts):
        return "a list whose items are not all literals"
    return None


def _is_literal(node: ast.AST) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return isinstance(node, ast.Constant) or (isinstance(node, ast.Name) and node.id in LITERAL_NAMES)


def _map_tokens(body: str, *, juel: bool) -> str:
    """Rewrite operators outside string literals; strings pass through with their meaning kept."""
    out: list[str] = []
    last = 0
    for match in _STRING.finditer(body):
        out.append(_map_code(body[last : match.start()], juel=juel))
        out.append(_LINE_BREAK.sub(lambda m: _ESCAPED[m.group(0)], match.group(0)))
        last = match.end()
    out.append(_map_code(body[last:], juel=juel))
    return "".join(out).strip()


# JUEL, FEEL and SHAR's expression language read a line break as a space: so does the evaluator, whose
# grammar (Python's, in one line) would end the expression at it. Inside a quoted text it is a character.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_ESCAPED = {"\r\n": "\\r\\n", "\r": "\\r", "\n": "\\n"}


def _map_code(code: str, *, juel: bool) -> str:
    code = _LINE_BREAK.sub(" ", code)
    code = code.replace("&&", " and ").replace("||", " or ")
    code = re.sub(r"!(?!=)", " not ", code)
    if juel:
        code = re.sub(r"\b(eq|ne|lt|gt|le|ge|div|mod)\b", lambda m: f" {_JUEL_WORDS[m.group(1)]} ", code)
        code = re.sub(r"\bempty\s+([A-Za-z][A-Za-z0-9_]*)", rf"{EMPTY_FUNCTION}(\1)", code)
    return code


_FEEL_ONLY = [
    (re.compile(r"\b(some|every)\b.*\bsatisfies\b", re.S), "quantified expressions (some/every ... satisfies)"),
    (re.compile(r"\bfor\b.*\breturn\b", re.S), "for ... return loops"),
    (re.compile(r"\bif\b.*\bthen\b", re.S), "if ... then ... else"),
    (re.compile(r"\bbetween\b"), "between"),
    (re.compile(r"\.\."), "ranges [a..b]"),
    (re.compile(r"\binstance\s+of\b"), "instance of"),
]


def _from_feel(body: str) -> str:
    if body.startswith("=") and not body.startswith("=="):
        body = body[1:].strip()
    code_only = _STRING.sub('""', body)
    for pattern, what in _FEEL_ONLY:
        if pattern.search(code_only):
            raise UnsafeExpression(
                f"FEEL is not supported: {_quote(body)} uses {what}; sharlite maps only simple "
                'comparisons such as a > 5, a = "x", and, or, not(...)'
            )
    mapped = _map_tokens(body, juel=False)
    # FEEL's equality is a single '='; '!=', '<=', '>=' stay as they are.
    mapped = _map_outside_strings(mapped, lambda code: re.sub(r"(?<![=!<>])=(?!=)", "==", code))
    return mapped


def _map_outside_strings(body: str, mapper: object) -> str:
    out: list[str] = []
    last = 0
    for match in _STRING.finditer(body):
        out.append(mapper(body[last : match.start()]))  # type: ignore[operator]
        out.append(match.group(0))
        last = match.end()
    out.append(mapper(body[last:]))  # type: ignore[operator]
    return "".join(out)


def _syntax_reason(shown: str, language: str, detail: str) -> str:
    if language == "xpath":
        return f"XPath is not supported: {_quote(shown)} does not map onto a simple comparison ({detail})"
    code_only = _STRING.sub('""', shown)
    spaced = re.search(r"[A-Za-z_]\w*\s+[A-Za-z_]\w*\s*(==|=|!=|<|>)", code_only)
    if language == "feel" and spaced:
        return (
            f"FEEL is not supported: {_quote(shown)} uses a name with spaces; sharlite maps only simple "
            'comparisons of one-word variables (a > 5, a = "x")'
        )
    if language == "feel":
        return (
            f"FEEL is not supported: {_quote(shown)} is beyond the simple comparisons sharlite maps "
            '(a > 5, a = "x", and, or, not(...))'
        )
    if spaced:
        return f"{_quote(shown)} is not a simple expression: variable names may not contain spaces"
    if re.search(r"\w+:\w+\s*\(", code_only):
        return f"{_quote(shown)} calls a function; only simple comparisons are supported"
    return f"{_quote(shown)} is not a simple expression ({detail})"


_BRACKETS = re.compile(r"'([()\[\]{}])'")


def syntax_words(exc: SyntaxError, body: str) -> str:
    """Why the text does not parse, in plain words: Python's own text ("invalid syntax. Perhaps
    you forgot a comma?", "unterminated string literal (detected at line 1)") speaks of Python,
    which a modeller never wrote. The one translation every expression check uses."""
    said = exc.msg or ""
    bracket = _BRACKETS.search(said)
    if "was never closed" in said and bracket:
        return f"the bracket {bracket.group(1)} is never closed"
    if said.startswith("unmatched") and bracket:
        return f"the bracket {bracket.group(1)} closes nothing"
    if "unterminated" in said:
        return "a quoted text is never closed"
    if said.startswith("invalid character"):
        character = said.split("'")[1] if said.count("'") >= 2 else "?"
        return f"the character {character} cannot be used"
    if "literal" in said or "leading zeros" in said:
        return "a number runs into letters"
    # Python puts the offset past the end (or at 0) when the text stops too early.
    rest = body[exc.offset - 1 :].strip() if exc.offset and exc.lineno in (None, 1) else ""
    if not rest:
        return "it ends before the expression is complete"
    word = re.match(r"\w+|\S", rest).group(0)  # type: ignore[union-attr]
    return f'it cannot be read from "{word}" on'


def _language_label(language: str) -> str:
    return {
        "javascript": "JavaScript",
        "ecmascript": "JavaScript",
        "js": "JavaScript",
        "groovy": "Groovy",
        "xquery": "XQuery",
        "mvel": "MVEL",
        "spel": "SpEL",
        "xpath": "XPath",
    }.get(language, language)


def _quote(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")
