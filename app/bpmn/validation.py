"""Validate an uploaded BPMN 2.0 file before anything is stored or queued, and summarise it.

Steps, each refusing with a BpmnValidationError whose ``code`` says why:

    too_large / empty     the size limit (UTF-8 bytes), then emptiness
    dtd_forbidden         any DOCTYPE, refused by an expat scan of the prolog before the
                          internal subset is read; lxml's docinfo is checked again after parsing
    entity_forbidden      entity references that no DTD could have declared
    not_xml               anything the parser refuses, with its line and column
    not_bpmn / wrong_root the root is not BPMN 2.0 ``definitions``
    no_process            no ``process`` element
    script_task           a ``scriptTask`` anywhere: the dashboard never runs code from uploads
    unsafe_expression     a sequence-flow condition that is not a simple expression
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any
from xml.parsers import expat

from lxml import etree

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
BPMN_MODEL_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
MAX_CONDITION_CHARS = 4000

_M = f"{{{BPMN_MODEL_NS}}}"

# Every FlowElement of the BPMN 2.0 metamodel: what a process (or sub-process) holds.
FLOW_ELEMENTS = frozenset({
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "implicitThrowEvent",
    "task", "userTask", "manualTask", "serviceTask", "sendTask", "receiveTask", "businessRuleTask",
    "scriptTask", "callActivity", "subProcess", "transaction", "adHocSubProcess",
    "exclusiveGateway", "inclusiveGateway", "parallelGateway", "complexGateway", "eventBasedGateway",
    "sequenceFlow", "dataObject", "dataObjectReference", "dataStoreReference",
    "callChoreography", "choreographyTask", "subChoreography",
})
_CONTAINERS = frozenset({"subProcess", "transaction", "adHocSubProcess"})
_PERSON_TASKS = frozenset({"userTask", "manualTask"})

_KNOWN_NAMESPACES = {
    "http://schema.omg.org/spec/BPMN/2.0": "the BPMN 2.0 beta namespace",
    "http://www.omg.org/bpmn20": "a pre-release BPMN 2.0 namespace",
    "http://www.omg.org/spec/BPMN/20100524/DI": "the BPMN diagram-interchange namespace",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd": "a DMN namespace",
    "https://www.omg.org/spec/DMN/20191111/MODEL/": "a DMN namespace",
    "http://www.omg.org/spec/DMN/20180521/MODEL/": "a DMN namespace",
}


class BpmnValidationError(ValueError):
    """An upload refused; ``code`` is for machines, ``message`` for people."""

    def __init__(self, message: str, *, code: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.line = line
        self.column = column


@dataclass(frozen=True)
class ProcessSummary:
    id: str
    name: str | None
    is_executable: bool
    element_counts: dict[str, int]


@dataclass(frozen=True)
class BpmnSummary:
    processes: tuple[ProcessSummary, ...]
    element_counts: dict[str, int]
    target_namespace: str | None
    exporter: str | None
    exporter_version: str | None
    # Ids of the tasks that wait for a person; app.services.instances reads them from to_dict().
    user_task_ids: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy."""
        return {
            "processes": [
                {"id": p.id, "name": p.name, "is_executable": p.is_executable,
                 "element_counts": dict(p.element_counts)}
                for p in self.processes
            ],
            "element_counts": dict(self.element_counts),
            "target_namespace": self.target_namespace,
            "exporter": self.exporter,
            "exporter_version": self.exporter_version,
            "user_task_ids": list(self.user_task_ids),
        }


def validate_bpmn(data: bytes | str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> BpmnSummary:
    """Check an uploaded BPMN file against size, safe-XML, BPMN and security rules; summarise it."""
    try:
        raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    except UnicodeEncodeError as exc:
        raise BpmnValidationError(f"BPMN text cannot be encoded as UTF-8: {exc.reason} at character {exc.start}",
                                  code="not_xml") from None
    _check_size(raw, max_bytes)
    is_text = isinstance(data, str)
    _refuse_doctype(raw, is_text=is_text)
    root = _parse(raw, is_text=is_text)
    _check_root(root)
    processes = root.findall(f"{_M}process")
    if not processes:
        _refuse_no_process(root)
    _refuse_script_tasks(root)
    _check_conditions(root)
    return _summarise(root, processes)


# -- size --------------------------------------------------------------------------------

def _check_size(raw: bytes, max_bytes: int) -> None:
    if len(raw) > max_bytes:
        size, limit = _human_size(len(raw)), _human_size(max_bytes)
        if size == limit:
            size, limit = f"{len(raw):,} bytes", f"{max_bytes:,} bytes"
        raise BpmnValidationError(f"BPMN file is {size}; the limit is {limit}", code="too_large")
    if not raw.strip():
        raise BpmnValidationError("BPMN file is empty", code="empty")


def _human_size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MiB"
    if n >= 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n} bytes"


# -- safe parsing ------------------------------------------------------------------------

class _PrologDone(Exception):
    pass


class _DoctypeFound(Exception):
    pass


