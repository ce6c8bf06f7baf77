"""kg.allocator: when a long-running command re-executes itself under jemalloc, and what
the Neo4j server it starts inherits."""

from __future__ import annotations

import pytest

from kg import allocator
from kg.errors import ConfigError

LIB = "libjemalloc.so.2"
JEMALLOC_MAPS = "7f00-7f01 r-xp 0 08:01 12 /usr/lib/x86_64-linux-gnu/libjemalloc.so.2\n"
GLIBC_MAPS = "7f00-7f01 r-xp 0 08:01 13 /usr/lib/x86_64-linux-gnu/libc.so.6\n"


@pytest.mark.parametrize(
    ("choice", "environ", "library", "maps", "reexec", "note"),
    [
        ("auto", {}, LIB, GLIBC_MAPS, True, "jemalloc"),
        ("jemalloc", {}, LIB, GLIBC_MAPS, True, "jemalloc"),
        ("auto", {}, None, GLIBC_MAPS, False, "not found"),
        ("system", {}, LIB, GLIBC_MAPS, False, "SOPKG_ALLOCATOR=system"),
        # after the re-execution: loaded, so go on
        ("auto", {allocator.PRELOAD_MARKER: LIB}, LIB, JEMALLOC_MAPS, False, "jemalloc"),
        # preloaded once without effect: never a second time
        ("auto", {allocator.PRELOAD_MARKER: LIB}, LIB, GLIBC_MAPS, False, "not loaded"),
        # preloaded by the operator already
        ("auto", {"LD_PRELOAD": LIB}, LIB, JEMALLOC_MAPS, False, "jemalloc"),
    ],
)
def test_plan(
    choice: allocator.Allocator,
    environ: dict[str, str],
    library: str | None,
    maps: str,
    reexec: bool,
    note: str,
) -> None:
    chosen = allocator.plan(choice, environ, library, maps)
    assert (chosen.env is not None) is reexec
    assert note in chosen.note


def test_the_reexecution_keeps_the_environment_and_other_preloads() -> None:
    environ = {"PATH": "/usr/bin", "LD_PRELOAD": "libother.so", "MALLOC_CONF": "narenas:2"}
    env = allocator.plan("auto", environ, LIB, GLIBC_MAPS).env
    assert env is not None
    assert env["PATH"] == "/usr/bin"
    assert env["LD_PRELOAD"].split() == [LIB, "libother.so"]
    assert env["MALLOC_CONF"] == "narenas:2"  # the operator's own tuning wins
    assert env[allocator.PRELOAD_MARKER] == LIB
    # ... and the Neo4j server started from it gets the environment it would have had.
    assert allocator.child_env(env) == environ


def test_a_required_jemalloc_that_is_missing_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="apt-get install libjemalloc2"):
        allocator.plan("jemalloc", {}, None, GLIBC_MAPS)


def test_child_env_leaves_an_environment_it_did_not_change_alone() -> None:
    environ = {"LD_PRELOAD": "libother.so", "MALLOC_CONF": allocator.MALLOC_CONF}
    assert allocator.child_env(environ) == environ


def test_in_use_reads_a_process_memory_map() -> None:
    assert allocator.in_use(JEMALLOC_MAPS) == "jemalloc"
    assert allocator.in_use(GLIBC_MAPS) == "system"
