"""`GET /metrics` in the Prometheus text format, and the middleware that feeds it.

One registry per app (several apps in one process, as in the tests, never share counts):

- `sopkg_http_requests_total` and `sopkg_http_request_duration_seconds` by method, route
  (the route's path template, so ids in URLs do not make new series) and status;
- `sopkg_query_embedding_seconds`: each model call for query embeddings, and
  `sopkg_query_embedding_texts_total`, the texts those calls embedded;
- `sopkg_neo4j_query_seconds` by read query (the name of its constant in kg.read_queries);
- `sopkg_query_cache_{hits,misses}_total`, `_entries`, `_capacity`: the query-embedding
  cache (absent when it is off);
- `sopkg_result_cache_{hits,shared,misses,cleared}_total`, `_entries`, `_capacity`: whole
  search outcomes kept for the corpus state (search_api.result_cache; absent when off);
- `sopkg_query_log_{written,failed,dropped,trimmed}_total`: the background query log;
- `sopkg_resident_passages`, `sopkg_resident_vector_bytes`: the passage vectors dense search
  holds in memory (kg.resident; 0 while it asks Neo4j's indexes);
- `sopkg_coverage_report_{builds,shared}_total`: coverage reports built, and requests that
  got one built for another request (search_api.shared_build);
- `process_*` (resident memory, CPU seconds, open files) from prometheus_client.

The route needs an API key like the rest of the API (role reader; Prometheus sends it with
`authorization: {type: Bearer, credentials: ...}` in the scrape config).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from starlette.routing import Match, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kg import read_queries
from kg.query_embedders import cache_stats
from search_api.auth import Principal, require
from search_api.deps import Runtime
from search_api.errors import error_responses

# Searches take tens to hundreds of milliseconds; model calls and reads a few to tens.
_REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_FAST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
_QUERY_NAMES = {
    text: name
    for name, text in vars(read_queries).items()
    if name.isupper() and isinstance(text, str)
}


class _RuntimeCollector(Collector):
    """Counts the runtime keeps itself, read at scrape time."""

    def __init__(self, runtime: Callable[[], Runtime | None]) -> None:
        self._runtime = runtime

    def collect(self) -> Iterator[Metric]:
        runtime = self._runtime()
        if runtime is None:
            return
        stats = cache_stats(runtime.embedder)
        if stats is not None:
            yield CounterMetricFamily(
                "sopkg_query_cache_hits", "query texts answered by the embedding cache",
                value=stats.hits,
            )  # fmt: skip
            yield CounterMetricFamily(
                "sopkg_query_cache_misses", "query texts the model had to embed",
                value=stats.misses,
            )  # fmt: skip
            yield GaugeMetricFamily(
                "sopkg_query_cache_entries", "query embeddings held", value=stats.size
            )
            yield GaugeMetricFamily(
                "sopkg_query_cache_capacity", "SOPKG_QUERY_CACHE_SIZE", value=stats.capacity
            )
        if runtime.results is not None:
            found = runtime.results.stats()
            for name, value, what in (
                ("hits", found.hits, "searches answered by an outcome kept from before"),
                ("shared", found.shared, "searches that waited for an identical one in flight"),
                ("misses", found.misses, "searches that ran"),
                ("cleared", found.cleared, "times the corpus state changed and the kept "
                 "outcomes were dropped"),
            ):  # fmt: skip
                yield CounterMetricFamily(f"sopkg_result_cache_{name}", what, value=value)
            yield GaugeMetricFamily(
                "sopkg_result_cache_entries", "search outcomes held", value=found.size
            )
            yield GaugeMetricFamily(
                "sopkg_result_cache_capacity", "SOPKG_RESULT_CACHE_SIZE", value=found.capacity
            )
        passages, nbytes = runtime.resident.held()
        yield GaugeMetricFamily(
            "sopkg_resident_passages", "passages whose vectors dense search holds in memory",
            value=passages,
        )  # fmt: skip
        yield GaugeMetricFamily(
            "sopkg_resident_vector_bytes",
            "bytes of those vectors (and their first-pass projections)",
            value=nbytes,
        )
        reports = runtime.coverage_reports
        yield CounterMetricFamily(
            "sopkg_coverage_report_builds", "coverage reports built", value=reports.builds
        )
        yield CounterMetricFamily(
            "sopkg_coverage_report_shared", "coverage report requests answered by a report "
            "being built or just built for another request", value=reports.shared,
        )  # fmt: skip
        for name, value in runtime.query_log.stats().items():
            if name == "max":
                continue
            yield CounterMetricFamily(
                f"sopkg_query_log_{name}", f"query log entries {name}", value=value
            )


class Metrics:
    """The app's metrics; `observe_*` are the hooks the runtime and middleware call."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        # The process's memory, CPU and open files (process_resident_memory_bytes, ...):
        # what an operator watches for growth under load (docs/operations.md).
        ProcessCollector(registry=self.registry)
        self._runtime: Runtime | None = None
        labels = ("method", "route", "status")
        self.requests = Counter(
            "sopkg_http_requests", "HTTP requests answered", labels, registry=self.registry
        )
        self.latency = Histogram(
            "sopkg_http_request_duration_seconds", "time to answer an HTTP request",
            labels, buckets=_REQUEST_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.embedding = Histogram(
            "sopkg_query_embedding_seconds", "one model call for query embeddings",
            buckets=_FAST_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.embedded = Counter(
            "sopkg_query_embedding_texts", "query texts embedded by the model",
            registry=self.registry,
        )  # fmt: skip
        self.neo4j = Histogram(
            "sopkg_neo4j_query_seconds", "one Neo4j read query, by its name in kg.read_queries",
            ("query",), buckets=_FAST_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.registry.register(_RuntimeCollector(lambda: self._runtime))

    def watch(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route, str(status)).observe(seconds)

    def observe_embedding(self, seconds: float, texts: int) -> None:
        self.embedding.observe(seconds)
        self.embedded.inc(texts)

    def observe_read(self, cypher: str, seconds: float) -> None:
        self.neo4j.labels(_QUERY_NAMES.get(cypher, "other")).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Times every HTTP request and counts it by route template and status."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the server sends when the app fails before answering

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        asked = dict(scope)  # as it came: routing rewrites the scope of a mounted app
        t = time.perf_counter()
        try:
            await self.app(scope, receive, send_status)
        finally:
            # The router writes the matched API route into the scope; the plain routes
            # (the OpenAPI schema, its pages, the static files) are found by template; other
            # paths share one label so that scanners cannot create series.
            route = getattr(scope.get("route"), "path", None) or _plain_route(asked)
            self.metrics.observe_request(scope["method"], route, status, time.perf_counter() - t)


def _plain_route(scope: Scope) -> str:
    """The template of the route that is no API route (`/openapi.json`, `/docs`, `/static`)
    and matches the request, else "unmatched"."""
    app = scope.get("app")
    for route in getattr(getattr(app, "router", None), "routes", ()):
        if isinstance(route, Route | Mount) and route.matches(scope)[0] is Match.FULL:
            return route.path
    return "unmatched"


metrics_routes = APIRouter(tags=["probes"])


@metrics_routes.get(
    "/metrics",
    summary="Service metrics in the Prometheus text format",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "metrics"},
        **error_responses(401, 403),
    },
)
def metrics(request: Request, who: Annotated[Principal, require("reader")]) -> Response:
    registry: Metrics = request.app.state.metrics
    return Response(registry.render(), media_type=CONTENT_TYPE_LATEST)


def install_metrics(app: Any, runtime: Runtime, metrics: Metrics) -> None:
    metrics.watch(runtime)
    app.state.metrics = metrics
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.include_router(metrics_routes)
