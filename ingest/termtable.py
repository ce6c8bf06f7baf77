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
from collections.abc import Iterable
from dataclasses import dataclass

from kg.analysis import en_term_set, ja_term_set


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
    """(Japanese text, English text) aligned pairs -> term translations.

    For each Japanese term, its English words ranked by Dice coefficient (2·both / (ja +
    en)); kept when they co-occur in at least `min_pairs` pairs, score at least
    `min_score`, and the word is among the term's `per_term` best and the term among the
    word's `per_term` best (a frequent word that co-occurs with everything is nobody's).
    """
    n_ja: Counter[str] = Counter()
    n_en: Counter[str] = Counter()
    both: Counter[tuple[str, str]] = Counter()
    for ja, en in pairs:
        j, e = ja_term_set(ja), en_term_set(en)
        n_ja.update(j)
        n_en.update(e)
        both.update((a, b) for a in j for b in e)
    scored = [
        LearnedTerm(a, b, round(2 * c / (n_ja[a] + n_en[b]), 4), c)
        for (a, b), c in both.items()
        if c >= min_pairs and 2 * c / (n_ja[a] + n_en[b]) >= min_score
    ]
    best_en: dict[str, list[LearnedTerm]] = {}
    best_ja: dict[str, list[LearnedTerm]] = {}
    for t in sorted(scored, key=lambda t: (-t.score, -t.pairs, t.ja, t.en)):
        best_en.setdefault(t.ja, []).append(t)
        best_ja.setdefault(t.en, []).append(t)
    keep = {id(t) for ts in best_ja.values() for t in ts[:per_term]}
    return [t for ts in best_en.values() for t in ts[:per_term] if id(t) in keep]


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
