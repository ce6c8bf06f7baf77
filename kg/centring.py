"""Cosine similarity with a language's mean vector taken out of both sides.

A multilingual model's vectors of one language share a large common part: every passage of
a Japanese corpus is near every other, so inside one document (where the second stage of a
search orders statements, search_api.retrieval.Retriever.focus) the cosines differ little and
the common part decides as much as the words that set one statement apart. Taking the
language's mean passage vector out of the query and the passage before comparing them
(centring) leaves those words to decide (docs/evaluation.md, "Centred vectors inside the
documents found").

The centred cosine is computed from plain dot products, so both implementations of
kg.resident.VectorSearch (vectors held in memory, and Neo4j's cosine in Cypher) compute it
alike without a centred copy of any vector.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.floating]

# About how many passages per language make the mean (kg.reader.GraphReader.language_means,
# spread over the store by kg.read_queries.LANGUAGE_VECTORS), read again with the corpus
# facts after each ingest. Every judged set has fewer, so its mean is exact. On the
# 100,000-passage benchmark graph reading 2,000 a language took 0.3 s, and their mean was
# 0.005 from the whole's (docs/evaluation.md, "The language mean's sample").
MEAN_SAMPLE = 2_000


def centred_cosine(qp: Floats, qm: float, pm: Floats, mm: float) -> Floats:
    """cos(q - m, p - m) for unit vectors q and p and a mean m, from their dot products:
    qp = q.p (one per passage), qm = q.m, pm = p.m (one per passage), mm = m.m."""
    top = qp - qm - pm + mm
    q_norm = max(1.0 - 2.0 * qm + mm, 1e-12)
    p_norm = np.maximum(1.0 - 2.0 * pm + mm, 1e-12)
    return np.clip(top / np.sqrt(q_norm * p_norm), -1.0, 1.0)  # type: ignore[no-any-return]


def mean_vector(vectors: Floats) -> Floats | None:
    """The mean of unit vectors (rows), None for none."""
    if not len(vectors):
        return None
    rows = np.asarray(vectors, dtype=np.float64)
    rows /= np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
    return rows.mean(axis=0)  # type: ignore[no-any-return]
