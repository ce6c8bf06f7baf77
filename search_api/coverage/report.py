"""The coverage report and the owner dashboard, built from the graph in one pass."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from kg.coverage import CoverageReader, DocumentFacts
from ontology.governance import FindingKind
from ontology.rules import ReviewState, review_state
from ontology.vocabulary import MARKETS
from search_api.coverage.demand import Demand, demand
from search_api.coverage.findings import (
    Analysis,
    CoverageConfig,
    Finding,
    MatrixRow,
    collect_facts,
)


@dataclass(frozen=True)
class DocumentStatus:
    id: str
    title: str | None
    owner: str | None
    topic: str
    markets: tuple[str, ...]
    versions: dict[str, str]  # lang -> current version
    review_by: dt.date | None  # the earliest review date of its current versions
    state: str  # ok | stale | due-soon | superseded
    superseded_by: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "owner": self.owner,
            "topic": self.topic,
            "markets": list(self.markets),
            "versions": self.versions,
            "review_by": self.review_by.isoformat() if self.review_by else None,
            "state": self.state,
            "superseded_by": list(self.superseded_by),
        }


@dataclass
class CoverageReport:
    today: dt.date
    due_within_days: int
    generated_at: dt.datetime
    findings: list[Finding]
    matrix: list[MatrixRow]
    documents: list[DocumentStatus]
    demand: Demand

    @property
    def markets(self) -> tuple[str, ...]:
        return MARKETS

    def counts(self) -> dict[str, int]:
        c = Counter(f.kind.value for f in self.findings)
        return {k.value: c.get(k.value, 0) for k in FindingKind}

    def owners(self) -> list[str]:
        return sorted({d.owner for d in self.documents if d.owner})

    def as_json(self) -> dict[str, Any]:
        return {
            "today": self.today.isoformat(),
            "due_within_days": self.due_within_days,
            "generated_at": self.generated_at.isoformat(),
            "counts": self.counts(),
            "findings": [f.as_json() for f in self.findings],
            "markets": list(self.markets),
            "matrix": [r.as_json() for r in self.matrix],
            "documents": [d.as_json() for d in self.documents],
            "demand": self.demand.as_json(),
        }


def _status(d: DocumentFacts, today: dt.date, due_within_days: int) -> DocumentStatus:
    current = d.current
    reviews = [v.review_by for v in current.values() if v.review_by]
    review_by = min(reviews) if reviews else None
    review = review_state(review_by, today, due_within_days)
    if d.superseded_by:
        state = "superseded"
    elif review in (ReviewState.STALE, ReviewState.DUE_SOON):
        state = review.value
    else:
        state = "ok"
    source = current.get(d.source_lang or "") or next(iter(current.values()), None)
    return DocumentStatus(
        id=d.id,
        title=source.title if source else None,
        owner=d.owner,
        topic=d.topic,
        markets=d.markets,
        versions={lang: v.version for lang, v in sorted(current.items())},
        review_by=review_by,
        state=state,
        superseded_by=d.superseded_by,
    )


def build_report(
    reader: CoverageReader,
    today: dt.date,
    due_within_days: int = 30,
    *,
    config: CoverageConfig | None = None,
    log_limit: int = 10_000,
) -> CoverageReport:
    facts = collect_facts(reader)
    analysis = Analysis(facts, today, due_within_days, config)
    return CoverageReport(
        today=today,
        due_within_days=due_within_days,
        generated_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
        findings=analysis.findings(),
        matrix=analysis.matrix(),
        documents=[_status(d, today, due_within_days) for d in facts.documents],
        demand=demand(reader.query_log(log_limit)),
    )


@dataclass
class OwnerDashboard:
    owner: str
    today: dt.date
    due_within_days: int
    documents: list[DocumentStatus]
    findings: list[Finding]
    demand: Demand
    topics: list[str]

    @property
    def stale(self) -> list[DocumentStatus]:
        return [d for d in self.documents if d.state == "stale"]

    @property
    def due_soon(self) -> list[DocumentStatus]:
        return [d for d in self.documents if d.state == "due-soon"]

    def as_json(self) -> dict[str, Any]:
        counts = Counter(f.kind.value for f in self.findings)
        return {
            "owner": self.owner,
            "today": self.today.isoformat(),
            "due_within_days": self.due_within_days,
            "documents": [d.as_json() for d in self.documents],
            "stale": [d.id for d in self.stale],
            "due_soon": [d.id for d in self.due_soon],
            "topics": self.topics,
            "counts": {k.value: counts.get(k.value, 0) for k in FindingKind},
            "findings": [f.as_json() for f in self.findings],
            "demand": self.demand.as_json(),
        }


def find_owner(report: CoverageReport, owner: str) -> str | None:
    """The owner's name as the graph spells it (case and spacing forgiven), else None."""
    owners = report.owners()
    if owner in owners:
        return owner
    folded = " ".join(owner.split()).casefold()
    return next((o for o in owners if " ".join(o.split()).casefold() == folded), None)


def owner_dashboard(report: CoverageReport, owner: str) -> OwnerDashboard | None:
    """What `owner` owns, what is stale or due, the findings on their documents, and the
    unanswered questions in their topics; None when no document has this owner."""
    name = find_owner(report, owner)
    if name is None:
        return None
    docs = [d for d in report.documents if d.owner == name]
    ids = {d.id for d in docs}
    topics = sorted({d.topic for d in docs if d.state != "superseded"})
    findings = [f for f in report.findings if f.doc in ids]
    return OwnerDashboard(
        owner=name,
        today=report.today,
        due_within_days=report.due_within_days,
        documents=docs,
        findings=findings,
        demand=report.demand.for_topics(topics),
        topics=topics,
    )
