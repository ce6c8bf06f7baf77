"""A bilingual term table learnt from the corpus's own parallel text.

Every bilingual document is statement-aligned parallel text written by the same teams in
the same domain: the Japanese and English passages of one statement (and of a translated
prose paragraph) say the same thing. Japanese terms and English words that keep occurring
in the same aligned pairs, and rarely apart, are translations of each other. The table is
derived data: rebuilt from the graph after every ingest that changed something, never
edited by hand; search uses it beside the glossary to carry a query's words into the
other language's fulltext index.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix, csr_matrix

from kg.analysis import en_field_term_set, ja_field_term_set


@dataclass(frozen=True)
class LearnedTerm:
    ja: str
    en: str
    score: float  # Dice coefficient over aligned pairs, 0..1
    pairs: int  # aligned pairs in which both occur

    def as_row(self) -> dict[str, object]:
        return {"ja": self.ja, "en": self.en, "score": self.score, "pairs": self.pairs}


def learn_terms(
    pairs: Iterable[tuple[str, str]],
    min_pairs: int = 3,
    min_score: float = 0.3,
    per_term: int = 3,
) -> list[LearnedTerm]:
    """Aligned pairs, as their fulltext fields (Japanese passage's `search_ja`, English
    passage's `search_en`; kg.analysis), -> term translations.

    For each Japanese term, its English words ranked by Dice coefficient (2·both / (ja +
    en)); kept when they co-occur in at least `min_pairs` pairs, score at least
    `min_score`, and the word is among the term's `per_term` best and the term among the
    word's `per_term` best (a frequent word that co-occurs with everything is nobody's).
    """
    pairs = list(pairs)
    # Each distinct field split once: shared wording repeats across pairs.
    ja_sets = {ja: frozenset(ja_field_term_set(ja)) for ja in {ja for ja, _ in pairs}}
    en_sets = {en: frozenset(en_field_term_set(en)) for en in {en for _, en in pairs}}
    sets = [(ja_sets[ja], en_sets[en]) for ja, en in pairs]
    n_ja: Counter[str] = Counter(t for j, _ in sets for t in j)
    n_en: Counter[str] = Counter(w for _, e in sets for w in e)
    # A pair co-occurs at most as often as its rarer side occurs: terms seen in fewer than
    # `min_pairs` pairs cannot reach it.
    ja_vocab = sorted(t for t, c in n_ja.items() if c >= min_pairs)
    en_vocab = sorted(w for w, c in n_en.items() if c >= min_pairs)
    both = _cooccurrences(sets, ja_vocab, en_vocab)
    nj = np.array([n_ja[t] for t in ja_vocab], dtype=np.float64)
    ne = np.array([n_en[w] for w in en_vocab], dtype=np.float64)
    dice = 2 * both.data / (nj[both.row] + ne[both.col])
    strong = (both.data >= min_pairs) & (dice >= min_score)
    scored = [
        LearnedTerm(ja_vocab[a], en_vocab[b], round(float(d), 4), int(c))
        for a, b, c, d in zip(both.row[strong], both.col[strong], both.data[strong], dice[strong],
                              strict=True)
    ]  # fmt: skip
    best_en: dict[str, list[LearnedTerm]] = {}
    best_ja: dict[str, list[LearnedTerm]] = {}
    for t in sorted(scored, key=lambda t: (-t.score, -t.pairs, t.ja, t.en)):
        best_en.setdefault(t.ja, []).append(t)
        best_ja.setdefault(t.en, []).append(t)
    keep = {id(t) for ts in best_ja.values() for t in ts[:per_term]}
    return [t for ts in best_en.values() for t in ts[:per_term] if id(t) in keep]


def _cooccurrences(
    sets: Sequence[tuple[frozenset[str], frozenset[str]]], ja_vocab: list[str], en_vocab: list[str]
) -> coo_matrix:
    """How many pairs each (Japanese term, English word) of the vocabularies occurs in, as
    a sparse matrix: one sparse product instead of counting every combination of every
    pair's terms in Python (71 million at 100,000 synthetic passages: a minute an ingest)."""
    ja_index = {t: i for i, t in enumerate(ja_vocab)}
    en_index = {w: i for i, w in enumerate(en_vocab)}

    def incidence(column: list[list[int]], width: int) -> csr_matrix:
        rows = np.repeat(np.arange(len(column)), [len(c) for c in column])
        cols = np.fromiter((i for c in column for i in c), dtype=np.int64, count=len(rows))
        return csr_matrix((np.ones(len(rows), np.int32), (rows, cols)), (len(column), width))

    ja_rows = incidence([[ja_index[t] for t in j if t in ja_index] for j, _ in sets], len(ja_vocab))
    en_rows = incidence([[en_index[w] for w in e if w in en_index] for _, e in sets], len(en_vocab))
    return (ja_rows.T @ en_rows).tocoo()  # type: ignore[no-any-return]


# ASCII boundaries: in "p1違反" the kanji after the id still ends it.
_ITEM_REF = re.compile(r"(?<![A-Za-z0-9#_])([a-z]{1,3}[0-9]{1,3})(?![A-Za-z0-9_])", re.IGNORECASE)


def example_citations(
    examples: Iterable[tuple[str, str, dict[str, str]]],
) -> list[tuple[str, str]]:
    """(example passage key, statement key) for each statement of its own document that an
    example names by item id ("p1 and p4", 「p2 違反」)."""
    out: list[tuple[str, str]] = []
    for key, text, items in examples:
        for ref in dict.fromkeys(m.lower() for m in _ITEM_REF.findall(text)):
            if ref in items:
                out.append((key, items[ref]))
    return out
