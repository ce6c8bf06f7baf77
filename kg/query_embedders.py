"""Query-embedding wrappers for a serving process, each an `Embedder` itself.

- `CachedEmbedder`: an LRU cache of query embeddings keyed by (model name, text). A
  moderation floor sends the same trending question many times within minutes.
- `BatchingEmbedder`: one worker thread owns the model for queries; the texts of
  concurrent searches that arrive while the model is busy (or within a short wait window)
  are embedded together in one call, so eight clients share model calls instead of
  queueing on the model's lock one text at a time.

`serving_embedder(settings, inner)` composes them as the settings ask. Passages (ingest)
go straight to the wrapped embedder: they are neither cached nor queued.

Both return exactly what the wrapped embedder returns for the same texts: the engines
embed each text of a batch independently (checked by tests/unit/test_query_embedders.py),
so neither the cache nor the batch a text shares changes its vector.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from kg.embedders import Embedder, Vectors
from kg.settings import Settings

EmbedObserver = Callable[[float, int], None]
"""Called after each model call for queries with (seconds, number of texts)."""


def _rows(vectors: Vectors, dim: int) -> Vectors:
    if not len(vectors):
        return np.zeros((0, dim), dtype=np.float32)
    return np.ascontiguousarray(vectors, dtype=np.float32)


class EmbedderWrapper:
    """An `Embedder` in front of `inner`: same name and dimension, passages passed on."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self.inner.embed_passages(texts)


@dataclass(frozen=True)
class CacheStats:
    size: int
    capacity: int
    hits: int
    misses: int

    @property
    def hit_ratio(self) -> float | None:
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else None


class CachedEmbedder(EmbedderWrapper):
    """LRU cache of query embeddings in front of `inner` (capacity >= 1 texts)."""

    def __init__(self, inner: Embedder, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"cache capacity must be >= 1, got {capacity}")
        super().__init__(inner)
        self.capacity = capacity
        self._entries: OrderedDict[tuple[str, str], Vectors] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        if isinstance(texts, str):  # the inner embedder's contract, checked before lookups
            raise TypeError("texts must be a sequence of strings, not a single str")
        model = self.inner.name
        found: dict[str, Vectors] = {}
        with self._lock:
            for text in texts:
                row = self._entries.get((model, text))
                if row is not None:
                    self._entries.move_to_end((model, text))
                    found[text] = row
            missing = list(dict.fromkeys(t for t in texts if t not in found))
            self.hits += len(texts) - sum(1 for t in texts if t not in found)
            self.misses += sum(1 for t in texts if t not in found)
        if missing:
            vectors = self.inner.embed_queries(missing)
            with self._lock:
                for text, row in zip(missing, vectors, strict=True):
                    row = row.copy()
                    row.flags.writeable = False  # shared between callers
                    found[text] = row
                    self._entries[(model, text)] = row
                    self._entries.move_to_end((model, text))
                while len(self._entries) > self.capacity:
                    self._entries.popitem(last=False)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _rows(np.stack([found[t] for t in texts]), self.dim)

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(len(self._entries), self.capacity, self.hits, self.misses)


@dataclass
class _Request:
    texts: list[str]
    done: Future[Vectors]


