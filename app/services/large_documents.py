"""At most SLOTS large documents parsed at once in this process, and their memory given back after each.

Checking a 4.9 MB BPMN file holds about 40 MB while it runs (its parsed tree ~32 MB, the analysis and
the engine's specs) besides the request's copies of the text, and glibc keeps what it freed. Nothing
bounded how many one process checked at once: 50 uploads of 5 MB took each gunicorn worker (8 threads,
all checking) from ~120 MB to ~1.05-1.1 GB, kept after the burst, and other people's requests queued
behind the uploads (a poll's p99 35-46 s; docs/performance.md, "Large uploads at once").

Every service that parses a document (the upload check, the name a file offers, what is read from a
stored file) does it inside `slot(size)`. A document under LARGE_BYTES passes at once. A large one
takes one of SLOTS, or waits for one with at most WAITING others; after WAIT_SECONDS, or at once when
that many wait already, the caller is refused with ServiceUnavailable (503 with Retry-After) before
anything is stored. A thread already holding a slot (a preview checks the upload, then diffs it) takes
no second one. Leaving a slot gives the memory back (app.core.memory.give_back) before the next
document starts, so a process holds at most SLOTS documents' worth at a time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from app.core.errors import ServiceUnavailable
from app.core.memory import give_back

LARGE_BYTES = 1024 * 1024
SLOTS = 2
# At most this many wait for a slot; more are refused at once. A waiting request holds one of the web
# server's threads (gunicorn's gthread: 8 a worker), so SLOTS + WAITING of them at most serve large
# documents and the rest stay free for everyone else's requests.
WAITING = 2
WAIT_SECONDS = 5.0
RETRY_AFTER_SECONDS = 5

logger = logging.getLogger("sharboard.uploads")
_slots = threading.BoundedSemaphore(SLOTS)
_waiting = threading.BoundedSemaphore(WAITING)
_held = threading.local()


def size_of(document: str | bytes) -> int:
    """`document`'s size in UTF-8 bytes; ASCII text (most BPMN) is measured without encoding a copy."""
    if isinstance(document, str) and not document.isascii():
        return len(document.encode("utf-8", "surrogatepass"))
    return len(document)


def is_large(size: int) -> bool:
    return size >= LARGE_BYTES


@contextmanager
def slot(size: int, what: str = "BPMN file") -> Iterator[None]:
    """Run the block holding one of this process's slots for large documents when `size` (UTF-8
    bytes) is large; at once otherwise, or when this thread holds a slot already. ServiceUnavailable
    when WAITING others wait already, or none frees up within WAIT_SECONDS. The block should leave
    nothing of the document it parsed referenced: what it allocated is given back on leaving."""
    if not is_large(size) or getattr(_held, "slot", False):
        yield
        return
    _take(size, what)
    _held.slot = True
    try:
        yield
    finally:
        _held.slot = False
        try:
            give_back()
        finally:
            _slots.release()


def _take(size: int, what: str) -> None:
    if _slots.acquire(blocking=False):
        return
    if not _waiting.acquire(blocking=False):
        raise _busy(size, what, f"{WAITING} more wait for their turn already")
    try:
        if _slots.acquire(timeout=WAIT_SECONDS):
            return
    finally:
        _waiting.release()
    raise _busy(size, what, f"it waited {WAIT_SECONDS:g} s for its turn")


def _busy(size: int, what: str, why: str) -> ServiceUnavailable:
    logger.warning("large document refused: %s", why, extra={"size": size, "slots": SLOTS})
    return ServiceUnavailable(
        f"this server is busy reading other large files ({SLOTS} at a time, each over "
        f"{LARGE_BYTES // (1024 * 1024)} MiB) and {why}; this {what} of {size / (1024 * 1024):.1f} MiB "
        f"was not checked and nothing was stored or changed: try again in {RETRY_AFTER_SECONDS} s",
        retry_after=RETRY_AFTER_SECONDS,
    )
