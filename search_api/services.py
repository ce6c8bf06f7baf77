"""The service layer: one function per capability, called by every interface.

The API routes (`search_api.routes`, `search_api.coverage_routes`), the web pages
(`search_api.web`), the `sopkg` command and any later interface (an MCP server, ...) call
these functions and nothing below them, so a search, a document or a coverage report is
validated, computed, logged and shaped in exactly one place. They take the `Runtime` (the
process's driver, embedder and glossary) and raise project errors (`kg.errors`) that each
interface maps once: `search_api.errors` to HTTP, the CLI to a message and an exit code.
"""

from __future__ import annotations

import datetime as dt
import difflib
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kg.coverage import Acknowledgement
from kg.errors import InvalidInput, NotFound
from kg.reader import GraphReader
from ontology.governance import FindingKind
from search_api.auth import Principal
from search_api.coverage import (
    CoverageReport,
    OwnerDashboard,
    build_report,
    change_feed,
    owner_dashboard,
)
from search_api.coverage.acknowledgements import ack_json
from search_api.coverage.changes import VersionChanges, most_searched
from search_api.coverage.report import find_owner
from search_api.coverage.trends import findings_by_version
from search_api.deps import Runtime
from search_api.errors import first_problem
from search_api.memory import release_free_memory
from search_api.models import (
    AcknowledgedFindingOut,
    AcknowledgeRequest,
    AnswerConfidence,
    ChangesResponse,
    CorporaResponse,
    CorpusOut,
    CoverageResponse,
    DictionaryTranslation,
    DocumentResponse,
    FeedbackRequest,
    FeedbackResponse,
    IngestResponse,
    OwnerDashboardResponse,
    QueryExpansion,
    QueryLogStats,
    RelatedStatement,
    RelatedText,
    SearchRequest,
    SearchResponse,
    SectionOut,
    SectionPassage,
    StatementPassage,
    StatementResponse,
    TopicOut,
    TopicsResponse,
    VersionChangesOut,
    VersionOut,
    statement_key,
    statement_public_id,
)
from search_api.retrieval import SearchParams


# --- input checks -------------------------------------------------------------------------
def check_query(query: str, max_chars: int) -> None:
    if not query.strip():
        raise InvalidInput("query", "must not be blank")
    if len(query) > max_chars:
        raise InvalidInput(
            "query", f"is {len(query)} characters long; at most {max_chars} are accepted"
        )


def check_topic(reader: GraphReader, topic: str | None) -> None:
    if topic is None or reader.topic_exists(topic):
        return
    known = [str(t["path"]) for t in reader.topics()]
    near = difflib.get_close_matches(topic, known, n=3, cutoff=0.0)
    hint = f"; closest: {', '.join(near)}" if near else ""
    # Worded for every interface (API, CLI, MCP, web): no route named, the nearest given.
    raise InvalidInput("topic", f"unknown topic {topic!r}{hint}")


def search_request(**fields: Any) -> SearchRequest:
    """A SearchRequest from loose values (CLI flags, a page's query string, a tool call);
    the model's validation errors become one InvalidInput naming the field."""
    try:
        return SearchRequest(**{k: v for k, v in fields.items() if v is not None})
    except ValidationError as e:
        raise first_problem(e, "query") from e


def search_params(req: SearchRequest) -> SearchParams:
    return SearchParams(
        query=req.query,
        lang=req.query_lang,
        market=req.market,
        topic=req.topic,
        language=req.language,
        as_of=req.as_of,
        include_superseded=req.include_superseded,
        limit=req.limit,
        mode=req.mode,
    )


