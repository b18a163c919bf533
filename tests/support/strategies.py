"""Hypothesis strategies for the property tests of user text: expressions, their languages, and a
small BPMN document whose ids, names, references and texts are drawn; and the check that a
refusal's message is for people."""

from __future__ import annotations

import re

from hypothesis import settings
from hypothesis import strategies as st
from lxml import etree

FAST = settings(max_examples=200, deadline=None)  # fast and repeatable enough for every run
MODEL = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
ZEEBE = "http://camunda.org/schema/zeebe/1.0"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

# Expressions: any text, and texts made of the pieces each language and the mapping care about.
_EXPRESSION_PARTS = st.sampled_from(
    [
        "${",
        "#{",
        "}",
        "=",
        "==",
        "!=",
        "!",
        "&&",
        "||",
        " eq ",
        " lt ",
        " div ",
        "empty ",
        "not(",
        "not ",
        " and ",
        " or ",
        "a",
        "b_1",
        "_empty",
        "_x",
        "(",
        ")",
        "[",
        "]",
        "'",
        '"',
        "\\",
        "1",
        "-",
        "1e999",
        "9" * 1300,
        "**",
        "<<",
        ".",
        "..",
        ":",
        "x:y(",
        "some x in y satisfies",
        "if a then b",
        "between",
        "instance of",
        " ",
        "\n",
        "lambda",
        "a.b",
        "f(x)",
        "__import__",
        "{",
        "@",
        "~",
        ",",
        "in",
        "is",
        "None",
        "true",
        "null",
        "\u0663",
        "é",
    ]
)
EXPRESSIONS = st.one_of(st.text(), st.lists(_EXPRESSION_PARTS, max_size=12).map("".join))
LANGUAGES = st.one_of(
    st.none(),
    st.sampled_from(
        ["python", "juel", "feel", "FEEL", "xpath", "javascript", "http://www.w3.org/1999/XPath", "groovy", ""]
    ),
    st.text(max_size=12),
)


PYTHON_LEAKS = re.compile(r"Traceback|object at 0x|\b(Key|Type|Attribute|Index|Recursion|Overflow|Lookup)Error\b")


def refused_plainly(exc: Exception) -> None:
    """A message for people: something said, no Python exception names or object reprs."""
    message = str(exc)
    assert message.strip() and not PYTHON_LEAKS.search(message), message


# Any text XML can hold in an attribute (lxml refuses the rest before a file could hold it).
XML_TEXT = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="\ufffe\uffff", min_codepoint=0x20), max_size=24
)
ODD_IDS = ["']", "']\"]", "[@id='x']", "a/b", "*", "..", "sharboard_message_r", "1", "start", "Process_1", "a b"]
IDS = st.one_of(XML_TEXT.filter(str.strip), st.sampled_from(ODD_IDS))
_RARELY = st.booleans().flatmap(lambda odd: st.just(odd) if not odd else st.sampled_from([False] * 7 + [True]))


