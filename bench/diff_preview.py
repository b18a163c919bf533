"""The CPU one diff preview costs (issue 19): an upload checked as create_workflow checks it and
compared with the deployed version, at growing file sizes, in this process (no stack needed).

    RESULT diff preview <size> | figure <cpu seconds> | ratio <r> vs the 10 KB file | goal under 2 s at the limit

The file is a split into many user tasks with their diagram; the compared copy renames every tenth task.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

sys.path.insert(0, ".")

from app.bpmn.diff import diff_bpmn  # noqa: E402
from app.bpmn.validation import validate_bpmn  # noqa: E402

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/'
    '20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/'
    'spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="Defs" '
    'targetNamespace="http://sharboard.test/bpmn">\n<bpmn:process id="Chain" isExecutable="true">\n'
)


def chain(target_bytes: int, *, renamed: bool = False) -> str:
    """A valid process about `target_bytes` long: a split into user tasks, each a branch of its own
    (a long chain is refused as too deep for the engine), joined before the end."""
    per_task = 440  # a task, its two flows, its shape and its edge, roughly
    count = max(target_bytes // per_task, 1)
    nodes = [
        '<bpmn:startEvent id="start"/><bpmn:sequenceFlow id="fs" sourceRef="start" targetRef="split"/>'
        '<bpmn:parallelGateway id="split"/><bpmn:parallelGateway id="join"/>'
        '<bpmn:sequenceFlow id="fj" sourceRef="join" targetRef="end"/><bpmn:endEvent id="end"/>'
    ]
    shapes = []
    for n in range(count):
        name = f"Step {n} renamed" if renamed and n % 10 == 0 else f"Step {n}"
        nodes.append(
            f'<bpmn:sequenceFlow id="a{n}" sourceRef="split" targetRef="t{n}"/>'
            f'<bpmn:userTask id="t{n}" name="{name}"/>'
            f'<bpmn:sequenceFlow id="b{n}" sourceRef="t{n}" targetRef="join"/>'
        )
        shapes.append(
            f'<bpmndi:BPMNShape id="t{n}_di" bpmnElement="t{n}"><dc:Bounds x="300" y="{n * 100}" '
            f'width="100" height="80"/></bpmndi:BPMNShape><bpmndi:BPMNEdge id="a{n}_di" bpmnElement='
            f'"a{n}"><di:waypoint x="250" y="{n * 100}"/><di:waypoint x="300" y="{n * 100}"/>'
            "</bpmndi:BPMNEdge>"
        )
    return (
        HEAD + "\n".join(nodes) + '\n</bpmn:process>\n<bpmndi:BPMNDiagram id="D"><bpmndi:BPMNPlane id="P" '
        'bpmnElement="Chain">\n' + "\n".join(shapes) + "\n</bpmndi:BPMNPlane></bpmndi:BPMNDiagram>\n"
        "</bpmn:definitions>\n"
    )


def preview_cpu(old: str, new: str, rounds: int) -> float:
    """The median CPU seconds of the preview's work: the upload's check, then the diff."""
    limit = max(len(old.encode()), len(new.encode())) + 1
    spent = []
    for _ in range(rounds):
        started = time.process_time()
        validate_bpmn(new, max_bytes=limit)
        diff_bpmn(old, new, max_bytes=limit)
        spent.append(time.process_time() - started)
    return statistics.median(spent)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", choices=("tiny", "default", "large"), default="default")
    args = parser.parse_args()
    sizes = {
        "tiny": [10_000, 100_000],
        "default": [10_000, 256 * 1024, 1024 * 1024, 5 * 1024 * 1024],
        "large": [10_000, 1024 * 1024, 5 * 1024 * 1024, 10 * 1024 * 1024],
    }[args.size]
    base = None
    for size in sizes:
        old, new = chain(size), chain(size, renamed=True)
        cpu = preview_cpu(old, new, rounds=3 if size <= 1024 * 1024 else 1)
        base = base or cpu
        print(
            f"RESULT diff preview {len(new.encode()) / 1024:,.0f} KB | figure {cpu:.3f} s CPU | ratio "
            f"{cpu / base:.1f} vs the 10 KB file | goal under 2 s at the limit",
            flush=True,
        )


if __name__ == "__main__":
    main()