# --- search -------------------------------------------------------------------------------
def search(
    runtime: Runtime, request: SearchRequest, who: Principal | None, *, log: bool = True
) -> SearchResponse:
    """Validate, search, log the query (in the background) and shape the response.
    `log=False` for callers that are not a person's search (evaluation, benchmarks)."""
    check_query(request.query, runtime.settings.max_query_chars)
    check_topic(runtime.reader(), request.topic)
    params = search_params(request)
    started = time.perf_counter()
    outcome, shared = runtime.search(params)
    if shared:  # the timings of the search that ran belong to its own response
        took = round((time.perf_counter() - started) * 1000, 3)
        outcome = replace(outcome, timings_ms={"shared": took, "total": took})
    query_id = None
    if log:
        query_id = runtime.query_log.record(params, outcome, who.role if who else None).id
    return SearchResponse(
        query_id=query_id,
        query=outcome.query,
        query_lang=outcome.query_lang,
        mode=outcome.mode,
        results=outcome.results,
        expansion=QueryExpansion(
            matched=outcome.expansion.matched,
            ja_terms=outcome.expansion.ja_terms,
            en_terms=outcome.expansion.en_terms,
            translated=[
                DictionaryTranslation(term=t, translation=w, score=round(sc, 4))
                for t, w, sc in sorted(outcome.expansion.dictionary, key=lambda r: -r[2])
            ],
        ),
        confidence=(
            AnswerConfidence(agreement=c.agreement, separation=c.separation, weak=c.weak)
            if (c := outcome.confidence)
            else None
        ),
        timings_ms={k: round(v, 3) for k, v in outcome.timings_ms.items()},
    )


# --- browsing -----------------------------------------------------------------------------
def corpora(runtime: Runtime) -> CorporaResponse:
    return CorporaResponse(
        corpora=[CorpusOut.model_validate(c) for c in runtime.reader().corpora()]
    )


def topics(runtime: Runtime) -> TopicsResponse:
    return TopicsResponse(topics=[TopicOut.model_validate(t) for t in runtime.reader().topics()])


def _sections(reader: GraphReader, version_key: str) -> list[SectionOut]:
    out = []
    for s in reader.version_sections(version_key):
        passages = [SectionPassage.model_validate(p) for p in s["passages"] if p.get("key")]
        out.append(SectionOut.model_validate({**s, "passages": passages}))
    return out


def document(runtime: Runtime, doc_id: str) -> DocumentResponse:
    reader = runtime.reader()
    row = reader.document(doc_id)
    if row is None:
        raise NotFound(f"no document {doc_id!r}")
    versions = []
    for v in reader.document_versions(doc_id):
        sections = _sections(reader, v["key"]) if v.get("current") else None
        versions.append(VersionOut.model_validate({**v, "sections": sections}))
    doc: dict[str, Any] = row["doc"]
    return DocumentResponse(
        id=doc["id"],
        topic=doc.get("topic"),
        markets=list(doc.get("markets") or []),
        status=doc.get("status"),
        source_lang=doc.get("source_lang"),
        owner=row.get("owner"),
        regulations=sorted(row.get("regulations") or []),
        supersedes=doc.get("supersedes"),
        superseded_by=sorted(row.get("superseded_by") or []),
        versions=versions,
    )


def statement(runtime: Runtime, statement_id: str) -> StatementResponse:
    try:
        key = statement_key(statement_id)
    except ValueError as e:
        raise InvalidInput("statement_id", str(e)) from e
    reader = runtime.reader()
    row = reader.statement(key)
    if row is None:
        raise NotFound(f"no statement {statement_public_id(key)!r}")
    st: dict[str, Any] = row["statement"]
    passages = [StatementPassage.model_validate(p) for p in row["passages"] if p.get("key")]
    passages.sort(key=lambda p: (p.lang, not p.current, p.version or ""))
    related = [
        RelatedStatement(
            relation=r["relation"],
            id=statement_public_id(r["statement_key"]),
            statement_key=r["statement_key"],
            kind=r["kind"],
            item_id=r["item_id"],
            severity=r.get("severity"),
            texts=[RelatedText(lang=t["lang"], text=t["text"]) for t in r["texts"]],
        )
        for r in reader.related([key], runtime.settings.effective_today()).get(key, [])
    ]
    return StatementResponse(
        id=statement_public_id(st["key"]),
        key=st["key"],
        doc_id=st["doc_id"],
        item_id=st["item_id"],
        kind=st["kind"],
        severity=st.get("severity"),
        current=st.get("current"),
        applies_to=[statement_public_id(k) for k in st.get("applies_to") or []],
        doc_status=row.get("doc_status"),
        passages=passages,
        related=related,
    )


