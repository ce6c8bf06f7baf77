"""Unanswered demand: logged searches that did not find an answer, grouped by topic and by
similar wording, with counts.

A logged search is unanswered when someone answered "no" to "did this answer it?", or,
without a "yes", when it returned nothing or retrieval was not confident of its top result
(`search_api.fusion.Confidence`: fewer than half of the retriever families used put it
near the top of their own lists). That signal is a share of retrievers, not a fused score,
so it means the same in every mode and survives changes to the fusion. Entries logged
before it existed carry no confidence and are never counted as weak.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kg.analysis import detect_language
from kg.coverage import QueryLogEntry
from search_api.coverage.signals import content_words
from search_api.coverage.trends import weekly_demand
from search_api.fusion import WEAK_AGREEMENT, is_weak

NO_TOPIC = "(no result)"
WORDING_SIMILARITY = 0.5  # Jaccard of content words for "the same question"
EXAMPLES = 5


@dataclass(frozen=True)
class Unanswered:
    entry: QueryLogEntry
    why: str  # feedback | no results | weak
    topic: str


@dataclass
class DemandGroup:
    label: str  # a topic path, or the wording of the group's first query
    count: int = 0
    feedback_no: int = 0  # of which explicit "no" answers
    topics: Counter[str] = field(default_factory=Counter)
    queries: Counter[str] = field(default_factory=Counter)
    last_at: dt.datetime | None = None

    def add(self, u: Unanswered) -> None:
        self.count += 1
        self.feedback_no += u.why == "feedback"
        self.topics[u.topic] += 1
        self.queries[u.entry.query.strip()] += 1
        if self.last_at is None or u.entry.at > self.last_at:
            self.last_at = u.entry.at

    def as_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "count": self.count,
            "feedback_no": self.feedback_no,
            "topics": dict(self.topics.most_common()),
            "queries": [{"query": q, "count": n} for q, n in self.queries.most_common(EXAMPLES)],
            "last_at": self.last_at.isoformat() if self.last_at else None,
        }


@dataclass
class Demand:
    logged: int  # searches in the log
    weak_agreement: float
    unanswered: list[Unanswered]
    by_topic: list[DemandGroup]
    by_wording: list[DemandGroup]

    def for_topics(self, topics: Iterable[str]) -> Demand:
        """The part of the demand that falls in these topics (or below them)."""
        wanted = tuple(topics)
        kept = [u for u in self.unanswered if _within(u.topic, wanted)]
        return Demand(self.logged, self.weak_agreement, kept, *group(kept))

    def weekly(self, today: dt.date) -> dict[str, Any]:
        """Unanswered and weak searches per week, by topic and by language (charts)."""
        return weekly_demand(self.unanswered, today)

    def as_json(self) -> dict[str, Any]:
        return {
            "logged": self.logged,
            "unanswered": len(self.unanswered),
            "weak_agreement": self.weak_agreement,
            "by_topic": [g.as_json() for g in self.by_topic],
            "by_wording": [g.as_json() for g in self.by_wording],
        }


def _within(topic: str, topics: Sequence[str]) -> bool:
    return any(topic == t or topic.startswith(t + "/") for t in topics)


def likely_topic(e: QueryLogEntry) -> str:
    """The topic filter the searcher chose, else the commonest topic of the top results."""
    if e.topic:
        return e.topic
    top = [t for t in e.result_topics[:3] if t]
    if not top:
        return NO_TOPIC
    counts = Counter(top)
    return max(counts, key=lambda t: (counts[t], -top.index(t)))


def why_unanswered(e: QueryLogEntry) -> str | None:
    if e.answered is False:
        return "feedback"
    if e.answered is True:
        return None
    if e.result_count == 0 or e.best_score is None:
        return "no results"
    if e.agreement is not None and is_weak(e.agreement):
        return "weak"
    return None


def _words(query: str) -> frozenset[str]:
    text = unicodedata.normalize("NFKC", query).lower()
    return frozenset(content_words(text, detect_language(text)))


def _first_similar(
    clusters: Sequence[tuple[frozenset[str], DemandGroup]], words: frozenset[str]
) -> DemandGroup | None:
    for seed, g in clusters:
        union = seed | words
        if seed == words or (union and len(seed & words) / len(union) >= WORDING_SIMILARITY):
            return g
    return None


def group(unanswered: Sequence[Unanswered]) -> tuple[list[DemandGroup], list[DemandGroup]]:
    by_topic: dict[str, DemandGroup] = {}
    for u in unanswered:
        by_topic.setdefault(u.topic, DemandGroup(u.topic)).add(u)
    # Similar wording: greedy clusters, oldest query first, by Jaccard of content words.
    clusters: list[tuple[frozenset[str], DemandGroup]] = []
    # A log repeats its questions: each wording is analysed and placed once. Seeds never
    # change and clusters are only appended, so the first cluster a wording joined stays
    # the first one it would join.
    words_of: dict[str, frozenset[str]] = {}
    joined: dict[frozenset[str], DemandGroup] = {}
    for u in sorted(unanswered, key=lambda x: x.entry.at):
        query = u.entry.query
        words = words_of.get(query)
        if words is None:
            words = words_of[query] = _words(query)
        g = joined.get(words) or _first_similar(clusters, words)
        if g is None:
            g = DemandGroup(query.strip())
            clusters.append((words, g))
        joined[words] = g
        g.add(u)
    order = lambda g: (-g.count, g.label)  # noqa: E731
    return sorted(by_topic.values(), key=order), sorted((g for _, g in clusters), key=order)


def demand(entries: Sequence[QueryLogEntry]) -> Demand:
    found = []
    for e in entries:
        why = why_unanswered(e)
        if why:
            found.append(Unanswered(e, why, likely_topic(e)))
    return Demand(len(entries), WEAK_AGREEMENT, found, *group(found))
