"""The centred cosine from dot products equals the cosine of the centred vectors."""

from __future__ import annotations

import numpy as np
import pytest

from kg.centring import centred_cosine, mean_vector


def unit_rows(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    rows = rng.normal(size=(n, dim)) + 2.0  # a common part, as a language's vectors have
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)  # type: ignore[no-any-return]


@pytest.mark.parametrize(("seed", "dim"), [(0, 2), (1, 16), (2, 384)])
def test_centred_cosine_is_the_cosine_of_the_centred_vectors(seed: int, dim: int) -> None:
    rng = np.random.default_rng(seed)
    passages = unit_rows(rng, 30, dim)
    query = unit_rows(rng, 1, dim)[0]
    mean = mean_vector(passages)
    assert mean is not None
    got = centred_cosine(passages @ query, float(query @ mean), passages @ mean, float(mean @ mean))
    q, p = query - mean, passages - mean
    want = p @ q / (np.linalg.norm(p, axis=1) * np.linalg.norm(q))
    assert np.allclose(got, want, atol=1e-9)
    # It reorders: the common part no longer decides.
    assert list(np.argsort(-got)) != list(np.argsort(-(passages @ query)))


def test_a_passage_at_the_mean_scores_zero_not_a_division_by_zero() -> None:
    got = centred_cosine(np.array([0.8]), 0.8, np.array([1.0]), 1.0)
    assert got.tolist() == [0.0]
    assert mean_vector(np.zeros((0, 2))) is None


def test_mean_vector_normalises_rows_first() -> None:
    mean = mean_vector(np.array([[2.0, 0.0], [0.0, 4.0]]))
    assert mean is not None and np.allclose(mean, [0.5, 0.5])
