"""What is read from a workflow version's stored file (its element names, its flows), kept per
process by the file's digest: a version's file never changes, so each is parsed once."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from app.bpmn import DEFAULT_MAX_BYTES, BpmnValidationError
from app.bpmn.validation import parse_definitions
from app.models import Workflow
from app.services import large_documents

T = TypeVar("T")


class PerFile(Generic[T]):
    """`read(root)` of each stored file, for the `size` files asked for last. The root is None for a
    file the safe parse refuses now (it passed the upload's checks; a lower size limit since)."""

    def __init__(self, read: Callable[[Any], T], size: int) -> None:
        self._read = read
        self._size = size
        self._kept: OrderedDict[str, T] = OrderedDict()
        self._lock = threading.Lock()

    def of(self, workflow: Workflow) -> T:
        key = workflow.bpmn_sha256
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
                return found
        xml = workflow.bpmn_xml or ""  # the deferred column: loaded on a miss only
        with large_documents.slot(large_documents.size_of(xml), "stored BPMN file"):
            value = self._read(_root(xml))  # the parsed tree is gone once read: the slot gives it back
        with self._lock:
            self._kept[key] = value
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)
        return value


def _root(xml: str) -> Any:
    raw = xml.encode("utf-8", "replace")
    try:
        return parse_definitions(raw, max_bytes=max(DEFAULT_MAX_BYTES, len(raw)))
    except BpmnValidationError:
        return None
