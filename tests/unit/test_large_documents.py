"""Large BPMN files are checked SLOTS at a time per process, a file that waits too long for its turn is
refused with 503 before anything is stored, and what a check allocated is given back to the system
(app.services.large_documents; docs/reliability.md, "50 uploads of 5 MB at once")."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.core import memory
from app.core.errors import InvalidInput, ServiceUnavailable
from app.core.extensions import db
from app.models import ApiToken, AuditEntry, JobRecord, Workflow, WorkflowName
from app.services import large_documents, workflow_input
from app.services.workflow_input import check_bpmn
from tests.support.factories import make_user
from tests.support.large_bpmn import large_bpmn

LIMIT = 5 * 1024 * 1024
SIZE = 1_200_000  # over LARGE_BYTES (1 MiB), a fifth of a second's check


class Inside:
    """Wraps the service's validate_bpmn: how many threads are in it at once, at most; a file whose
    text names `held` near its start stays inside until `release` is set."""

    def __init__(self, real: Callable[..., Any], held: str = "") -> None:
        self.real, self.held = real, held
        self.now = self.most = 0
        self.lock = threading.Lock()
        self.entered = threading.Semaphore(0)
        self.release = threading.Event()

    def __call__(self, text: str, **kwargs: Any) -> Any:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            self.entered.release()
            time.sleep(0.05)  # long enough for every thread started meanwhile to come in, were it let
            if self.held and self.held in text[:2000]:
                self.release.wait(30)
            return self.real(text, **kwargs)
        finally:
            with self.lock:
                self.now -= 1


@pytest.fixture
def inside(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inside]:
    wrapper = Inside(workflow_input.validate_bpmn, held="holder")
    monkeypatch.setattr(workflow_input, "validate_bpmn", wrapper)
    yield wrapper
    wrapper.release.set()


def _holding_every_slot(inside: Inside) -> list[threading.Thread]:
    """SLOTS threads checking large files that stay inside the check until inside.release is set."""
    holders = [
        threading.Thread(target=check_bpmn, args=(large_bpmn(SIZE, tag=f"holder{n}"), LIMIT), daemon=True)
        for n in range(large_documents.SLOTS)
    ]
    for holder in holders:
        holder.start()
    for _ in holders:
        assert inside.entered.acquire(timeout=30)
    return holders


def test_no_more_large_files_are_checked_at_once_than_the_slots(inside: Inside, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Room for every thread to wait, and time enough on a slow machine: each gets its turn.
    monkeypatch.setattr(large_documents, "_waiting", threading.BoundedSemaphore(8))
    monkeypatch.setattr(large_documents, "WAIT_SECONDS", 120.0)
    results: list[object] = []
    threads = [
        threading.Thread(target=lambda n=n: results.append(check_bpmn(large_bpmn(SIZE, tag=f"t{n}"), LIMIT)))
        for n in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(results) == 8  # every one checked, none refused
    assert inside.most == large_documents.SLOTS  # without the slots all 8 were inside at once


def test_a_large_upload_waiting_past_the_limit_is_503_with_retry_after_and_nothing_stored(  # type: ignore[no-untyped-def]
    offline_app, inside: Inside, monkeypatch
) -> None:
    monkeypatch.setattr(large_documents, "WAIT_SECONDS", 0.3)
    user = make_user("ann@example.com", "admin")
    token, plain = ApiToken.issue(user, "test")
    db.session.add(token)
    db.session.commit()
    client = offline_app.test_client()
    body = {"name": "Large", "bpmn_xml": large_bpmn(SIZE, tag="waiter")}
    headers = {"Authorization": f"Bearer {plain}"}
    holders = _holding_every_slot(inside)

    answer = client.post("/api/shar/workflows", json=body, headers=headers)
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == str(large_documents.RETRY_AFTER_SECONDS)
    assert "busy reading other large files" in answer.get_json()["message"]
    assert "nothing was stored" in answer.get_json()["message"]
    db.session.expire_all()
    for model in (Workflow, WorkflowName, JobRecord, AuditEntry):
        assert db.session.scalar(select(func.count()).select_from(model)) == 0, model.__name__
    # A small file waits for no slot, even with every slot taken.
    small = (Path(__file__).parents[1] / "fixtures" / "bpmn" / "user_task.bpmn").read_text()
    assert (
        client.post("/api/shar/workflows", json={"name": "Small", "bpmn_xml": small}, headers=headers).status_code
        == 202
    )
    assert db.session.scalar(select(func.count()).select_from(Workflow)) == 1

    inside.release.set()
    for holder in holders:
        holder.join(30)
    assert client.post("/api/shar/workflows", json=body, headers=headers).status_code == 202


def test_past_the_waiting_room_a_large_file_is_refused_at_once(inside: Inside, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Each waiting request holds a web server thread: past WAITING of them, the next is refused without
    waiting, so large files never take every thread from other people's requests."""
    monkeypatch.setattr(large_documents, "WAIT_SECONDS", 60.0)
    holders = _holding_every_slot(inside)
    waiters = [threading.Thread(target=_take_a_slot) for _ in range(large_documents.WAITING)]
    for waiter in waiters:
        waiter.start()
    deadline = time.monotonic() + 30
    while large_documents._waiting._value and time.monotonic() < deadline:  # every waiter in the room
        time.sleep(0.01)
    began = time.monotonic()
    refused = _in_thread(_take_a_slot)
    assert isinstance(refused, ServiceUnavailable)
    assert time.monotonic() - began < 5  # not WAIT_SECONDS
    assert refused.retry_after == large_documents.RETRY_AFTER_SECONDS
    assert f"{large_documents.WAITING} more wait for their turn already" in refused.message
    inside.release.set()
    for thread in holders + waiters:
        thread.join(30)
    assert _in_thread(_take_a_slot) is None  # every slot and place in the room given back


