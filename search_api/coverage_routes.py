"""The governance routes: coverage report, owner dashboard, change feed, and search feedback.

Like the other routes they hold no Cypher (reads go through `kg.coverage.CoverageReader`,
analysis through `search_api.coverage`) and raise project errors that `search_api.errors`
maps to HTTP. The web pages may call these functions in-process, as they call
`search_api.routes.search`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from kg.coverage import CoverageReader
from kg.errors import InvalidInput, NotFound
from kg.settings import Settings, get_settings
from ontology.governance import FindingKind
from search_api.auth import Principal, require
from search_api.coverage import build_report, change_feed, owner_dashboard
from search_api.deps import Runtime, get_runtime
from search_api.errors import error_responses
from search_api.models import (
    ChangesResponse,
    CoverageResponse,
    FeedbackRequest,
    FeedbackResponse,
    OwnerDashboardResponse,
    QueryLogStats,
    VersionChangesOut,
)

RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
Reader = Annotated[Principal, require("reader")]
Owner = Annotated[Principal, require("owner")]

governance = APIRouter(prefix="/v1", tags=["governance"])


def coverage_reader(runtime: Runtime) -> CoverageReader:
    driver, database = runtime.driver()
    return CoverageReader(driver, database)


@governance.get(
    "/coverage",
    summary="Coverage report: findings, topic-by-market matrix, unanswered demand",
    description="Role owner. Every finding names its document (or topic), language "
    "version(s), item, owner and a one-line reason; see docs/coverage.md for the kinds. "
    "Dates are judged as of SOPKG_TODAY (or the date today).",
    responses=error_responses(401, 403, 422, 503),
)
def coverage(
    runtime: RuntimeDep,
    settings: SettingsDep,
    _: Owner,
    kind: Annotated[
        list[FindingKind] | None, Query(description="only findings of these kinds")
    ] = None,
    owner: Annotated[
        str | None, Query(max_length=200, description="only findings on this owner's documents")
    ] = None,
) -> CoverageResponse:
    report = build_report(
        coverage_reader(runtime),
        settings.effective_today(),
        settings.due_within_days,
        log_limit=settings.query_log_max,
    )
    data = report.as_json()
    if kind:
        wanted = {k.value for k in kind}
        data["findings"] = [f for f in data["findings"] if f["kind"] in wanted]
    if owner:
        data["findings"] = [f for f in data["findings"] if f["owner"] == owner]
    return CoverageResponse.model_validate(
        {**data, "query_log": QueryLogStats.model_validate(runtime.query_log.stats())}
    )


@governance.get(
    "/owners/{owner}/dashboard",
    summary="One owner's documents, what is stale or due, findings, unanswered questions",
    description="Role owner. `owner` is the name in the documents' front matter "
    "(URL-encoded; case and spacing are forgiven).",
    responses=error_responses(401, 403, 404, 503),
)
def dashboard(
    owner: Annotated[str, Path(max_length=200, examples=["IPR Policy JP"])],
    runtime: RuntimeDep,
    settings: SettingsDep,
    _: Owner,
) -> OwnerDashboardResponse:
    report = build_report(
        coverage_reader(runtime),
        settings.effective_today(),
        settings.due_within_days,
        log_limit=settings.query_log_max,
    )
    found = owner_dashboard(report, owner)
    if found is None:
        raise NotFound(f"no active document is owned by {owner!r}")
    return OwnerDashboardResponse.model_validate(found.as_json())


@governance.get(
    "/changes",
    summary="Change feed: what each new version changed, by section and statement",
    description="Role reader. Versions that took effect from `since` (to `until`), newest "
    "first, each against the version it replaced: statements and paragraphs added, removed "
    "or reworded (with both texts). A document's first version has nothing to compare.",
    responses=error_responses(401, 403, 422, 503),
)
def changes(
    runtime: RuntimeDep,
    _: Reader,
    since: Annotated[dt.date, Query(description="first effective date, YYYY-MM-DD")],
    until: Annotated[dt.date | None, Query(description="last effective date")] = None,
    doc_id: Annotated[str | None, Query(max_length=200, description="one document")] = None,
    owner: Annotated[str | None, Query(max_length=200, description="one owner's")] = None,
) -> ChangesResponse:
    if until is not None and until < since:
        raise InvalidInput("until", "must not be before since")
    feed = change_feed(coverage_reader(runtime), since, until, doc_id=doc_id, owner=owner)
    return ChangesResponse(
        since=since,
        until=until,
        versions=[VersionChangesOut.model_validate(v.as_json()) for v in feed],
    )


@governance.post(
    "/feedback",
    summary="Did this search answer the question?",
    description="Role reader. Records the searcher's answer for a search's `query_id`; a "
    '"no" makes it unanswered demand in the coverage report.',
    responses=error_responses(400, 401, 403, 404, 422, 503),
)
def feedback(body: FeedbackRequest, runtime: RuntimeDep, _: Reader) -> FeedbackResponse:
    reader = coverage_reader(runtime)
    found = reader.query_feedback(body.query_id, body.answered)
    if not found:
        runtime.query_log.flush(timeout=5.0)  # the entry may still be on its way
        found = reader.query_feedback(body.query_id, body.answered)
    if not found:
        raise NotFound(f"no logged search {body.query_id!r}")
    return FeedbackResponse(query_id=body.query_id, answered=body.answered)
