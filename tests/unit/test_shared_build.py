"""SharedBuild: one build at a time, shared by the callers that arrive meanwhile."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from search_api.shared_build import SharedBuild


class Gate:
    """A build that blocks until released, counting how many run at once."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Event()
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.calls = 0

    def build(self, value: object) -> Callable[[], object]:
        def run() -> object:
            with self.lock:
                self.running += 1
                self.calls += 1
                self.most = max(self.most, self.running)
            self.started.set()
            self.release.wait(5)
            with self.lock:
                self.running -= 1
            return value

        return run


def _running_build(key: str, value: object) -> tuple[SharedBuild[object], Gate, Future[object]]:
    """A SharedBuild whose build for `key` has started (on its own thread) and waits for
    `gate.release`; the future is that first caller's result."""
    shared: SharedBuild[object] = SharedBuild(max_age=60)
    gate = Gate()
    first = ThreadPoolExecutor(1).submit(shared.get, key, 1, gate.build(value))
    assert gate.started.wait(5)
    return shared, gate, first


def _wait_for(predicate: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 5
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_callers_arriving_during_a_build_share_it() -> None:
    shared, gate, first = _running_build("k", "first")
    with ThreadPoolExecutor(5) as pool:
        # A newer `latest` still shares the running build: it lags by one build at most.
        rest = [pool.submit(shared.get, "k", 2, gate.build("other")) for _ in range(5)]
        _wait_for(lambda: shared.shared == 5)
        gate.release.set()
        values = [first.result(5)] + [f.result(5) for f in rest]
    assert values == ["first"] * 6
    assert (gate.calls, shared.builds) == (1, 1)


def test_a_caller_with_another_key_waits_then_builds_its_own() -> None:
    shared, gate, first = _running_build("old", "old report")
    with ThreadPoolExecutor(1) as pool:
        second = pool.submit(shared.get, "new", 1, gate.build("new report"))
        time.sleep(0.05)
        assert gate.calls == 1  # not started beside the running one
        gate.release.set()
        assert (first.result(5), second.result(5)) == ("old report", "new report")
    assert gate.most == 1
    assert shared.builds == 2


@pytest.mark.parametrize(
    ("key", "latest", "wait", "rebuilt"),
    [
        ("k", 1, 0.0, False),  # same key, same latest, young: reused
        ("k", 2, 0.0, True),  # the query log moved on
        ("k2", 1, 0.0, True),  # the corpus, the day or an acknowledgement changed
        ("k", 1, 0.12, True),  # older than max_age
    ],
)
def test_a_finished_result_is_reused_only_while_it_is_current(
    key: str, latest: int, wait: float, rebuilt: bool
) -> None:
    shared: SharedBuild[int] = SharedBuild(max_age=0.1)
    counter = iter(range(100))
    assert shared.get("k", 1, lambda: next(counter)) == 0
    time.sleep(wait)
    assert shared.get(key, latest, lambda: next(counter)) == (1 if rebuilt else 0)


def test_forget_drops_the_finished_result() -> None:
    shared: SharedBuild[int] = SharedBuild(max_age=60)
    counter = iter(range(100))
    shared.get("k", 1, lambda: next(counter))
    shared.forget()
    assert shared.get("k", 1, lambda: next(counter)) == 1


def test_a_failed_build_fails_its_waiters_and_the_next_call_tries_again() -> None:
    shared: SharedBuild[str] = SharedBuild(max_age=60)
    release = threading.Event()
    started = threading.Event()

    def failing() -> str:
        started.set()
        release.wait(5)
        raise RuntimeError("graph down")

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(shared.get, "k", 1, failing)
        started.wait(5)
        waiter = pool.submit(shared.get, "k", 1, lambda: "never built")
        _wait_for(lambda: shared.shared == 1)
        release.set()
        for f in (first, waiter):
            with pytest.raises(RuntimeError, match="graph down"):
                f.result(5)
    assert shared.get("k", 1, lambda: "built again") == "built again"
