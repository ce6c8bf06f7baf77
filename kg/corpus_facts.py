"""Small corpus facts that every search consults, held in memory between ingests.

Which languages a document has a version in, which statements an example names, which
statements an APPLIES_TO link joins, which documents an active one supersedes: they change
only when the corpus does, and each cost every search a Neo4j round trip (three to five of
a search's reads, about a quarter of its time at 100,000 passages) or, for the last, an
anti-join inside every retrieval read. They are read once per corpus stamp with the glossary
(`search_api.deps.Runtime.refresh_corpus_data`) and answered here with the same rules as the
per-search queries they replace. A passage an ingest added after the snapshot is unknown
here until the next reload: it gets no example view and counts as readable in both
languages, the same as a document whose languages are unknown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kg.temporal import to_date

# Beyond this, a search over years of history asks its indexes for at most 10x the
# candidates of a graph without any (the vector index's cost grows with the count).
HISTORY_FACTOR_MAX = 10.0


@dataclass(frozen=True, slots=True)
class VersionSpan:
    """When one unretired version of a document is in effect."""

    lang: str
    effective: dt.date
    valid_until: dt.date | None

    def in_effect(self, as_of: dt.date) -> bool:
        return self.effective <= as_of and (self.valid_until is None or self.valid_until > as_of)


@dataclass(frozen=True)
class CorpusFacts:
    versions: Mapping[str, tuple[VersionSpan, ...]] = field(default_factory=dict)
    """Document id -> its unretired versions."""
    illustrates: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Example passage key -> the current statements it names (ILLUSTRATES)."""
    neighbours: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Statement key -> the current statements joined to it by APPLIES_TO, either way."""
    superseded: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Document id -> the active documents that supersede it (see `superseded_on`)."""
    second_space: str | None = None
    """The model whose second vector every current passage has (None: the second vector
    space is incomplete or absent, and is not searched)."""
    language_means: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    """Language -> the mean of its passages' first-space vectors (kg.centring)."""
    _history: dict[dt.date, float] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_rows(
        cls,
        versions: Iterable[Mapping[str, Any]],
        illustrates: Iterable[Mapping[str, Any]],
        neighbours: Iterable[Mapping[str, Any]],
        superseded: Iterable[Mapping[str, Any]] = (),
        second_space: str | None = None,
        language_means: Mapping[str, tuple[float, ...]] | None = None,
    ) -> CorpusFacts:
        spans: dict[str, list[VersionSpan]] = {}
        for r in versions:
            effective = to_date(r["effective"])
            if effective is None:  # never in effect (as `effective <= $as_of` read it)
                continue
            spans.setdefault(r["doc_id"], []).append(
                VersionSpan(r["lang"], effective, to_date(r["valid_until"]))
            )
        return cls(
            versions={doc: tuple(s) for doc, s in spans.items()},
            illustrates={r["key"]: tuple(sorted(r["statements"])) for r in illustrates},
            neighbours={r["key"]: tuple(sorted(r["neighbours"])) for r in neighbours},
            superseded={r["doc_id"]: tuple(sorted(r["by"])) for r in superseded},
            second_space=second_space,
            language_means=dict(language_means or {}),
        )

    def searches_second_space(self, model: str) -> bool:
        """Whether search may use the second vector space of `model`: only when every
        current passage has that model's vector (a partial index would rank the passages
        it lacks as if they were not relevant)."""
        return self.second_space == model

    def superseded_on(self, as_of: dt.date) -> frozenset[str]:
        """The documents replaced on `as_of` (left out of search unless asked for): those a
        document supersedes that is in effect then. Until its successor takes effect, the
        old document is still the one that applies, and an as-of search must find it."""
        return frozenset(
            doc for doc, by in self.superseded.items() if self.document_languages(by, as_of)
        )

    def document_languages(self, doc_ids: Sequence[str], as_of: dt.date) -> dict[str, set[str]]:
        """The languages each known document has a version in on `as_of`."""
        out: dict[str, set[str]] = {}
        for doc in doc_ids:
            langs = {s.lang for s in self.versions.get(doc, ()) if s.in_effect(as_of)}
            if langs:
                out[doc] = langs
        return out

    def history_factor(self, as_of: dt.date, most: float = HISTORY_FACTOR_MAX) -> float:
        """Unretired versions per version in effect on `as_of`, at most `most`: how much
        larger the indexes are than what a search on that date can return (old versions
        stay indexed for as-of search). A version stands for its passages."""
        if as_of not in self._history:  # one pass over every version per date searched
            spans = [s for doc in self.versions.values() for s in doc]
            live = sum(s.in_effect(as_of) for s in spans)
            self._history[as_of] = len(spans) / live if live else 1.0
        return min(most, self._history[as_of])

    def illustrated(self, keys: Iterable[str]) -> dict[str, list[str]]:
        """Example passage key -> the statements it names, for the keys that name any."""
        return {k: list(self.illustrates[k]) for k in keys if k in self.illustrates}

    def statement_neighbours(self, keys: Iterable[str]) -> dict[str, list[str]]:
        return {k: list(self.neighbours[k]) for k in keys if k in self.neighbours}
