"""The /v1 routes and the probes. Routes hold no Cypher: they call `kg.reader` and the
retriever, and raise project errors that `search_api.errors` maps to HTTP."""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response

from kg.errors import InvalidInput, NotFound
from kg.reader import GraphReader
from kg.settings import Settings, get_settings
from search_api.auth import Principal, require
from search_api.deps import Runtime, check_query, check_topic, get_runtime, search_params
from search_api.errors import RETRY_AFTER_SECONDS, error_responses
from search_api.models import (
    DocumentResponse,
    HealthResponse,
    IngestRequest,
    IngestResponse,
    QueryExpansion,
    ReadyResponse,
    RelatedStatement,
    RelatedText,
    SearchRequest,
    SearchResponse,
    SearchResult,
    SectionOut,
    SectionPassage,
    StatementPassage,
    StatementResponse,
    TopicOut,
    TopicsResponse,
    VersionOut,
    statement_key,
    statement_public_id,
)

RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
Reader = Annotated[Principal, require("reader")]
Admin = Annotated[Principal, require("admin")]

DOC_ID_EXAMPLE = "mini-fakes"

v1 = APIRouter(prefix="/v1")
probes = APIRouter(tags=["probes"])
admin = APIRouter(prefix="/v1", tags=["admin"])


# --- search -----------------------------------------------------------------------------
@v1.post(
    "/search",
    tags=["search"],
    summary="Search the SOPs in Japanese or English",
    description="Hybrid bilingual search. Each result is one statement (both languages "
    "grouped) or section paragraph, in the query's language with its translation, a "
    "citation (document, version, effective date, section, item, file and lines), the "
    "retrievers that found it, and related exceptions, enforcement and escalation.",
    responses=error_responses(400, 401, 403, 422, 503),
)
def search(
    body: SearchRequest, runtime: RuntimeDep, settings: SettingsDep, who: Reader
) -> SearchResponse:
    check_query(body.query, settings.max_query_chars)
    check_topic(runtime.reader(), body.topic)
    params = search_params(body)
    outcome = runtime.retriever().search(params)
    logged = runtime.query_log.record(params, outcome, who.role)  # written in the background
    return SearchResponse(
        query_id=logged.id,
        query=outcome.query,
        query_lang=outcome.query_lang,
        mode=outcome.mode,
        results=[SearchResult.model_validate(r) for r in outcome.results],
        expansion=QueryExpansion(
            matched=outcome.expansion.matched,
            ja_terms=outcome.expansion.ja_terms,
            en_terms=outcome.expansion.en_terms,
        ),
        timings_ms={k: round(v, 3) for k, v in outcome.timings_ms.items()},
    )


# --- browsing ---------------------------------------------------------------------------
@v1.get(
    "/topics",
    tags=["browse"],
    summary="The topic taxonomy, with active document counts",
    responses=error_responses(401, 403, 503),
)
def topics(runtime: RuntimeDep, _: Reader) -> TopicsResponse:
    return TopicsResponse(topics=[TopicOut.model_validate(t) for t in runtime.reader().topics()])


def _sections(reader: GraphReader, version_key: str) -> list[SectionOut]:
    out = []
    for s in reader.version_sections(version_key):
        passages = [SectionPassage.model_validate(p) for p in s["passages"] if p.get("key")]
        out.append(SectionOut.model_validate({**s, "passages": passages}))
    return out


@v1.get(
    "/documents/{doc_id}",
    tags=["browse"],
    summary="A document: metadata, every version, and the sections of current versions",
    responses=error_responses(401, 403, 404, 503),
)
def document(
    doc_id: Annotated[str, Path(max_length=200, examples=[DOC_ID_EXAMPLE])],
    runtime: RuntimeDep,
    _: Reader,
) -> DocumentResponse:
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


@v1.get(
    "/statements/{statement_id}",
    tags=["browse"],
    summary="A statement in every language, with the statements related to it",
    description="`statement_id` is `<doc-id>.<item-id>` (e.g. `mini-fakes.p1`); the "
    "internal key `<doc-id>#<item-id>`, URL-encoded (`mini-fakes%23p1`), is accepted too.",
    responses=error_responses(401, 403, 404, 422, 503),
)
def statement(
    statement_id: Annotated[str, Path(max_length=300, examples=["mini-fakes.p1"])],
    runtime: RuntimeDep,
    settings: SettingsDep,
    _: Reader,
) -> StatementResponse:
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
        for r in reader.related([key], settings.effective_today()).get(key, [])
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


# --- admin ------------------------------------------------------------------------------
@admin.post(
    "/ingest",
    summary="Ingest a corpus folder on the server (incremental)",
    description="Role admin. Parses, embeds and writes changed documents, retires those "
    "gone from the folder, then reloads the glossary. Lint errors are listed in `errors`; "
    "their files are skipped and their earlier versions stay as they were.",
    responses=error_responses(400, 401, 403, 409, 422, 503),
)
def ingest(body: IngestRequest, runtime: RuntimeDep, _: Admin) -> IngestResponse:
    assert runtime.ingest_runner is not None  # the route exists only with a runner
    root = FsPath(body.corpus)
    try:
        is_dir = root.is_dir()
    except OSError as e:  # a name too long for the file system, ...
        raise InvalidInput("corpus", f"cannot be read: {e.strerror}") from e
    if not is_dir:
        raise InvalidInput("corpus", "is not a folder on the server")
    with runtime.ingest_lock:
        summary = runtime.ingest_runner(root)
    runtime.reload_glossary()
    return IngestResponse.model_validate(summary)


# --- probes -----------------------------------------------------------------------------
@probes.get("/healthz", summary="Liveness: the process answers")
def healthz() -> HealthResponse:
    return HealthResponse()


@probes.get(
    "/readyz",
    summary="Readiness: Neo4j reachable, schema migrated, embedder loaded and matching",
    responses={
        503: {
            "model": ReadyResponse,
            "description": "not ready; the body says which check failed",
            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        }
    },
)
def readyz(runtime: RuntimeDep, response: Response) -> ReadyResponse:
    report = runtime.readiness()
    if report.status != "ready":
        response.status_code = 503
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return report