class BatchingEmbedder(EmbedderWrapper):
    """Query embeddings computed by one worker thread, concurrent requests in one call.

    The worker takes the first waiting request, then whatever else arrives within
    `wait_ms` (and everything already queued), up to `max_texts` texts, and embeds their
    distinct texts in one call. A lone search waits at most `wait_ms` more than before;
    under load the wait is spent anyway, queued behind the model.
    """

    def __init__(
        self,
        inner: Embedder,
        wait_ms: float = 2.0,
        max_texts: int = 32,
        observe: EmbedObserver | None = None,
    ) -> None:
        if wait_ms < 0 or max_texts < 1:
            raise ValueError(f"bad batching settings: wait_ms={wait_ms}, max_texts={max_texts}")
        super().__init__(inner)
        self.wait_s = wait_ms / 1000
        self.max_texts = max_texts
        self.observe = observe
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._start_lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self.calls = 0  # model calls made by the worker
        self.texts = 0  # texts those calls embedded

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        if isinstance(texts, str):
            raise TypeError("texts must be a sequence of strings, not a single str")
        items = list(texts)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        request = _Request(items, Future())
        self._ensure_worker()
        self._queue.put(request)
        return request.done.result()

    def close(self) -> None:
        """Stops the worker after the requests already queued (idempotent)."""
        with self._start_lock:
            worker, self._worker = self._worker, None
        if worker is not None:
            self._queue.put(None)
            worker.join(timeout=30)

    def _ensure_worker(self) -> None:
        with self._start_lock:
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._run, name="query-embedder", daemon=True
                )
                self._worker.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = self._gather(batch)
            self._embed(batch)
            if stop:
                return

    def _gather(self, batch: list[_Request]) -> bool:
        """Adds requests to `batch` until the window closes or it is full; True when the
        stop marker was met (the batch is still served)."""
        count = len(batch[0].texts)
        deadline = time.perf_counter() + self.wait_s
        while count < self.max_texts:
            remaining = deadline - time.perf_counter()
            try:
                nxt = (
                    self._queue.get(timeout=remaining)
                    if remaining > 0
                    else self._queue.get_nowait()
                )
            except queue.Empty:
                return False
            if nxt is None:
                return True
            batch.append(nxt)
            count += len(nxt.texts)
        return False

    def _embed(self, batch: list[_Request]) -> None:
        distinct = list(dict.fromkeys(t for r in batch for t in r.texts))
        t = time.perf_counter()
        try:
            vectors = self.inner.embed_queries(distinct)
        except BaseException as e:  # every waiting search gets the error, the worker lives on
            for r in batch:
                r.done.set_exception(e)
            return
        if self.observe is not None:
            self.observe(time.perf_counter() - t, len(distinct))
        self.calls += 1
        self.texts += len(distinct)
        row_of = {text: i for i, text in enumerate(distinct)}
        for r in batch:
            r.done.set_result(_rows(vectors[[row_of[x] for x in r.texts]], self.dim))


class TimedEmbedder(EmbedderWrapper):
    """Reports the time of each query-embedding call (for /metrics) without batching."""

    def __init__(self, inner: Embedder, observe: EmbedObserver) -> None:
        super().__init__(inner)
        self.observe = observe

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        t = time.perf_counter()
        vectors = self.inner.embed_queries(texts)
        self.observe(time.perf_counter() - t, len(vectors))
        return vectors


def serving_embedder(
    settings: Settings, inner: Embedder, observe: EmbedObserver | None = None
) -> Embedder:
    """`inner` behind the batching worker (SOPKG_QUERY_BATCHING, SOPKG_QUERY_BATCH_WAIT_MS)
    and the query cache (SOPKG_QUERY_CACHE_SIZE > 0), cache first so that a hit never
    queues."""
    embedder: Embedder = inner
    if settings.query_batching:
        embedder = BatchingEmbedder(
            embedder, settings.query_batch_wait_ms, settings.embed_batch, observe
        )
    elif observe is not None:
        embedder = TimedEmbedder(embedder, observe)
    if settings.query_cache_size > 0:
        embedder = CachedEmbedder(embedder, settings.query_cache_size)
    return embedder


def cache_stats(embedder: Embedder) -> CacheStats | None:
    """The stats of the query cache in `embedder`'s wrappers, None when it has none."""
    return embedder.stats() if isinstance(embedder, CachedEmbedder) else None


def close_embedder(embedder: Embedder) -> None:
    """Stops any batching worker among `embedder`'s wrappers."""
    current: object = embedder
    while current is not None:
        if isinstance(current, BatchingEmbedder):
            current.close()
        current = getattr(current, "inner", None)


if TYPE_CHECKING:  # static proof that the wrappers satisfy the protocol
    _cached: type[Embedder] = CachedEmbedder
    _batching: type[Embedder] = BatchingEmbedder
    _timed: type[Embedder] = TimedEmbedder
