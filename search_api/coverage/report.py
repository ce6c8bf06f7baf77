"""The coverage report and the owner dashboard, built from the graph in one pass."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kg.coverage import Acknowledgement, CoverageReader, DocumentFacts
from ontology.governance import FindingKind
from ontology.rules import ReviewState, review_state
from ontology.vocabulary import MARKETS
from search_api.coverage.acknowledgements import Lapsed, ack_json, finding_basis, triage
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
    # findings an owner acknowledged (not in `findings` or the counts while it holds)
    acknowledged: list[tuple[Finding, Acknowledgement]] = field(default_factory=list)
    lapsed: dict[str, Lapsed] = field(default_factory=dict)  # open again: finding id -> why
    bases: dict[str, str] = field(default_factory=dict)  # finding id -> its documents' digest

    def finding(self, finding_id: str) -> Finding | None:
        """An open or acknowledged finding by id."""
        everything = [*self.findings, *(f for f, _ in self.acknowledged)]
        return next((f for f in everything if f.id == finding_id), None)

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
            "findings": findings_json(self.findings, self.lapsed),
            "acknowledged": acknowledged_json(self.acknowledged),
            "markets": list(self.markets),
            "matrix": [r.as_json() for r in self.matrix],
            "documents": [d.as_json() for d in self.documents],
            "demand": self.demand.as_json(),
            "demand_weekly": self.demand.weekly(self.today),
        }


def findings_json(
    findings: Sequence[Finding], lapsed: Mapping[str, Lapsed]
) -> list[dict[str, Any]]:
    """Open findings; one whose acknowledgement lapsed says so (`lapsed`: who, why given,
    why it lapsed)."""
    out = []
    for f in findings:
        row = f.as_json()
        gone = lapsed.get(f.id)
        row["lapsed"] = gone.as_json() if gone else None
        out.append(row)
    return out


def acknowledged_json(
    acknowledged: Sequence[tuple[Finding, Acknowledgement]],
) -> list[dict[str, Any]]:
    return [{**f.as_json(), "acknowledgement": ack_json(a)} for f, a in acknowledged]


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
    findings = analysis.findings()
    docs = {d.id: d for d in facts.documents}
    triaged = triage(findings, reader.acknowledgements(), docs, today)
    return CoverageReport(
        today=today,
        due_within_days=due_within_days,
        generated_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
        findings=triaged.open,
        matrix=analysis.matrix(),
        documents=[_status(d, today, due_within_days) for d in facts.documents],
        demand=demand(reader.query_log(log_limit)),
        acknowledged=triaged.acknowledged,
        lapsed=triaged.lapsed,
        bases={f.id: finding_basis(f, docs) for f in findings},
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
    acknowledged: list[tuple[Finding, Acknowledgement]] = field(default_factory=list)
    lapsed: dict[str, Lapsed] = field(default_factory=dict)

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
            "findings": findings_json(self.findings, self.lapsed),
            "acknowledged": acknowledged_json(self.acknowledged),
            "demand": self.demand.as_json(),
            "demand_weekly": self.demand.weekly(self.today),
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
        acknowledged=[(f, a) for f, a in report.acknowledged if f.doc in ids],
        lapsed=report.lapsed,
    )