def test_a_thread_holding_a_slot_takes_no_second_one(inside: Inside, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A preview checks the upload, then diffs it: with the other slot taken, a second slot for the same
    thread would wait for itself and be refused."""
    monkeypatch.setattr(large_documents, "WAIT_SECONDS", 0.3)
    holder = threading.Thread(target=check_bpmn, args=(large_bpmn(SIZE, tag="holder"), LIMIT), daemon=True)
    holder.start()
    assert inside.entered.acquire(timeout=30)
    with large_documents.slot(SIZE):
        with large_documents.slot(SIZE):
            pass
        assert isinstance(_in_thread(_take_a_slot), ServiceUnavailable)  # every slot is taken meanwhile
    assert _in_thread(_take_a_slot) is None  # and this thread's is free again
    inside.release.set()
    holder.join(30)


def _take_a_slot() -> None:
    with large_documents.slot(SIZE):
        pass


def _in_thread(call: Callable[[], Any]) -> BaseException | None:
    """What `call` raised in another thread (None when it returned)."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            raised.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    return raised[0] if raised else None


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _refused(text: str) -> str:
    script = '<bpmn:scriptTask id="script"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>'
    return text.replace("  </bpmn:process>", f"    {script}\n  </bpmn:process>", 1)


@pytest.mark.skipif(not memory.can_trim(), reason="malloc_trim is glibc's")
@pytest.mark.parametrize("make", [lambda text: text, _refused], ids=["accepted", "refused"])
def test_what_a_large_check_allocated_is_given_back(make: Callable[[str], str]) -> None:
    """A 4.9 MB file holds ~40 MB while it is checked; glibc kept all of it (the engine's specs
    are freed only by the cyclic collector, with the parsed tree they refer to). A refused file's
    traceback held the tree as well."""
    text = make(large_bpmn(4_900_000, tag="memory"))

    def check() -> None:
        try:
            check_bpmn(text, LIMIT)
        except InvalidInput:
            pass

    check()  # the first one also loads what every later one reuses
    memory.give_back()
    before = _rss_mib()
    check()
    assert _rss_mib() - before < 15


FREED_WHILE_SMALL_ONES_STAY = """
import sys
from app.core import memory

def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024

if sys.argv[1] == "apart":
    memory.large_blocks_apart()
first = b"x" * (8 << 20)
del first  # glibc raises its threshold past 8 MiB on this free
texts = []
for n in range(10):
    texts.append(b"x" * (5 << 20))  # an upload's copy of its text
    texts.append(b"y" * (200 << 10))  # something smaller allocated after it, kept
before = rss()
del texts[::2]
print(before - rss())
"""


@pytest.mark.skipif(not memory.can_trim(), reason="mallopt is glibc's")
def test_large_blocks_are_unmapped_as_soon_as_they_are_freed() -> None:
    """A web worker's large buffers (app.core.web_server.post_fork): ten 5 MiB texts freed between
    smaller blocks still in use go back to the system at once, where glibc kept every one."""
    repo = Path(__file__).parents[2]

    def freed_mib(mode: str) -> float:
        run = subprocess.run(
            [sys.executable, "-c", FREED_WHILE_SMALL_ONES_STAY, mode],
            cwd=repo,
            env={**os.environ, "PYTHONPATH": str(repo)},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return float(run.stdout)

    assert freed_mib("apart") >= 45
    assert freed_mib("glibc's own") < 10