def _refuse_doctype(raw: bytes, *, is_text: bool) -> None:
    """Read only the prolog with expat and refuse a DOCTYPE as soon as it opens, before its subset."""
    scanner = expat.ParserCreate("utf-8" if is_text else None)
    scanner.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def on_doctype(*_: object) -> None:
        raise _DoctypeFound

    def on_root(*_: object) -> None:
        raise _PrologDone

    scanner.StartDoctypeDeclHandler = on_doctype
    scanner.StartElementHandler = on_root
    try:
        scanner.Parse(raw, True)
    except _DoctypeFound:
        raise _dtd_error() from None
    except Exception:  # noqa: BLE001 - _PrologDone, or a syntax error lxml will describe better
        return


def _dtd_error() -> BpmnValidationError:
    return BpmnValidationError("BPMN file declares a DOCTYPE; DTDs and entity declarations are not allowed",
                               code="dtd_forbidden")


def _parser(*, is_text: bool) -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
        dtd_validation=False, attribute_defaults=False, remove_pis=False,
        encoding="utf-8" if is_text else None,
    )


_ENTITY_ERRORS = frozenset({
    etree.ErrorTypes.ERR_UNDECLARED_ENTITY,
    etree.ErrorTypes.WAR_UNDECLARED_ENTITY,
    etree.ErrorTypes.ERR_ENTITY_LOOP,
})


def _parse(raw: bytes, *, is_text: bool) -> etree._Element:
    try:
        root = etree.fromstring(raw, _parser(is_text=is_text))
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc) from None
    except Exception as exc:  # noqa: BLE001 - any parser failure is a refusal, never a crash
        raise BpmnValidationError(f"BPMN file could not be parsed as XML: {type(exc).__name__}: {exc}",
                                  code="not_xml") from None
    if root is None:
        raise BpmnValidationError("BPMN file holds no XML element", code="not_xml")
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise _dtd_error()
    entity = next(root.iter(etree.Entity), None)
    if entity is not None:
        raise BpmnValidationError(f"BPMN file uses the entity reference {entity.text}; entities are not allowed",
                                  code="entity_forbidden")
    return root


def _syntax_error(exc: etree.XMLSyntaxError) -> BpmnValidationError:
    line, column = exc.position if exc.position else (exc.lineno, None)
    text = exc.msg.split(", line ")[0] if exc.msg else "unreadable"
    if exc.code in _ENTITY_ERRORS or "amplification" in text:
        return BpmnValidationError(f"BPMN file uses an entity ({text}, line {line}, column {column}); "
                                   "entities are not allowed", code="entity_forbidden", line=line, column=column)
    return BpmnValidationError(f"BPMN file is not well-formed XML: {text} (line {line}, column {column})",
                               code="not_xml", line=line, column=column)


# -- BPMN structure ----------------------------------------------------------------------

def _check_root(root: etree._Element) -> None:
    qname = etree.QName(root)
    shown = f"{root.prefix}:{qname.localname}" if root.prefix else qname.localname
    if qname.namespace != BPMN_MODEL_NS:
        where = (f"in namespace {qname.namespace}" if qname.namespace else "with no namespace")
        known = _KNOWN_NAMESPACES.get(qname.namespace or "")
        hint = f" ({known})" if known else ""
        raise BpmnValidationError(
            f"not a BPMN 2.0 file: the root element is <{shown}> {where}{hint}; expected <definitions> in "
            f"namespace {BPMN_MODEL_NS}", code="not_bpmn")
    if qname.localname != "definitions":
        raise BpmnValidationError(
            f"the root element is <{shown}>; a BPMN 2.0 file's root must be <definitions>", code="wrong_root")


def _refuse_no_process(root: etree._Element) -> None:
    held = sorted({etree.QName(child).localname for child in root if isinstance(child.tag, str)
                   and etree.QName(child).namespace == BPMN_MODEL_NS})
    detail = f" (it holds only: {', '.join(held)})" if held else ""
    raise BpmnValidationError(f"BPMN file defines no process{detail}", code="no_process")


def _refuse_script_tasks(root: etree._Element) -> None:
    ids = [task.get("id") or "(no id)" for task in root.iter(f"{_M}scriptTask")]
    if ids:
        noun = "script task" if len(ids) == 1 else "script tasks"
        raise BpmnValidationError(
            f"{noun} {', '.join(ids)} not allowed: the dashboard never runs code from uploaded files",
            code="script_task")


# -- conditions --------------------------------------------------------------------------

_BIN_OPS: dict[type, str] = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Mod: "%",
                             ast.FloorDiv: "//"}
_CMP_OPS: dict[type, str] = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">",
                             ast.GtE: ">=", ast.In: "in", ast.NotIn: "not in"}
_OTHER_OPS: dict[type, str] = {ast.Pow: "**", ast.LShift: "<<", ast.RShift: ">>", ast.BitOr: "|",
                               ast.BitXor: "^", ast.BitAnd: "&", ast.MatMult: "@", ast.Invert: "~",
                               ast.Is: "is", ast.IsNot: "is not"}
