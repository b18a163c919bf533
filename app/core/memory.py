"""Giving memory back to the operating system after a large piece of work in a long-lived process.

CPython frees objects into the C allocator, and glibc's malloc keeps freed memory for reuse: after a
burst the process's resident size stays at its high-water mark, for every thread's arena (a gunicorn
worker with 8 threads kept ~0.93 GB after 50 uploads of 5 MB, docs/performance.md). `malloc_trim(0)`
hands the free pages of every arena back. Some garbage needs the cyclic collector first: the engine's
specs built while checking a BPMN file refer to each other (77,000 objects for a 5 MB file), and with
them the parsed document they were built from, so they are freed only by a full collection.

Also: large_blocks_apart(), so that large buffers (an upload's copies of its text) are unmapped as
soon as they are freed instead of staying in the allocator's arenas.

Only glibc has malloc_trim and mallopt; elsewhere (musl, macOS, Windows) give_back() only collects and
large_blocks_apart() does nothing.
"""

from __future__ import annotations

import ctypes
import gc
import sys
from collections.abc import Callable

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
LARGE_BLOCK = 1024 * 1024


def _load(name: str, *argtypes: type) -> Callable[..., int] | None:
    """glibc's function `name`, or None (another C library, another system)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = getattr(ctypes.CDLL(None), name)  # musl has neither: AttributeError
    except (OSError, AttributeError):
        return None
    function.argtypes = list(argtypes)
    function.restype = ctypes.c_int
    return function  # type: ignore[no-any-return]


_MALLOC_TRIM = _load("malloc_trim", ctypes.c_size_t)
_MALLOPT = _load("mallopt", ctypes.c_int, ctypes.c_int)


def can_trim() -> bool:
    """Whether this platform's C library gives free pages back on request (glibc)."""
    return _MALLOC_TRIM is not None


def give_back() -> None:
    """Collect cyclic garbage, then hand every free page of the C allocator back to the system.
    Costs a full collection (about 0.1 s in a web worker) and a few ms of trimming: for after work
    that allocated tens of MB, not for every request."""
    gc.collect()
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def large_blocks_apart() -> None:
    """Have every block of LARGE_BLOCK or more mapped on its own, so freeing it unmaps it at once.
    glibc does so only until the first such block is freed: it then raises its threshold to that
    block's size (up to 32 MiB), and the copies of a 5 MB upload's text (the request body, the JSON
    string, the UTF-8 bytes the parser reads) are carved from the arenas, where they stay. A web
    worker calls it once (app.core.web_server.post_fork)."""
    if _MALLOPT is not None:
        _MALLOPT(M_MMAP_THRESHOLD, LARGE_BLOCK)
