"""Validate an uploaded BPMN 2.0 file before anything is stored or queued, and summarise it.

Steps, each refusing with a BpmnValidationError whose ``code`` says why:

    too_large / empty     the size limit (UTF-8 bytes), then emptiness
    dtd_forbidden         any DOCTYPE, refused by an expat scan of the prolog before the
                          internal subset is read; lxml's docinfo is checked again after parsing
    entity_forbidden      entity references that no DTD could have declared
    not_xml               anything the parser refuses, with its line and column
    not_bpmn / wrong_root the root is not BPMN 2.0 ``definitions``
    no_process            no ``process`` element

Then the one analysis of what can run (app.bpmn.analysis, shared with sharlite) lists every
problem, capped at MAX_PROBLEMS; the refusal's ``code`` is the first problem's (script_task,
unsafe_expression, empty_timer, over_budget, cannot_run, missing_id) and ``problems`` holds them
all as dicts {rule, element_id, tag, name, line, message}. Last, the engine's specs are built
(app.bpmn.specs), so a file accepted here is a file sharlite deploys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from xml.parsers import expat

from lxml import etree

from app.bpmn.analysis import analyse
from app.bpmn.document import MAX_PROBLEMS, Analysis, Finding
from app.bpmn.elements import BPMN_NS, CONTAINERS, RUNNABLE_NODES
from app.bpmn.expressions import MAX_EXPRESSION_CHARS
from app.bpmn.specs import BuiltProcess, SpecsRefused, build_specs

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
MAX_CONDITION_CHARS = MAX_EXPRESSION_CHARS  # the engine's limit: one number for both

_M = f"{{{BPMN_NS}}}"

# Every FlowElement of the BPMN 2.0 metamodel: what a process (or sub-process) holds. The flow nodes
# the engine can run, the metamodel's other flow nodes, flows and data.
FLOW_ELEMENTS = RUNNABLE_NODES | frozenset(
    {
        "implicitThrowEvent",
        "complexGateway",
        "sequenceFlow",
        "dataObject",
        "dataObjectReference",
        "dataStoreReference",
        "callChoreography",
        "choreographyTask",
        "subChoreography",
    }
)
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

    def __init__(
        self,
        message: str,
        *,
        code: str,
        line: int | None = None,
        column: int | None = None,
        problems: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.line = line
        self.column = column
        # Every reason (capped), each {rule, element_id, tag, name, line, message}.
        self.problems = problems or []


@dataclass(frozen=True)
class ProcessSummary:
    id: str
    name: str | None
    # The engine's reading: isExecutable absent or "true" (SpiffWorkflow's default).
    is_executable: bool
    element_counts: dict[str, int]
    pool: str | None = None


@dataclass(frozen=True)
class BpmnSummary:
    processes: tuple[ProcessSummary, ...]
    element_counts: dict[str, int]
    target_namespace: str | None
    exporter: str | None
    exporter_version: str | None
    # Ids of the tasks that wait for a person; app.services.instances reads them from to_dict().
    user_task_ids: tuple[str, ...] = field(default=())
    # What SHAR's own parser would refuse although sharlite runs it: {rule, element_id, tag, name, line, message}.
    shar_warnings: tuple[dict[str, Any], ...] = field(default=())
    # Drawn but ignored by the engine: {tag, element_id, name, line, reason}.
    not_executed: tuple[dict[str, Any], ...] = field(default=())
    # Where instances wait for a message: element id -> message name (what an operator delivers).
    message_waits: dict[str, str] = field(default_factory=dict)
    # The messages that start each process: process id -> message names (a launch may start by one).
    message_starts: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy."""
        return {
            "processes": [
                {
                    "id": p.id,
                    "name": p.name,
                    "executable": p.is_executable,
                    "is_executable": p.is_executable,
                    "pool": p.pool,
                    "element_counts": dict(p.element_counts),
                }
                for p in self.processes
            ],
            "element_counts": dict(self.element_counts),
            "target_namespace": self.target_namespace,
            "exporter": self.exporter,
            "exporter_version": self.exporter_version,
            "user_task_ids": list(self.user_task_ids),
            "executable_process_ids": [p.id for p in self.processes if p.is_executable],
            "shar_warnings": [dict(w) for w in self.shar_warnings],
            "not_executed": [dict(n) for n in self.not_executed],
            "message_waits": dict(self.message_waits),
            "message_starts": {k: list(v) for k, v in self.message_starts.items()},
        }


@dataclass(frozen=True)
class Inspection:
    """Everything the one verdict found: the summary, the analysis and the engine's specs."""

    summary: BpmnSummary
    analysis: Analysis
    built: dict[str, BuiltProcess]


