"""Rewrite search_api/openapi_examples.json from real answers of the API on the test
corpus (the local `test` Neo4j instance, wiped and loaded with tests/data/mini_corpus),
lists cut to their first items; examples of other bodies, written by hand, are kept.
Run after a response model changes:

    python -m tests.e2e.refresh_openapi_examples
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from ingest.pipeline import ingest_corpus
from kg.connection import local_connection
from kg.embedders import make_embedder, make_second_embedder
from kg.local_neo4j import LocalNeo4j
from kg.settings import Settings
from search_api.app import create_app
from search_api.openapi_extras import EXAMPLES_FILE
from tests.e2e.conftest import ADMIN_KEY, MINI, make_settings


def _trim(x: Any, depth: int = 0) -> Any:
    if isinstance(x, list):
        short = all(isinstance(i, str) for i in x) and len(x) <= 12
        return [_trim(i, depth + 1) for i in (x if short else x[: 1 if depth else 2])]
    if isinstance(x, dict):
        return {k: _trim(v, depth + 1) for k, v in x.items()}
    return x


def main() -> None:
    base = Settings(_env_file=None)  # type: ignore[call-arg]
    server = LocalNeo4j(base, "test", heap="1g", pagecache="512m")
    server.start()
    conn = local_connection(server)
    embedder = make_embedder(base)
    second = make_second_embedder(base)
    with conn.driver() as driver:
        with driver.session(database=conn.database) as session:
            session.run(
                "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS"
            ).consume()
        ingest_corpus(MINI, driver, conn.database, embedder, second=second)

    def runner(root: Path) -> dict[str, Any]:
        with conn.driver() as driver:
            return ingest_corpus(root, driver, conn.database, embedder, second=second).as_json()

    app = create_app(make_settings(conn), ingest_runner=runner, embedder=embedder)
    key = {"X-API-Key": ADMIN_KEY}
    out: dict[str, Any] = {}
    with TestClient(app) as c:
        search = c.post("/v1/search", json={"query": "コピー品 出品", "limit": 1}, headers=key)
        out["SearchResponse"] = search.json()
        for name, url in [
            ("TopicsResponse", "/v1/topics"),
            ("CorporaResponse", "/v1/corpora"),
            ("DocumentResponse", "/v1/documents/mini-fakes"),
            ("StatementResponse", "/v1/statements/mini-fakes.p1"),
            ("CoverageResponse", "/v1/coverage"),
            ("OwnerDashboardResponse", "/v1/owners/IPR Team/dashboard"),
            ("ChangesResponse", "/v1/changes?since=2025-01-01"),
            ("HealthResponse", "/healthz"),
            ("ReadyResponse", "/readyz"),
        ]:
            out[name] = c.get(url, headers=key).json()
        feedback = {"query_id": out["SearchResponse"]["query_id"], "answered": False}
        out["FeedbackResponse"] = c.post("/v1/feedback", json=feedback, headers=key).json()
        out["IngestResponse"] = c.post("/v1/ingest", json={"corpus": str(MINI)}, headers=key).json()
    # Examples this script cannot produce (a body no request here answers, such as an
    # acknowledged finding) were written by hand: they stay.
    kept = json.loads(EXAMPLES_FILE.read_text(encoding="utf-8")) if EXAMPLES_FILE.exists() else {}
    text = json.dumps(kept | _trim(out), ensure_ascii=False, indent=2).replace(
        str(MINI), "/srv/sop/corpus"
    )
    EXAMPLES_FILE.write_text(text + "\n", encoding="utf-8")
    print(f"written {EXAMPLES_FILE}")


if __name__ == "__main__":
    main()
