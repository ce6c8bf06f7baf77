"""One build at a time of a costly result that many requests want at once.

The coverage report reads every current statement with its embedding and the whole query
log; sixteen owners asking at once used to build sixteen copies side by side, which took
seconds each on two cores and held hundreds of MiB. `SharedBuild` builds one at a time:

- a caller that arrives while a build for its `key` runs waits for it and shares the
  result, which is then at most one build old;
- a finished result is reused while its `key` and `latest` are the caller's and it is
  younger than `max_age` (the bound on what other processes may have changed meanwhile);
- a caller whose `key` differs waits for the running build to end, then builds its own,
  so two builds never hold memory at once.

`key` is what a result must match to be shown at all (the corpus, the date, the
acknowledgements in the graph); `latest` is what a finished result may lag only within one
build (the query log, which grows with every search).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class _Done(Generic[T]):
    key: Hashable
    latest: Hashable
    at: float
    value: T


class SharedBuild(Generic[T]):
    def __init__(self, max_age: float) -> None:
        self.max_age = max_age
        self._lock = threading.Lock()
        self._running: tuple[Hashable, Future[T]] | None = None
        self._done: _Done[T] | None = None
        self.builds = 0
        self.shared = 0

    def get(self, key: Hashable, latest: Hashable, build: Callable[[], T]) -> T:
        while True:
            with self._lock:
                done = self._done
                if (
                    done is not None
                    and (done.key, done.latest) == (key, latest)
                    and time.monotonic() - done.at <= self.max_age
                ):
                    self.shared += 1
                    return done.value
                if self._running is None:
                    mine: Future[T] = Future()
                    self._running = (key, mine)
                    self.builds += 1
                    break
                running_key, running = self._running
                if running_key == key:
                    self.shared += 1
            if running_key == key:
                return running.result()
            # Another key's build: let it finish (and free what it held) before ours.
            try:
                running.result()
            except Exception:  # noqa: BLE001 - its caller reports it; we build our own
                pass
        started = time.monotonic()
        try:
            value = build()
        except BaseException as e:
            mine.set_exception(e)
            with self._lock:
                self._running = None
            raise
        mine.set_result(value)
        with self._lock:
            self._running = None
            self._done = _Done(key, latest, started, value)
        return value

    def forget(self) -> None:
        """Drop the finished result (this process changed what it shows)."""
        with self._lock:
            self._done = None