def validate_bpmn(data: bytes | str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> BpmnSummary:
    """Check an uploaded BPMN file against size, safe-XML, BPMN and security rules; summarise it."""
    return inspect_bpmn(data, max_bytes=max_bytes).summary


def inspect_bpmn(data: bytes | str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Inspection:
    """validate_bpmn's verdict with the analysis and the built specs (sharlite deploys from these)."""
    root = parse_definitions(data, max_bytes=max_bytes)
    processes = root.findall(f"{_M}process")
    if not processes:
        _refuse_no_process(root)
    # What the summary reads of the file as written, read before the analysis prepares the tree in
    # place: a prepared copy beside it would double the largest thing a check holds (docs/performance.md).
    counted = _Counted.of(root, processes)
    analysis = analyse(root, in_place=True)
    if analysis.problems:
        raise refusal(analysis.problems)
    try:
        built = build_specs(analysis.prepared, analysis.executable_ids)
    except SpecsRefused as exc:
        raise refusal(exc.findings) from None
    return Inspection(_summarise(counted, analysis), analysis, built)


def parse_definitions(data: bytes | str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    """The safe parse every reader of an uploaded file goes through: the size limit, no DOCTYPE
    or entity, well-formed XML, a BPMN 2.0 ``definitions`` root (refusals as BpmnValidationError)."""
    try:
        raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    except UnicodeEncodeError as exc:
        raise BpmnValidationError(
            f"BPMN text cannot be encoded as UTF-8: {exc.reason} at character {exc.start}", code="not_xml"
        ) from None
    _check_size(raw, max_bytes)
    is_text = isinstance(data, str)
    _refuse_doctype(raw, is_text=is_text)
    root = _parse(raw, is_text=is_text)
    _check_root(root)
    return root


def refusal(problems: list[Finding]) -> BpmnValidationError:
    """One error carrying every problem (capped): the message lists them, ``problems`` holds them."""
    shown = problems[:MAX_PROBLEMS]
    lines = [p.describe() for p in shown]
    if len(problems) > len(shown):
        lines.append(f"... and {len(problems) - len(shown)} more")
    if len(lines) == 1:
        message = f"this BPMN cannot run: {lines[0]}"
    else:
        message = f"this BPMN cannot run ({len(problems)} problems): " + "; ".join(
            f"{n}) {line}" for n, line in enumerate(lines, 1)
        )
    first = shown[0]
    return BpmnValidationError(message, code=first.code, line=first.line, problems=[p.to_dict() for p in shown])


# -- size --------------------------------------------------------------------------------


def _check_size(raw: bytes, max_bytes: int) -> None:
    if len(raw) > max_bytes:
        size, limit = _human_size(len(raw)), _human_size(max_bytes)
        if size == limit:
            size, limit = f"{len(raw):,} bytes", f"{max_bytes:,} bytes"
        raise BpmnValidationError(f"BPMN file is {size}; the limit is {limit}", code="too_large")
    if not raw or raw.isspace():  # not strip(): that copies a file ending in a newline
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
    return BpmnValidationError(
        "BPMN file declares a DOCTYPE; DTDs and entity declarations are not allowed", code="dtd_forbidden"
    )


def _parser(*, is_text: bool, recover: bool = False) -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        dtd_validation=False,
        attribute_defaults=False,
        remove_pis=False,
        encoding="utf-8" if is_text else None,
        recover=recover,
    )


# libxml2 reports a namespace name that is not an absolute URI as an error, though the XML is
# well-formed (IBM Process Designer writes such names): only those are let through.
_NAMESPACE_URI_WARNINGS = frozenset({etree.ErrorTypes.WAR_NS_URI, etree.ErrorTypes.WAR_NS_URI_RELATIVE})


_ENTITY_ERRORS = frozenset(
    {
        etree.ErrorTypes.ERR_UNDECLARED_ENTITY,
        etree.ErrorTypes.WAR_UNDECLARED_ENTITY,
        etree.ErrorTypes.ERR_ENTITY_LOOP,
    }
)


def _parse(raw: bytes, *, is_text: bool) -> etree._Element:
    try:
        parser = _parser(is_text=is_text)
        try:
            root = etree.fromstring(raw, parser)
        except etree.XMLSyntaxError:
            # The parser's own log: the exception's may hold earlier parses of this thread.
            log = parser.error_log
            if not log or any(e.type not in _NAMESPACE_URI_WARNINGS for e in log):
                raise
            root = etree.fromstring(raw, _parser(is_text=is_text, recover=True))
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc) from None
    except Exception as exc:  # noqa: BLE001 - any parser failure is a refusal, never a crash
        raise BpmnValidationError(
            f"BPMN file could not be parsed as XML: {str(exc)[:200] or 'unreadable'}", code="not_xml"
        ) from None
    if root is None:
        raise BpmnValidationError("BPMN file holds no XML element", code="not_xml")
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise _dtd_error()
    entity = next(root.iter(etree.Entity), None)
    if entity is not None:
        raise BpmnValidationError(
            f"BPMN file uses the entity reference {entity.text}; entities are not allowed", code="entity_forbidden"
        )
    return root


def _syntax_error(exc: etree.XMLSyntaxError) -> BpmnValidationError:
    line, column = exc.position if exc.position else (exc.lineno, None)
    text = exc.msg.split(", line ")[0] if exc.msg else "unreadable"
    if exc.code in _ENTITY_ERRORS or "amplification" in text:
        return BpmnValidationError(
            f"BPMN file uses an entity ({text}, line {line}, column {column}); entities are not allowed",
            code="entity_forbidden",
            line=line,
            column=column,
        )
    if text.startswith("Excessive depth in document"):  # libxml2's words name a parser option, not the problem
        limit = text.split(":")[1].split(",")[0].strip() if ":" in text else "256"
        text = f"elements are nested more than {limit} levels deep"
    return BpmnValidationError(
        f"BPMN file is not well-formed XML: {text} (line {line}, column {column})",
        code="not_xml",
        line=line,
        column=column,
    )


# -- BPMN structure ----------------------------------------------------------------------


def _check_root(root: etree._Element) -> None:
    qname = etree.QName(root)
    shown = f"{root.prefix}:{qname.localname}" if root.prefix else qname.localname
    if qname.namespace != BPMN_NS:
        where = f"in namespace {qname.namespace}" if qname.namespace else "with no namespace"
        known = _KNOWN_NAMESPACES.get(qname.namespace or "")
        hint = f" ({known})" if known else ""
        raise BpmnValidationError(
            f"not a BPMN 2.0 file: the root element is <{shown}> {where}{hint}; expected <definitions> in "
            f"namespace {BPMN_NS}",
            code="not_bpmn",
        )
    if qname.localname != "definitions":
        raise BpmnValidationError(
            f"the root element is <{shown}>; a BPMN 2.0 file's root must be <definitions>", code="wrong_root"
        )


def _refuse_no_process(root: etree._Element) -> None:
    held = sorted(
        {
            etree.QName(child).localname
            for child in root
            if isinstance(child.tag, str) and etree.QName(child).namespace == BPMN_NS
        }
    )
    detail = f" (it holds only: {', '.join(held)})" if held else ""
    raise BpmnValidationError(f"BPMN file defines no process{detail}", code="no_process")


# -- summary -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Counted:
    """The file as written: each process's id, name and flow elements, its person tasks, the root's attributes."""

    processes: tuple[tuple[str, str | None, dict[str, int]], ...]
    person_tasks: tuple[str, ...]
    attributes: dict[str, str | None]

    @classmethod
    def of(cls, root: etree._Element, processes: list[etree._Element]) -> _Counted:
        counted, person_tasks = [], []
        for process in processes:
            counts: dict[str, int] = {}
            _count_flow_elements(process, counts, person_tasks)
            counted.append((process.get("id") or "", process.get("name"), dict(sorted(counts.items()))))
        names = ("targetNamespace", "exporter", "exporterVersion")
        return cls(tuple(counted), tuple(person_tasks), {name: root.get(name) for name in names})


def _summarise(counted: _Counted, analysis: Analysis) -> BpmnSummary:
    summaries, overall = [], {}
    infos = {info["id"]: info for info in analysis.processes}
    for process_id, written_name, counts in counted.processes:
        info = infos.get(process_id, {})
        for name, n in counts.items():
            overall[name] = overall.get(name, 0) + n
        summaries.append(
            ProcessSummary(
                id=process_id,
                name=info.get("name", written_name),
                is_executable=bool(info.get("executable")),
                element_counts=counts,
                pool=info.get("pool"),
            )
        )
    return BpmnSummary(
        processes=tuple(summaries),
        element_counts=dict(sorted(overall.items())),
        target_namespace=counted.attributes["targetNamespace"],
        exporter=counted.attributes["exporter"],
        exporter_version=counted.attributes["exporterVersion"],
        user_task_ids=counted.person_tasks,
        shar_warnings=tuple(w.to_dict() for w in analysis.shar_warnings),
        not_executed=tuple(analysis.not_executed),
        message_waits=dict(analysis.message_waits),
        message_starts={k: list(v) for k, v in analysis.message_starts.items()},
    )


def _count_flow_elements(container: etree._Element, counts: dict[str, int], person_tasks: list[str]) -> None:
    # Iterative: nesting depth is bounded by the parser (no huge_tree), but recursion gains nothing.
    pending = [container]
    while pending:
        for child in pending.pop():
            if not isinstance(child.tag, str):
                continue
            qname = etree.QName(child)
            if qname.namespace != BPMN_NS or qname.localname not in FLOW_ELEMENTS:
                continue
            counts[qname.localname] = counts.get(qname.localname, 0) + 1
            if qname.localname in _PERSON_TASKS and child.get("id"):
                person_tasks.append(child.get("id"))
            if qname.localname in CONTAINERS:
                pending.append(child)
