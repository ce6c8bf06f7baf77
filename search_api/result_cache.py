"""Searches answered again from memory: the same question asked by many people at once.

A moderation floor often asks one trending question many times within minutes. A search's
outcome is a function of its parameters, the day it is judged on and the corpus data the
runtime holds when it runs (glossary with its vocabulary, corpus facts, the passage vectors
in memory); nothing about the caller changes it. So outcomes are kept for one such state
(the *context*, compared by identity) and all dropped when it changes: an ingest seen
through the corpus stamp, a vocabulary read again, the passage vectors loaded or reloaded.

Identical searches that arrive while the first is still running wait for its outcome
instead of running again (single flight): eight moderators pasting the same question cost
one search. If that first search fails, each waiting search runs on its own, so an error
is never shared by a request that might have succeeded.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class ResultCacheStats:
    size: int
    capacity: int
    hits: int  # answered from a kept outcome
    shared: int  # waited for an identical search in flight
    misses: int  # ran the search
    cleared: int  # times the context changed and the entries were dropped

    @property
    def hit_ratio(self) -> float | None:
        lookups = self.hits + self.shared + self.misses
        return (self.hits + self.shared) / lookups if lookups else None


def _ref(obj: object) -> Callable[[], object]:
    """A weak reference to `obj` where it takes one; None and the like are kept as they are."""
    try:
        return weakref.ref(obj)
    except TypeError:
        return lambda: obj


class ResultCache(Generic[T]):
    """LRU of outcomes for one context at a time (capacity >= 1 entries)."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"result cache capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, T] = OrderedDict()
        self._running: dict[Hashable, Future[T]] = {}
        # Weak references: the cache must not keep a replaced corpus state alive (the
        # passage vectors of a large graph are gigabytes), and a dead reference can never
        # match a new object at a recycled address.
        self._context: tuple[Callable[[], object], ...] | None = None
        self.hits = self.shared = self.misses = self.cleared = 0

    def _enter(self, context: tuple[object, ...]) -> None:
        """Drop every entry made in another context (called under the lock)."""
        held = self._context
        if held is not None and len(held) == len(context):
            if all(ref() is obj for ref, obj in zip(held, context, strict=True)):
                return
        if self._entries:
            self.cleared += 1
        self._entries.clear()
        # Searches still running in the old context finish for their own callers; none
        # started from now on waits for them.
        self._running = {}
        self._context = tuple(_ref(obj) for obj in context)

    def get_or_run(
        self, context: tuple[object, ...], key: Hashable, run: Callable[[], T]
    ) -> tuple[T, bool]:
        """The outcome for `key` in `context`, and whether it came without running."""
        with self._lock:
            self._enter(context)
            if key in self._entries:
                self._entries.move_to_end(key)
                self.hits += 1
                return self._entries[key], True
            running = self._running.get(key)
            if running is None:
                mine: Future[T] = Future()
                self._running[key] = mine
                self.misses += 1
        if running is not None:
            try:
                outcome = running.result()
            except Exception:
                return self._run_alone(run), False
            with self._lock:
                self.shared += 1
            return outcome, True
        try:
            outcome = run()
        except BaseException as e:
            with self._lock:
                if self._running.get(key) is mine:
                    del self._running[key]
            mine.set_exception(e)
            raise
        with self._lock:
            if self._running.get(key) is mine:  # else the context moved on meanwhile
                del self._running[key]
                self._entries[key] = outcome
                while len(self._entries) > self.capacity:
                    self._entries.popitem(last=False)
        mine.set_result(outcome)
        return outcome, False

    def _run_alone(self, run: Callable[[], T]) -> T:
        with self._lock:
            self.misses += 1
        return run()

    def stats(self) -> ResultCacheStats:
        with self._lock:
            return ResultCacheStats(
                len(self._entries), self.capacity, self.hits, self.shared, self.misses,
                self.cleared,
            )  # fmt: skip
