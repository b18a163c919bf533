"""Large valid BPMN documents, as a modeller exports them: many user tasks, each with its
documentation and its diagram shape and edge. For tests and benchmarks of uploads near the size limit."""

from __future__ import annotations

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
                  xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
                  xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
                  id="Definitions_{tag}" targetNamespace="http://sharboard.test/bpmn">
  <bpmn:process id="Large_{tag}" name="Large {tag}" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f_fork" sourceRef="start" targetRef="fork"/>
    <bpmn:parallelGateway id="fork"/>
    <bpmn:parallelGateway id="join"/>
    <bpmn:sequenceFlow id="f_end" sourceRef="join" targetRef="end"/>
    <bpmn:endEvent id="end"/>
"""
TASK = """    <bpmn:sequenceFlow id="f{n}" sourceRef="{source}" targetRef="t{n}"/>
    <bpmn:userTask id="t{n}" name="Check step {n} of {tag}">
      <bpmn:documentation>{doc}</bpmn:documentation>
    </bpmn:userTask>
"""
JOIN = """    <bpmn:sequenceFlow id="j{n}" sourceRef="t{n}" targetRef="join"/>
"""
MIDDLE = """  </bpmn:process>
  <bpmndi:BPMNDiagram id="Diagram_{tag}">
    <bpmndi:BPMNPlane id="Plane_{tag}" bpmnElement="Large_{tag}">
"""
SHAPE = (
    '      <bpmndi:BPMNShape id="t{n}_di" bpmnElement="t{n}">'
    '<dc:Bounds x="{x}" y="{y}" width="100" height="80"/></bpmndi:BPMNShape>\n'
    '      <bpmndi:BPMNEdge id="f{n}_di" bpmnElement="f{n}">'
    '<di:waypoint x="{x0}" y="{y0}"/><di:waypoint x="{x}" y="{y0}"/></bpmndi:BPMNEdge>\n'
)
TAIL = """    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""
DOC = (
    "Compare the order's lines with the delivery note, note every difference in the remarks, "
    "and ask the warehouse about a line that cannot be matched before approving this step. "
)
CHAIN = 50  # tasks in a row on one branch: the engine builds a few hundred in a row at most


def large_bpmn(target_bytes: int = 5_000_000, tag: str = "doc", doc_repeats: int = 3) -> str:
    """A valid, runnable BPMN document of about `target_bytes` UTF-8 bytes (a little under): a
    parallel split into branches of CHAIN user tasks each (with documentation), joined before the
    end event, and a shape and an edge for each task. `tag` makes documents of one size differ."""
    doc = DOC * doc_repeats
    head = HEAD.format(tag=tag)
    one = len(TASK.format(n=10000, source="t9999", tag=tag, doc=doc)) + len(
        SHAPE.format(n=10000, x=100000, y=10000, x0=99950, y0=10040)
    )
    count = max(1, (target_bytes - len(head) - 2000) * CHAIN // (one * CHAIN + len(JOIN) + 40))
    parts = [head]
    for n in range(1, count + 1):
        source = "fork" if n % CHAIN == 1 or CHAIN == 1 else f"t{n - 1}"
        parts.append(TASK.format(n=n, source=source, tag=tag, doc=doc))
        if n % CHAIN == 0 or n == count:
            parts.append(JOIN.format(n=n))
    parts.append(MIDDLE.format(tag=tag))
    for n in range(1, count + 1):
        x, y = 150 * ((n - 1) % CHAIN + 1), 120 * ((n - 1) // CHAIN)
        parts.append(SHAPE.format(n=n, x=x, y=y, x0=x - 50, y0=y + 40))
    parts.append(TAIL)
    return "".join(parts)
