"""`GET /metrics` scraped over HTTP after real searches (uvicorn, Neo4j, mini_corpus)."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import READER, READER_KEY

pytestmark = pytest.mark.e2e


def scrape(client: httpx.Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = client.get("/metrics", headers={"Authorization": f"Bearer {READER_KEY}"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_requests_embeddings_reads_and_cache(client: httpx.Client) -> None:
    before = scrape(client)
    query = {"query": "コピー品 出品"}
    # The second search's query embedding comes from the cache; it asks for fewer results,
    # so it is a search of its own, not the first one's outcome (search_api.result_cache).
    for body in (query, {**query, "limit": 5}):
        assert client.post("/v1/search", json=body, headers=READER).status_code == 200
    assert client.get("/v1/documents/no-such-doc", headers=READER).status_code == 404
    assert client.get("/no/such/route", headers=READER).status_code == 404
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/static/no-such-file.css").status_code == 404
    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    search = {"method": "POST", "route": "/v1/search", "status": "200"}
    assert grew("sopkg_http_requests_total", **search) == 2
    assert grew("sopkg_http_request_duration_seconds_count", **search) == 2
    assert grew("sopkg_http_request_duration_seconds_sum", **search) > 0
    # Routes are labelled by template, unknown paths all as "unmatched".
    doc = {"method": "GET", "route": "/v1/documents/{doc_id}", "status": "404"}
    assert grew("sopkg_http_requests_total", **doc) == 1
    assert grew("sopkg_http_requests_total", method="GET", route="unmatched", status="404") == 1
    # Routes that are no API routes by their template too: the schema, the static files.
    assert grew("sopkg_http_requests_total", method="GET", route="/openapi.json", status="200") == 1
    assert grew("sopkg_http_requests_total", method="GET", route="/static", status="404") == 1
    # The first scrape is counted by the time of the second.
    assert grew("sopkg_http_requests_total", method="GET", route="/metrics", status="200") == 1

    assert grew("sopkg_query_cache_hits_total") >= 1
    assert grew("sopkg_query_cache_misses_total") >= 1
    assert value(after, "sopkg_query_cache_capacity") > 0
    assert grew("sopkg_query_embedding_seconds_count") >= 1  # the miss reached the model
    assert grew("sopkg_query_embedding_texts_total") >= 1
    # Dense reads go to Neo4j's vector index only until the server holds the vectors in
    # memory (kg.resident): fulltext and card reads go to Neo4j in every search.
    assert grew("sopkg_neo4j_query_seconds_count", query="FULLTEXT_SEARCH") >= 2
    assert grew("sopkg_neo4j_query_seconds_count", query="PASSAGE_CARDS") >= 2
    for name in ("written", "failed", "dropped", "trimmed"):
        assert ("sopkg_query_log_" + name + "_total", ()) in after
    for name in ("builds", "shared"):
        assert ("sopkg_coverage_report_" + name + "_total", ()) in after
    assert value(after, "process_resident_memory_bytes") > 10 * 2**20


def test_metrics_need_a_key(client: httpx.Client) -> None:
    r = client.get("/metrics")
    assert r.status_code == 401, r.text
