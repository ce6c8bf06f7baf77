"""The governance pages' data: the same service functions (`search_api.services`) that
GET /v1/coverage, /v1/owners/{owner}/dashboard and /v1/changes call, so a page shows what
the API answers (the pages gate by role before calling)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pydantic import ValidationError

from kg.errors import InvalidInput, NotFound
from kg.settings import Settings
from ontology.governance import FindingKind
from search_api import services
from search_api.auth import Principal
from search_api.deps import Runtime
from search_api.models import (
    AcknowledgedFindingOut,
    AcknowledgeRequest,
    CoverageResponse,
    DocumentResponse,
    FindingOut,
    OwnerDashboardResponse,
    VersionChangesOut,
)

CHANGES_DAYS = services.CHANGES_DAYS  # the change feed page's default window
CELL_STATES = ("covered", "due-soon", "stale", "none")


def _owners(report: CoverageResponse) -> list[str]:
    return sorted({d.owner for d in report.documents if d.owner})


# --- coverage matrix --------------------------------------------------------------------
@dataclass
class Cell:
    market: str
    state: str  # one of CELL_STATES: the best state of the documents covering it
    documents: list[tuple[str, str]]  # (document id, its state)


@dataclass
class Row:
    path: str
    en: str
    ja: str
    depth: int
    leaf: bool
    state: str  # covered | partial | none (in every market, some, none)
    cells: list[Cell] = field(default_factory=list)


@dataclass
class Matrix:
    report: CoverageResponse
    markets: list[str]
    rows: list[Row]
    owners: list[str]


def _cell_state(states: list[str]) -> str:
    live = [s for s in states if s != "superseded"]
    if not live:
        return "none"
    if "ok" in live:
        return "covered"
    return "due-soon" if "due-soon" in live else "stale"


def coverage(runtime: Runtime, settings: Settings, user: Principal) -> Matrix:
    report = services.coverage(runtime)
    state_of: dict[str, str] = {d.id: d.state for d in report.documents}
    rows = []
    for r in report.matrix:
        row = Row(path=r.path, en=r.en, ja=r.ja, depth=r.depth, leaf=r.leaf, state=r.state)
        for market in report.markets:
            docs = [(d, state_of.get(d, "ok")) for d in r.markets.get(market, [])]
            row.cells.append(Cell(market, _cell_state([s for _, s in docs]), docs))
        rows.append(row)
    return Matrix(report, report.markets, rows, _owners(report))


# --- findings ---------------------------------------------------------------------------
@dataclass
class Findings:
    findings: list[FindingOut]
    total: int
    owners: list[str]
    kinds: list[str]
    owner: str | None
    kind: str | None
    acknowledged: list[AcknowledgedFindingOut] = field(default_factory=list)


def findings(
    runtime: Runtime, settings: Settings, user: Principal, owner: str | None, kind: str | None
) -> Findings:
    kinds = [k.value for k in FindingKind]
    if kind is not None and kind not in kinds:
        # A stale link's filter: said, rather than every finding shown as if filtered.
        raise InvalidInput("kind", f"unknown finding kind {kind!r}; known: {', '.join(kinds)}")
    report = services.coverage(runtime, [FindingKind(kind)] if kind else None, owner)
    return Findings(
        report.findings,
        sum(report.counts.values()),
        _owners(report),
        kinds,
        owner,
        kind,
        report.acknowledged,
    )


def acknowledge(
    runtime: Runtime, user: Principal, finding_id: str, form: dict[str, str]
) -> str | None:
    """Acknowledge from the findings page's form; the problem with the input, else None."""
    try:
        body = AcknowledgeRequest(
            reason=form.get("reason", ""),
            expires=form.get("expires") or None,  # type: ignore[arg-type]
        )
        services.acknowledge(runtime, user, finding_id, body)
    except ValidationError as e:
        first = e.errors()[0]
        return f"{first['loc'][-1]}: {str(first['msg']).removeprefix('Value error, ')}"
    except (InvalidInput, NotFound) as e:
        return str(e)
    return None


# --- an owner's dashboard ---------------------------------------------------------------
def dashboard(
    runtime: Runtime, settings: Settings, user: Principal, owner: str
) -> tuple[OwnerDashboardResponse | None, list[str]]:
    """The dashboard; None and every owner's name when nobody by that name owns a
    document."""
    try:
        return services.dashboard(runtime, owner), []
    except NotFound:
        report = services.coverage(runtime)
        return None, _owners(report)


# --- change feed ------------------------------------------------------------------------
@dataclass
class Feed:
    since: dt.date
    items: list[VersionChangesOut]


def changes(runtime: Runtime, settings: Settings, user: Principal, since: dt.date | None) -> Feed:
    start = since or settings.effective_today() - dt.timedelta(days=CHANGES_DAYS)
    return Feed(start, services.changes(runtime, since=start).versions)


def document_changes(
    runtime: Runtime, user: Principal, doc: DocumentResponse
) -> list[VersionChangesOut]:
    """What the latest version of each language of a document changed (a first version is
    listed as new, with nothing to compare)."""
    current = [v for v in doc.versions if v.current and not v.retired]
    dates = [v.effective for v in current if v.effective]
    if not dates:
        return []
    feed = services.changes(runtime, since=min(dates), doc_id=doc.id)
    latest = {(v.lang, v.version) for v in current}
    return [c for c in feed.versions if (c.lang, c.version) in latest]
