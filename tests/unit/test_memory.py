"""`release_free_memory` hands the holes a large job leaves in a worker thread's malloc
arena back to the system (what the soak's resident memory showed, docs/benchmarks.md)."""

from __future__ import annotations

import threading
from pathlib import Path

from search_api.memory import release_free_memory

BLOCK = 64 * 1024  # below glibc's mmap threshold: served from the thread's arena


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def test_the_holes_a_job_leaves_in_its_thread_arena_are_returned() -> None:
    kept: list[bytearray] = []
    rss: dict[str, float] = {}

    def job() -> None:
        blocks = [bytearray(BLOCK) for _ in range(3200)]  # 200 MiB, every page touched
        kept.extend(blocks[::16])  # what outlives the job pins the arena's top
        rss["peak"] = _rss_mib()
        blocks.clear()

    worker = threading.Thread(target=job)
    worker.start()
    worker.join()
    rss["freed"] = _rss_mib()
    assert release_free_memory()
    rss["trimmed"] = _rss_mib()
    # Freed but not returned: most of the 200 MiB is still resident until the trim.
    assert rss["freed"] > rss["peak"] - 50, rss
    assert rss["trimmed"] < rss["freed"] - 100, rss