_ALLOWED_NODES = (ast.Expression, ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Compare, ast.Name, ast.Constant,
                  ast.List, ast.Tuple, ast.And, ast.Or, ast.Not, ast.USub, ast.UAdd, ast.Load,
                  *_BIN_OPS, *_CMP_OPS)
_CONSTANT_TYPES = (str, int, float, bool, type(None))
_CONSTRUCTS: dict[type, str] = {
    ast.Call: "a function call", ast.Attribute: "attribute access", ast.Subscript: "subscripting",
    ast.Lambda: "a lambda", ast.ListComp: "a comprehension", ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension", ast.GeneratorExp: "a generator expression",
    ast.IfExp: "a conditional expression", ast.NamedExpr: "an assignment expression",
    ast.Dict: "a dict", ast.Set: "a set", ast.JoinedStr: "an f-string", ast.Starred: "unpacking",
    ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield", ast.Slice: "a slice",
}


def _check_conditions(root: etree._Element) -> None:
    for condition in root.iter(f"{_M}conditionExpression"):
        owner = condition.getparent()
        flow_id = (owner.get("id") if owner is not None else None) or "(no id)"
        text = "".join(t for t in condition.itertext() if isinstance(t, str))
        problem = _condition_problem(text)
        if problem:
            raise BpmnValidationError(f"condition of flow {flow_id} {problem}", code="unsafe_expression")


def _strip_wrapping(text: str) -> str:
    body = text.strip()
    if body.startswith("="):
        return body[1:].strip()
    if body[:2] in ("${", "#{") and body.endswith("}"):
        return body[2:-1].strip()
    return body


def _condition_problem(text: str) -> str | None:
    """Why a condition is not a simple expression, or None when it is one (or empty)."""
    body = _strip_wrapping(text)
    if not body:
        return None
    if len(body) > MAX_CONDITION_CHARS:
        return f"is {len(body)} characters long; conditions may have at most {MAX_CONDITION_CHARS}"
    try:
        tree = ast.parse(body, mode="eval")
    except SyntaxError as exc:
        return f"is not a simple expression ({_shorten(body)!r}: {exc.msg})"
    except (ValueError, RecursionError, MemoryError):
        return f"is not a simple expression ({_shorten(body)!r}: too complex)"
    for node in ast.walk(tree):
        construct = _disallowed(node)
        if construct:
            return f"uses {construct}, which is not allowed"
    return None


def _disallowed(node: ast.AST) -> str | None:
    if not isinstance(node, _ALLOWED_NODES):
        if type(node) in _OTHER_OPS:
            return f"the operator {_OTHER_OPS[type(node)]}"
        return _CONSTRUCTS.get(type(node), f"a {type(node).__name__} expression")
    if isinstance(node, ast.Name) and node.id.startswith("_"):
        return f"the name {node.id!r} (names may not start with '_')"
    if isinstance(node, ast.Constant) and not isinstance(node.value, _CONSTANT_TYPES):
        return f"a {type(node.value).__name__} constant"
    if isinstance(node, (ast.List, ast.Tuple)) and not all(_is_literal(item) for item in node.elts):
        return "a list whose items are not all constants"
    return None


def _is_literal(node: ast.AST) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return isinstance(node, ast.Constant)


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


# -- summary -----------------------------------------------------------------------------

def _summarise(root: etree._Element, processes: list[etree._Element]) -> BpmnSummary:
    summaries, overall, person_tasks = [], {}, []
    for process in processes:
        counts: dict[str, int] = {}
        _count_flow_elements(process, counts, person_tasks)
        for name, n in counts.items():
            overall[name] = overall.get(name, 0) + n
        summaries.append(ProcessSummary(
            id=process.get("id") or "", name=process.get("name"),
            is_executable=(process.get("isExecutable") or "").strip().lower() in ("true", "1"),
            element_counts=dict(sorted(counts.items())),
        ))
    return BpmnSummary(
        processes=tuple(summaries), element_counts=dict(sorted(overall.items())),
        target_namespace=root.get("targetNamespace"), exporter=root.get("exporter"),
        exporter_version=root.get("exporterVersion"), user_task_ids=tuple(person_tasks),
    )


def _count_flow_elements(container: etree._Element, counts: dict[str, int], person_tasks: list[str]) -> None:
    # Iterative: nesting depth is bounded by the parser (no huge_tree), but recursion gains nothing.
    pending = [container]
    while pending:
        for child in pending.pop():
            if not isinstance(child.tag, str):
                continue
            qname = etree.QName(child)
            if qname.namespace != BPMN_MODEL_NS or qname.localname not in FLOW_ELEMENTS:
                continue
            counts[qname.localname] = counts.get(qname.localname, 0) + 1
            if qname.localname in _PERSON_TASKS and child.get("id"):
                person_tasks.append(child.get("id"))
            if qname.localname in _CONTAINERS:
                pending.append(child)
