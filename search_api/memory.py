"""Giving the memory freed by the API's large, rare jobs back to the system.

A coverage report or an ingest allocates a few hundred MiB of short-lived native memory
(driver records, embeddings, analysis) on whichever worker thread runs it. glibc's malloc
keeps what such a job frees in that thread's arena for later reuse instead of returning it,
so under concurrency the resident size climbs towards the sum of every arena's high mark
even though Python's own heap stays flat (measured in the soak, docs/benchmarks.md).
`malloc_trim(0)` hands the free pages of every arena back; it takes milliseconds and is
called once after each such job.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from functools import cache

log = logging.getLogger("sopkg.api")


@cache
def _trim() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim  # glibc only: musl and macOS have none
    except (OSError, AttributeError):
        return None


def release_free_memory() -> bool:
    """Return freed native memory to the system; False where the C library cannot."""
    trim = _trim()
    if trim is None:
        return False
    trim(0)
    return True
