"""The API's upload refuses, with a 422 that says why, the shapes the tester found accepted and then
failing every launch (an id shared by two elements, a loop no gateway decides), and stores nothing;
a loop an exclusive gateway decides is accepted."""

from __future__ import annotations

from sqlalchemy import func, select

from app.core.extensions import db
from app.models import JobRecord

_HEAD = '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D">'
DUPLICATE_ID = f"""{_HEAD}
  <bpmn:process id="P" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="t" name="Review"/>
    <bpmn:endEvent id="t"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
    <bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="t"/>
  </bpmn:process>
</bpmn:definitions>"""
SELF_LOOP = f"""{_HEAD}
  <bpmn:process id="P" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="t" name="Review"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
    <bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="t"/>
  </bpmn:process>
</bpmn:definitions>"""
DECIDED_LOOP = f"""{_HEAD}
  <bpmn:process id="P" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="t" name="Review"/>
    <bpmn:exclusiveGateway id="g" default="f4"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
    <bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="g"/>
    <bpmn:sequenceFlow id="f3" sourceRef="g" targetRef="t">
      <bpmn:conditionExpression>${{again}}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f4" sourceRef="g" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""


def _jobs() -> int:
    return db.session.scalar(select(func.count()).select_from(JobRecord))


def test_duplicate_ids_and_undecided_loops_are_422_naming_the_elements_and_nothing_is_stored(api) -> None:  # type: ignore[no-untyped-def]
    before = _jobs()
    for name, text, said in (
        ("Duplicate", DUPLICATE_ID, '<endEvent> "t" at line 5: its id "t" is also the id of <userTask> at line 4'),
        (
            "Looped",
            SELF_LOOP,
            '<userTask> "t" ("Review") at line 4: its flow comes straight back to it with no gateway',
        ),
    ):
        refused = api.post("/api/shar/workflows", json={"name": name, "bpmn_xml": text})
        assert refused.status_code == 422, refused.get_json()
        assert said in refused.get_json()["errors"]["bpmn_xml"][0]
        assert api.get(f"/api/shar/workflows/{name}").status_code == 404
    assert _jobs() == before


def test_a_loop_an_exclusive_gateway_decides_is_accepted(api) -> None:  # type: ignore[no-untyped-def]
    created = api.post("/api/shar/workflows", json={"name": "Reviewed", "bpmn_xml": DECIDED_LOOP})
    assert created.status_code in (201, 202), created.get_json()