@st.composite
def documents(draw: st.DrawFn) -> str:
    """One process: start, gateway (a drawn condition), a service task (an output mapping, a
    multi-instance marker), a timer, a receive task (with or without a messageRef), an end. Every
    id, name and text is drawn; most documents are well formed, so the engine runs many of them,
    and some break a rule (a reference to nothing, two elements of one id, a bad value)."""
    ids = draw(st.lists(IDS, min_size=9, max_size=9, unique_by=str.strip))
    if draw(_RARELY):
        ids[draw(st.integers(1, 8))] = ids[0]  # two elements of one id

    def rarely(usual: str, odd: st.SearchStrategy[str]) -> str:
        return draw(odd) if draw(_RARELY) else usual

    root = etree.Element(
        f"{{{MODEL}}}definitions",
        nsmap={"bpmn": MODEL, "bpmndi": DI, "dc": DC, "zeebe": ZEEBE},
        id="D",
        targetNamespace="http://x",
    )
    message = etree.SubElement(root, f"{{{MODEL}}}message", id=ids[8], name=draw(XML_TEXT))
    process = etree.SubElement(
        root,
        f"{{{MODEL}}}process",
        id=ids[0],
        isExecutable=rarely("true", st.sampled_from(["false", "1", " true ", "yes"])),
    )
    if draw(st.booleans()):
        process.set("name", draw(XML_TEXT))

    def node(kind: str, element_id: str) -> etree._Element:
        el = etree.SubElement(process, f"{{{MODEL}}}{kind}", id=element_id)
        if draw(st.booleans()):
            el.set("name", draw(XML_TEXT))
        return el

    chain = [
        node(kind, ids[n])
        for n, kind in enumerate(
            ["startEvent", "exclusiveGateway", "serviceTask", "intermediateCatchEvent", "receiveTask", "endEvent"], 1
        )
    ]
    start, gateway, service, timer, receive, end = chain
    if draw(st.booleans()):
        receive.set("messageRef", rarely(message.get("id"), IDS))
    if draw(st.booleans()):
        loop = etree.SubElement(service, f"{{{MODEL}}}multiInstanceLoopCharacteristics")
        etree.SubElement(loop, f"{{{MODEL}}}loopCardinality").text = rarely(
            draw(st.sampled_from(["2", "n", "a"])), st.one_of(XML_TEXT, st.sampled_from(["9" * 5000, "-1", "1e3"]))
        )
    if draw(st.booleans()):
        mapping = etree.SubElement(etree.SubElement(service, f"{{{MODEL}}}extensionElements"), f"{{{ZEEBE}}}ioMapping")
        etree.SubElement(
            mapping,
            f"{{{ZEEBE}}}output",
            source=draw(st.sampled_from(["=a", "= n + 1", "a"]) | XML_TEXT),
            target=rarely(draw(st.sampled_from(["a", "out_1", "n"])), XML_TEXT),
        )
    definition = etree.SubElement(timer, f"{{{MODEL}}}timerEventDefinition")
    etree.SubElement(
        definition, f"{{{MODEL}}}{rarely('timeDuration', st.sampled_from(['timeCycle', 'timeDate']))}"
    ).text = rarely("PT0S", st.one_of(XML_TEXT, st.sampled_from(["PT1S", "R5/PT0S", "R/PT1S", "2030-01-01T00:00:00Z"])))
    for n, (source, target) in enumerate(zip(chain, chain[1:], strict=False)):
        flow = etree.SubElement(
            process,
            f"{{{MODEL}}}sequenceFlow",
            id=f"{ids[7]}{n}",
            sourceRef=source.get("id"),
            targetRef=rarely(target.get("id"), IDS),
        )
        if source is gateway:
            condition = etree.SubElement(
                flow, f"{{{MODEL}}}conditionExpression", {f"{{{XSI}}}type": "bpmn:tFormalExpression"}
            )
            condition.text = rarely(
                draw(st.sampled_from(["= a > 1", "${a == 'x' || n ge 1}", "n >= 0", "true"])),
                EXPRESSIONS.filter(_xml_text),
            )
            language = rarely("", LANGUAGES.filter(lambda text: text is None or _xml_text(text)))
            if language:
                condition.set("language", language)
    plane = etree.SubElement(
        etree.SubElement(root, f"{{{DI}}}BPMNDiagram", id="diagram"),
        f"{{{DI}}}BPMNPlane",
        id="plane",
        bpmnElement=process.get("id"),
    )
    for n, el in enumerate(chain):
        shape = etree.SubElement(plane, f"{{{DI}}}BPMNShape", id=f"shape{n}", bpmnElement=rarely(el.get("id"), IDS))
        etree.SubElement(shape, f"{{{DC}}}Bounds", x="0", y="0", width="10", height="10")
    return etree.tostring(root, encoding="unicode")


def _xml_text(text: str) -> bool:
    try:
        etree.Element("x").text = text
    except ValueError:
        return False
    return True