# --- governance ---------------------------------------------------------------------------
def _report(runtime: Runtime) -> CoverageReport:
    s = runtime.settings
    today = s.effective_today()
    reader = runtime.coverage_reader()
    inputs, logged = reader.report_inputs()
    key = (*inputs, today)
    latest = (logged, runtime.query_log.stats()["written"], runtime.feedback_given)

    def build() -> CoverageReport:
        try:
            return build_report(reader, today, s.due_within_days, log_limit=s.query_log_max)
        finally:
            release_free_memory()

    return runtime.coverage_reports.get(key, latest, build)


def coverage(
    runtime: Runtime,
    kinds: list[FindingKind] | None = None,
    owner: str | None = None,
) -> CoverageResponse:
    report = _report(runtime)
    name = _owner_named(report, owner) if owner else None
    data = report.as_json()
    for part in ("findings", "acknowledged"):
        if kinds:
            wanted = {k.value for k in kinds}
            data[part] = [f for f in data[part] if f["kind"] in wanted]
        if name:
            data[part] = [f for f in data[part] if f["owner"] == name]
    return CoverageResponse.model_validate(
        {**data, "query_log": QueryLogStats.model_validate(runtime.query_log.stats())}
    )


def _owner_named(report: CoverageReport, owner: str) -> str:
    """The owner as the graph spells it, case and spacing forgiven as on the dashboard; an
    owner no document has is an error naming the field, as an unknown topic is, rather
    than an empty list that reads as "nothing to do"."""
    name = find_owner(report, owner)
    if name is None:
        near = difflib.get_close_matches(owner, report.owners(), n=3, cutoff=0.0)
        hint = f"; closest: {', '.join(near)}" if near else ""
        raise InvalidInput("owner", f"no active document is owned by {owner!r}{hint}")
    return name


def acknowledge(
    runtime: Runtime, who: Principal, finding_id: str, body: AcknowledgeRequest
) -> AcknowledgedFindingOut:
    """An owner's decision on a finding: it leaves the open findings until `expires` or
    until its documents change (search_api.coverage.acknowledgements)."""
    report = _report(runtime)
    found = report.finding(finding_id)
    if found is None:
        raise NotFound(f"no finding {finding_id!r} in the current report")
    if body.expires is not None and body.expires < report.today:
        raise InvalidInput("expires", f"must not be before today ({report.today.isoformat()})")
    ack = Acknowledgement(
        finding_id=found.id,
        kind=found.kind.value,
        doc=found.doc,
        lang=found.lang,
        item=found.item,
        reason=body.reason,
        by=who.name,
        role=who.role,
        basis=report.bases[found.id],
        expires=body.expires,
    )
    stored = runtime.coverage_reader().acknowledge(ack)
    return AcknowledgedFindingOut.model_validate(
        {**found.as_json(), "acknowledgement": ack_json(stored)}
    )


def coverage_report(runtime: Runtime) -> CoverageReport:
    """The whole report as the analysis produced it (for the Markdown and HTML renderings)."""
    return _report(runtime)


# The owner dashboard's "changes that affected the most searches" look at new versions of
# this many days (the web change feed's default window too).
CHANGES_DAYS = 90
TREND_DAYS = 365  # the dashboard's findings-by-version chart: versions of the last year
AFFECTED_LIMIT = 10


def owner_board(runtime: Runtime, owner: str) -> OwnerDashboard:
    """An owner's dashboard as the analysis produced it (the Markdown rendering); NotFound
    naming the owners there are for an owner no active document has."""
    report = _report(runtime)
    found = owner_dashboard(report, owner)
    if found is None:
        known = ", ".join(report.owners())
        raise NotFound(f"no active document is owned by {owner!r}; owners: {known}")
    return found


