"""search_api.result_cache: outcomes kept per corpus state, identical searches run once."""

from __future__ import annotations

import gc
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor

import pytest

from search_api.result_cache import ResultCache


class Counting:
    """A search that counts its runs, optionally held until released."""

    def __init__(self, gate: threading.Event | None = None, fail: bool = False) -> None:
        self.runs = 0
        self.gate = gate
        self.fail = fail
        self.started = threading.Event()
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            self.runs += 1
            n = self.runs
        self.started.set()
        if self.gate is not None:
            assert self.gate.wait(10)
        if self.fail:
            raise RuntimeError("graph away")
        return f"outcome {n}"


def test_a_repeated_key_in_the_same_context_does_not_run_again() -> None:
    cache: ResultCache[str] = ResultCache(4)
    ctx = (object(), object())
    run = Counting()
    assert cache.get_or_run(ctx, "q", run) == ("outcome 1", False)
    assert cache.get_or_run(ctx, "q", run) == ("outcome 1", True)
    assert cache.get_or_run(ctx, "other", run) == ("outcome 2", False)
    stats = cache.stats()
    assert (stats.hits, stats.misses, stats.size) == (1, 2, 2)
    assert stats.hit_ratio == pytest.approx(1 / 3)


def test_a_new_context_drops_every_entry() -> None:
    cache: ResultCache[str] = ResultCache(4)
    glossary, facts = object(), object()
    run = Counting()
    cache.get_or_run((glossary, facts), "q", run)
    # Equal but not the same objects: a corpus read again after an ingest.
    assert cache.get_or_run((glossary, object()), "q", run) == ("outcome 2", False)
    assert cache.stats().cleared == 1
    assert cache.get_or_run((glossary, facts), "q", run) == ("outcome 3", False)


class State:
    """A corpus state: compared by identity, referenced weakly."""


def test_the_cache_does_not_keep_a_replaced_state_alive() -> None:
    cache: ResultCache[str] = ResultCache(4)
    old = State()
    cache.get_or_run((old, None), "q", Counting())
    gone = weakref.ref(old)
    del old
    gc.collect()
    assert gone() is None  # only the runtime held it
    run = Counting()
    assert cache.get_or_run((State(), None), "q", run) == ("outcome 1", False)
    assert cache.get_or_run((State(), None), "q", run)[1] is False  # a new object each time


def test_context_objects_compare_by_identity_not_equality() -> None:
    cache: ResultCache[str] = ResultCache(4)
    run = Counting()
    cache.get_or_run(([1],), "q", run)
    assert cache.get_or_run(([1],), "q", run)[1] is False  # equal lists, not the same one


def test_least_recently_used_goes_first() -> None:
    cache: ResultCache[str] = ResultCache(2)
    ctx = (object(),)
    run = Counting()
    cache.get_or_run(ctx, "a", run)
    cache.get_or_run(ctx, "b", run)
    cache.get_or_run(ctx, "a", run)  # a used last
    cache.get_or_run(ctx, "c", run)  # b goes
    assert cache.get_or_run(ctx, "a", run)[1] is True
    assert cache.get_or_run(ctx, "b", run)[1] is False
    assert cache.stats().size == 2


def test_identical_searches_in_flight_run_once() -> None:
    cache: ResultCache[str] = ResultCache(4)
    ctx = (object(),)
    gate = threading.Event()
    run = Counting(gate)
    with ThreadPoolExecutor(6) as pool:
        first = pool.submit(cache.get_or_run, ctx, "q", run)
        assert run.started.wait(10)
        waiting = [pool.submit(cache.get_or_run, ctx, "q", run) for _ in range(5)]
        gate.set()
        results = [first.result(10)] + [w.result(10) for w in waiting]
    assert run.runs == 1
    assert {outcome for outcome, _ in results} == {"outcome 1"}
    assert [shared for _, shared in results].count(False) == 1
    stats = cache.stats()
    assert stats.misses == 1 and stats.hits + stats.shared == 5


def test_a_failed_search_is_not_shared_and_not_kept() -> None:
    cache: ResultCache[str] = ResultCache(4)
    ctx = (object(),)
    gate = threading.Event()
    failing = Counting(gate, fail=True)
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(cache.get_or_run, ctx, "q", failing)
        assert failing.started.wait(10)
        second = pool.submit(cache.get_or_run, ctx, "q", lambda: "own outcome")
        gate.set()
        with pytest.raises(RuntimeError, match="graph away"):
            first.result(10)
        # The waiting search ran on its own once the first failed.
        assert second.result(10) == ("own outcome", False)
    assert cache.stats().size == 0
    assert cache.get_or_run(ctx, "q", Counting()) == ("outcome 1", False)


def test_an_outcome_finished_after_the_context_moved_is_not_kept() -> None:
    cache: ResultCache[str] = ResultCache(4)
    old, new = (object(),), (object(),)
    gate = threading.Event()
    slow = Counting(gate)
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(cache.get_or_run, old, "q", slow)
        assert slow.started.wait(10)
        cache.get_or_run(new, "other", Counting())  # an ingest landed meanwhile
        gate.set()
        assert running.result(10) == ("outcome 1", False)  # its own caller still gets it
    assert cache.get_or_run(new, "q", Counting())[1] is False


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match=">= 1"):
        ResultCache(0)
