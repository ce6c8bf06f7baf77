"""The governance routes: coverage report, owner dashboard, change feed, and search feedback.

Like the other routes they hold no logic: each calls its service function
(`search_api.services`), whose project errors `search_api.errors` maps to HTTP.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from ontology.governance import FindingKind
from search_api import services
from search_api.auth import Principal, require
from search_api.deps import Runtime, get_runtime
from search_api.errors import error_responses
from search_api.models import (
    AcknowledgedFindingOut,
    AcknowledgeRequest,
    ChangesResponse,
    CoverageResponse,
    FeedbackRequest,
    FeedbackResponse,
    OwnerDashboardResponse,
)

RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
Reader = Annotated[Principal, require("reader")]
Owner = Annotated[Principal, require("owner")]

governance = APIRouter(prefix="/v1", tags=["governance"])


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
    _: Owner,
    kind: Annotated[
        list[FindingKind] | None, Query(description="only findings of these kinds")
    ] = None,
    owner: Annotated[
        str | None, Query(max_length=200, description="only findings on this owner's documents")
    ] = None,
) -> CoverageResponse:
    return services.coverage(runtime, kind, owner)


@governance.post(
    "/findings/{finding_id}/acknowledge",
    summary="Acknowledge a finding: leave it as it is, with a reason (and an expiry)",
    description="Role owner. The finding leaves the open findings and the counts, listed "
    "apart under `acknowledged` with who (the key's name) and why, until `expires` or until "
    "the documents it concerns change. Acknowledging again replaces reason and expiry.",
    responses=error_responses(400, 401, 403, 404, 413, 415, 422, 503),
)
def acknowledge(
    finding_id: Annotated[str, Path(max_length=64, pattern=r"^[0-9a-f]+$")],
    body: AcknowledgeRequest,
    runtime: RuntimeDep,
    who: Owner,
) -> AcknowledgedFindingOut:
    return services.acknowledge(runtime, who, finding_id, body)


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
    _: Owner,
) -> OwnerDashboardResponse:
    return services.dashboard(runtime, owner)


@governance.get(
    "/changes",
    summary="Change feed: what each new version changed, by section and statement",
    description="Role reader. Versions that took effect from `since` (to `until`), newest "
    "first, each against the version it replaced: statements and paragraphs added, removed "
    "or reworded (with both texts), and statements whose `applies_to` names other statements "
    "(`retagged`, with both lists). A document's first version has nothing to compare.",
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
    return services.changes(runtime, since, until, doc_id, owner)


@governance.post(
    "/feedback",
    summary="Did this search answer the question?",
    description="Role reader. Records the searcher's answer for a search's `query_id`; a "
    '"no" makes it unanswered demand in the coverage report.',
    responses=error_responses(400, 401, 403, 404, 413, 415, 422, 503),
)
def feedback(body: FeedbackRequest, runtime: RuntimeDep, _: Reader) -> FeedbackResponse:
    return services.feedback(runtime, body)
