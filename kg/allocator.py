"""Which malloc a long-running sopkg process uses (`SOPKG_ALLOCATOR`).

The API server's resident memory climbed steadily under a mixed load with glibc's malloc,
though Python's own heap stayed flat: reports and ingests on 40 worker threads leave each
thread's arena at its own high mark, and `malloc_trim` after them did not stop the climb.
With jemalloc it levelled off after warm-up (the soak in docs/benchmarks.md). A C library
cannot be swapped inside a running process, so `sopkg serve` and `sopkg up` re-execute
themselves once with jemalloc preloaded, before any work, when it is installed
(Debian/Ubuntu: `libjemalloc2`):

- `auto` (default): jemalloc when found, else glibc's malloc with a note;
- `jemalloc`: required, a clear error when missing;
- `system`: never preload.

The re-execution carries a marker, so it happens at most once, and the Neo4j server a
command starts does not inherit the preload (`child_env`): its memory is the JVM's own.
"""

from __future__ import annotations

import ctypes.util
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from kg.errors import ConfigError

Allocator = Literal["auto", "jemalloc", "system"]
PRELOAD_MARKER = "SOPKG_ALLOCATOR_PRELOAD"  # the library this module preloaded
# Return freed pages to the system within a second, from jemalloc's own thread, instead of
# on the next allocation in the same arena.
MALLOC_CONF = "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0"


@dataclass(frozen=True)
class Plan:
    """What to do at start: re-execute with `env`, or go on (`env` None) saying `note`."""

    env: dict[str, str] | None
    note: str


def find_jemalloc() -> str | None:
    """The shared library's name as the dynamic loader finds it, else None."""
    return ctypes.util.find_library("jemalloc")


def loaded_libraries(maps: Path = Path("/proc/self/maps")) -> str:
    """The memory map of this process ('' where there is no /proc)."""
    try:
        return maps.read_text(errors="replace")
    except OSError:
        return ""


def in_use(maps_text: str) -> str:
    """The allocator a process runs with, read from its memory map."""
    return "jemalloc" if "libjemalloc" in maps_text else "system"


def plan(
    choice: Allocator, environ: Mapping[str, str], library: str | None, maps_text: str
) -> Plan:
    """Decide once, at start, whether to re-execute with jemalloc preloaded."""
    if choice == "system":
        return Plan(None, "allocator: the C library's malloc (SOPKG_ALLOCATOR=system)")
    if in_use(maps_text) == "jemalloc":
        return Plan(None, "allocator: jemalloc")
    if library is None or PRELOAD_MARKER in environ:
        # Missing, or preloaded once already without effect: never loop.
        reason = "not found" if library is None else "preloaded but not loaded"
        if choice == "jemalloc":
            raise ConfigError(
                f"SOPKG_ALLOCATOR=jemalloc but jemalloc is {reason}: install it "
                "(Debian/Ubuntu: apt-get install libjemalloc2) or set SOPKG_ALLOCATOR=auto"
            )
        return Plan(
            None,
            f"allocator: the C library's malloc (jemalloc {reason}; memory may grow under "
            "load: install libjemalloc2, see docs/operations.md)",
        )
    preload = " ".join(x for x in (library, environ.get("LD_PRELOAD", "")) if x)
    env = dict(environ) | {"LD_PRELOAD": preload, PRELOAD_MARKER: library}
    env.setdefault("MALLOC_CONF", MALLOC_CONF)
    return Plan(env, "allocator: jemalloc")


def reexec_with(env: Mapping[str, str], argv: list[str]) -> None:
    """Replace this process by `python -m sopkg.cli argv...` with `env` (never returns)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", "sopkg.cli", *argv], dict(env))


def child_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment for a child that should not inherit the preload this module added."""
    env = dict(environ)
    library = env.pop(PRELOAD_MARKER, None)
    if library is not None:
        rest = [x for x in env.get("LD_PRELOAD", "").split() if x != library]
        if rest:
            env["LD_PRELOAD"] = " ".join(rest)
        else:
            env.pop("LD_PRELOAD", None)
        if env.get("MALLOC_CONF") == MALLOC_CONF:
            env.pop("MALLOC_CONF")
    return env
