"""The /v1 routes and the probes. Routes hold no logic: each calls its service function
(`search_api.services`), whose project errors `search_api.errors` maps to HTTP."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from search_api import services
from search_api.auth import Principal, require
from search_api.deps import Runtime, get_runtime
from search_api.errors import RETRY_AFTER_SECONDS, error_responses
from search_api.models import (
    CorporaResponse,
    DocumentResponse,
    HealthResponse,
    IngestRequest,
    IngestResponse,
    ReadyResponse,
    SearchRequest,
    SearchResponse,
    StatementResponse,
    TopicsResponse,
)

RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
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
    responses=error_responses(400, 401, 403, 413, 415, 422, 503),
)
def search(body: SearchRequest, runtime: RuntimeDep, who: Reader) -> SearchResponse:
    return services.search(runtime, body, who)


# --- browsing ---------------------------------------------------------------------------
@v1.get(
    "/topics",
    tags=["browse"],
    summary="The topic taxonomy, with active document counts",
    responses=error_responses(401, 403, 503),
)
def topics(runtime: RuntimeDep, _: Reader) -> TopicsResponse:
    return services.topics(runtime)


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
    return services.document(runtime, doc_id)


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
    _: Reader,
) -> StatementResponse:
    return services.statement(runtime, statement_id)


# --- admin ------------------------------------------------------------------------------
@admin.post(
    "/ingest",
    summary="Ingest a corpus folder on the server (incremental)",
    description="Role admin. Parses, embeds and writes changed documents, retires those "
    "gone from the folder, then reloads the glossary. Lint errors are listed in `errors`; "
    "their files are skipped and their earlier versions stay as they were.",
    responses=error_responses(400, 401, 403, 409, 413, 415, 422, 503),
)
def ingest(body: IngestRequest, runtime: RuntimeDep, _: Admin) -> IngestResponse:
    return services.ingest(runtime, body.corpus)


@v1.get(  # not on `admin`, which only a server that can ingest has
    "/corpora",
    tags=["admin"],
    summary="The corpora in the graph",
    description="Role admin. Each corpus ingested into the graph: its folder on the server, "
    "last ingest, removal (`DELETE /v1/corpora/{name}` or `sopkg corpora --remove`), and its "
    "active and retired documents, topics and glossary groups.",
    responses=error_responses(401, 403, 503),
)
def corpora(runtime: RuntimeDep, _: Admin) -> CorporaResponse:
    return services.corpora(runtime)


@admin.delete(
    "/corpora/{name}",
    summary="Take a corpus out of the graph",
    description="Role admin. As `sopkg corpora --remove NAME`: the corpus's documents are "
    "retired (kept for as-of search and the record, as when their files are gone), its "
    "taxonomy and glossary dropped, and the topics and terms that other corpora share "
    "derived again from theirs. Ingesting its folder again brings it back. Removing a "
    "corpus already removed changes nothing (`changed` false); an unknown name is 404, "
    "its message naming the corpora there are.",
    responses=error_responses(401, 403, 404, 409, 422, 503),
)
def remove_corpus(
    name: Annotated[str, Path(max_length=200, examples=["mini_corpus"])],
    runtime: RuntimeDep,
    _: Admin,
) -> IngestResponse:
    return services.remove_corpus(runtime, name)


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