def dashboard(runtime: Runtime, owner: str) -> OwnerDashboardResponse:
    found = owner_board(runtime, owner)
    report = _report(runtime)
    since = report.today - dt.timedelta(days=CHANGES_DAYS)
    feed = change_records(runtime, since, owner=found.owner)
    affected = [
        {
            "doc_id": v.doc_id,
            "lang": v.lang,
            "version": v.version,
            "effective": v.effective,
            **c.as_json(),
        }
        for v, c in most_searched(feed, AFFECTED_LIMIT)
    ]
    year = change_records(runtime, report.today - dt.timedelta(days=TREND_DAYS), owner=found.owner)
    return OwnerDashboardResponse.model_validate({
        **found.as_json(), "affected_searches": affected,
        "findings_by_version": findings_by_version(found.findings, year),
    })  # fmt: skip


def change_records(
    runtime: Runtime,
    since: dt.date,
    until: dt.date | None = None,
    doc_id: str | None = None,
    owner: str | None = None,
) -> list[VersionChanges]:
    """The change feed as the analysis produced it (for the Markdown rendering)."""
    if until is not None and until < since:
        raise InvalidInput("until", "must not be before since")
    if owner:
        owner = _owner_named(_report(runtime), owner)
    if doc_id is not None and runtime.reader().document(doc_id) is None:
        # As for an unknown owner: an empty feed would read as "nothing changed".
        raise InvalidInput("doc_id", f"no document {doc_id!r} in the graph")
    return change_feed(
        runtime.coverage_reader(),
        since,
        until,
        doc_id=doc_id,
        owner=owner,
        searches_days=runtime.settings.recent_searches_days,
    )


def changes(
    runtime: Runtime,
    since: dt.date,
    until: dt.date | None = None,
    doc_id: str | None = None,
    owner: str | None = None,
) -> ChangesResponse:
    feed = change_records(runtime, since, until, doc_id, owner)
    return ChangesResponse(
        since=since,
        until=until,
        versions=[VersionChangesOut.model_validate(v.as_json()) for v in feed],
    )


def feedback(runtime: Runtime, body: FeedbackRequest) -> FeedbackResponse:
    reader = runtime.coverage_reader()
    found = reader.query_feedback(body.query_id, body.answered)
    if not found:
        runtime.query_log.flush(timeout=5.0)  # the entry may still be on its way
        found = reader.query_feedback(body.query_id, body.answered)
    if not found:
        raise NotFound(f"no logged search {body.query_id!r}")
    runtime.note_feedback()
    return FeedbackResponse(query_id=body.query_id, answered=body.answered)


# --- admin --------------------------------------------------------------------------------
def ingest(runtime: Runtime, corpus: str) -> IngestResponse:
    if runtime.ingest_runner is None:
        raise InvalidInput("corpus", "ingest is not available in this process")
    root = Path(corpus)
    try:
        is_dir = root.is_dir()
    except OSError as e:  # a name too long for the file system, ...
        raise InvalidInput("corpus", f"cannot be read: {e.strerror}") from e
    if not is_dir:
        raise InvalidInput("corpus", "is not a folder on the server")
    with runtime.ingest_lock:
        try:
            summary = runtime.ingest_runner(root)
        finally:
            release_free_memory()
    return _written(runtime, summary)


def remove_corpus(runtime: Runtime, name: str) -> IngestResponse:
    """Take a corpus out of the graph, as `sopkg corpora --remove` does: its documents
    retired (kept for as-of search and the record), its taxonomy and glossary dropped.
    Raises NotFound (naming the corpora there are) for a name the graph does not hold."""
    if runtime.corpus_remover is None:
        raise InvalidInput("name", "corpus removal is not available in this process")
    with runtime.ingest_lock:
        summary = runtime.corpus_remover(name)
    return _written(runtime, summary)


def _written(runtime: Runtime, summary: Mapping[str, Any]) -> IngestResponse:
    """The answer of a run that wrote to the graph; its changes served at once."""
    result = IngestResponse.model_validate(summary)
    if result.changed:  # seen at once, not at the next stamp check
        runtime.refresh_corpus_data(force=True)
    return result
