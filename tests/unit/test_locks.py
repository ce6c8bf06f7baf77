"""The graph's writer lock (kg.locks): one writer at a time, and a refusal says who holds it."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from kg.errors import GraphBusy
from kg.locks import graph_write_lock, lock_path

URI, DB = "bolt://127.0.0.1:7687", "neo4j"


@contextmanager
def held(state: Path, describe_after: float | None) -> Iterator[None]:
    """The lock held as another writer holds it: taken at once, its description written
    `describe_after` seconds later (never when None)."""
    path = lock_path(state, URI, DB)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.ftruncate(fd, 0)
    timer = None
    if describe_after is not None:
        timer = threading.Timer(describe_after, os.write, (fd, b"sopkg ingest by pid 42 since t"))
        timer.start()
    try:
        yield
    finally:
        if timer is not None:
            timer.join()
        os.close(fd)


@pytest.mark.parametrize(
    ("describe_after", "holder"),
    [
        (0.0, "sopkg ingest by pid 42 since t"),
        # The holder took the lock an instant before the refusal and writes who it is
        # after it: the refusal still names it.
        (0.15, "sopkg ingest by pid 42 since t"),
        (None, "another process"),
    ],
)
def test_a_refusal_names_the_holder(
    tmp_path: Path, describe_after: float | None, holder: str
) -> None:
    with held(tmp_path, describe_after), pytest.raises(GraphBusy) as refused:
        with graph_write_lock(tmp_path, URI, DB, "sopkg ingest"):
            pytest.fail("the lock was taken twice")
    assert f"is busy: {holder}; sopkg ingest was not started" in str(refused.value)


def test_a_free_lock_is_taken_and_says_who_holds_it(tmp_path: Path) -> None:
    with graph_write_lock(tmp_path, URI, DB, "sopkg reembed"):
        text = lock_path(tmp_path, URI, DB).read_text(encoding="utf-8")
        assert text.startswith(f"sopkg reembed by pid {os.getpid()} since ")
    assert lock_path(tmp_path, URI, DB).read_text(encoding="utf-8") == ""
    with graph_write_lock(tmp_path, URI, DB, "sopkg ingest"):  # released: taken again
        pass
