"""The FastAPI app factory.

`create_app(settings, ingest_runner=None, corpus_remover=None)` builds the app around one
settings object (injected into routes with `Depends(get_settings)`) and one `Runtime`
(driver, embedder, glossary). The embedder's model loads in the lifespan; the Neo4j driver
is made on first use and kept. The admin routes that write (ingest, corpus removal) exist
only when the composition root (the CLI) hands in an `ingest_runner`, and the removal its
`corpus_remover`: search_api does not import `ingest`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from starlette.concurrency import run_in_threadpool

from kg.embedders import Embedder, make_embedder, make_second_embedder
from kg.query_embedders import close_embedder, serving_embedder
from kg.settings import Settings, get_settings
from search_api.audit import AuditLog, AuditMiddleware
from search_api.auth import check_access_settings
from search_api.coverage_routes import governance
from search_api.deps import CorpusRemover, IngestRunner, Runtime
from search_api.errors import error_responses, install_error_handlers
from search_api.http import document_conditional_reads, install_http
from search_api.limits import RateLimiter, enforce_limit
from search_api.metrics import Metrics, install_metrics
from search_api.openapi_extras import add_examples
from search_api.params import known_query_params
from search_api.routes import admin, probes, v1
from search_api.web import install_web
from search_api.web.routes import page_error

DESCRIPTION = """\
Bilingual (Japanese/English) search over content-moderation SOPs, with citations.

**Auth**: send an API key in `X-API-Key: <key>` or `Authorization: Bearer <key>`. Roles:
`reader` (search and read), `owner` (also governance data), `admin` (also ingest).
No key or an unknown key is 401, a role too low is 403.

**Errors** all take one envelope: `{"error": {"status", "code", "message", "fields"}}`;
`fields` names each offending input and why (422). Neo4j unreachable is 503 with
`Retry-After`.
"""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    runtime: Runtime = app.state.runtime
    await run_in_threadpool(runtime.warm_embedder)
    await run_in_threadpool(runtime.hold_vectors)
    try:
        yield
    finally:
        await run_in_threadpool(runtime.close)
        await run_in_threadpool(close_embedder, runtime.embedder)
        if runtime.second is not None:
            await run_in_threadpool(close_embedder, runtime.second)


def create_app(
    settings: Settings,
    ingest_runner: IngestRunner | None = None,
    *,
    embedder: Embedder | None = None,
    corpus_remover: CorpusRemover | None = None,
) -> FastAPI:
    """Raises ConfigError for settings that would serve unprotected (see auth)."""
    check_access_settings(settings)
    app = FastAPI(
        title="sopkg API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_tags=[
            {"name": "search", "description": "bilingual hybrid search"},
            {"name": "browse", "description": "documents, statements and topics"},
            {
                "name": "governance",
                "description": "coverage, owner dashboards, change feed, search feedback",
            },
            {"name": "admin", "description": "ingest, corpora and their removal (role admin)"},
            {"name": "probes", "description": "liveness and readiness, no key needed"},
        ],
    )
    metrics = Metrics()
    # Query embeddings go through the cache and the batching worker (kg/query_embedders).
    served = serving_embedder(
        settings, embedder or make_embedder(settings), metrics.observe_embedding
    )
    second = make_second_embedder(settings)
    served_second = serving_embedder(settings, second) if second is not None else None
    app.state.runtime = runtime = Runtime(
        settings, served, ingest_runner, second=served_second, resident=True,
        corpus_remover=corpus_remover,
    )  # fmt: skip
    runtime.read_observer = metrics.observe_read

    async def served_settings() -> Settings:  # async: no thread-pool hop (auth.principal)
        return settings

    app.dependency_overrides[get_settings] = served_settings
    install_error_handlers(app, page_error)  # a browser's error at a page address: a page
    per_minute = settings.effective_rate_limit()
    app.state.limiter = RateLimiter(per_minute) if per_minute else None
    limited: dict[str, Any] = {
        "dependencies": [Depends(enforce_limit), Depends(known_query_params)]
    }
    # Every API route may answer 422 for a query parameter it does not take (params.py).
    limited["responses"] = error_responses(422, 429) if per_minute else error_responses(422)
    app.include_router(v1, **limited)
    app.include_router(governance, **limited)
    if ingest_runner is not None:
        app.include_router(admin, **limited)
    app.include_router(probes)
    install_web(app)  # the web pages (/, /documents/..., /signin) and /static
    install_http(app)  # HEAD on every GET, ETag and 304 on reads, gzip
    install_metrics(app, runtime, metrics)  # /metrics, and the middleware timing requests
    _document_query_limit(app, settings.max_query_chars)
    app.add_middleware(AuditMiddleware, audit=AuditLog(settings.audit_log_path()))
    return app


def _document_query_limit(app: FastAPI, max_chars: int) -> None:
    """The query length limit is a setting: write it into the served OpenAPI schema."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()
        query = (
            schema.get("components", {})
            .get("schemas", {})
            .get("SearchRequest", {})
            .get("properties", {})
            .get("query")
        )
        if query is not None:
            query["maxLength"] = max_chars
        add_examples(schema)
        document_conditional_reads(schema)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
