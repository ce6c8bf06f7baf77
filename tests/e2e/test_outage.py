"""Neo4j going away and coming back: 503 with Retry-After meanwhile, recovery without a
restart. A loopback TCP forwarder stands between the API and the test Neo4j, and the
test stops and restarts it. Once a request has found Neo4j unreachable, the API answers
503 at once until its probe has reached the server again and warmed it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from kg.connection import Connection
from kg.embedders import Embedder
from search_api.app import create_app
from tests.e2e.conftest import READER, ApiServer, TcpForwarder, bolt_target, make_settings

pytestmark = pytest.mark.e2e

QUERY = {"query": "コピー品 出品"}
RECOVERY_S = 10.0


def search_until_answered(client: httpx.Client) -> httpx.Response:
    """Searches as a client honouring a short retry would, until answered or RECOVERY_S."""
    deadline = time.monotonic() + RECOVERY_S
    while True:
        r = client.post("/v1/search", json=QUERY, headers=READER)
        if r.status_code != 503 or time.monotonic() > deadline:
            return r
        time.sleep(0.2)


@pytest.fixture()
def forwarder(neo4j_connection: Connection) -> Iterator[TcpForwarder]:
    fwd = TcpForwarder(bolt_target(neo4j_connection))
    yield fwd
    fwd.stop()


def assert_unavailable(r: httpx.Response) -> None:
    assert r.status_code == 503, r.text
    assert int(r.headers["Retry-After"]) > 0
    err = r.json()["error"]
    assert (err["status"], err["code"]) == (503, "graph_unavailable")


def test_neo4j_down_is_503_and_the_api_recovers(
    mini_graph: dict[str, Any],
    neo4j_connection: Connection,
    forwarder: TcpForwarder,
    embedder: Embedder,
) -> None:
    settings = make_settings(neo4j_connection, neo4j_uri=f"bolt://127.0.0.1:{forwarder.port}")
    app = create_app(settings, embedder=embedder)
    # The API starts while Neo4j is away: alive, not ready, searches answered 503.
    with ApiServer(app) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        assert client.get("/healthz").status_code == 200
        r = client.get("/readyz")
        assert r.status_code == 503 and r.headers["Retry-After"]
        body = r.json()
        assert body["status"] == "not_ready" and body["checks"]["neo4j"]["ok"] is False
        assert_unavailable(client.post("/v1/search", json=QUERY, headers=READER))

        # Neo4j is back: the same process answers (and loads the glossary now).
        forwarder.start()
        r = search_until_answered(client)
        assert r.status_code == 200, r.text
        assert r.json()["results"][0]["unit"]["key"] == "mini-fakes#p1"
        assert r.json()["expansion"]["matched"]  # glossary loaded on first success
        assert client.get("/readyz").status_code == 200

        # Gone again, open connections cut: 503 on every graph route, liveness still 200.
        forwarder.stop()
        assert_unavailable(client.post("/v1/search", json=QUERY, headers=READER))
        assert_unavailable(client.get("/v1/documents/mini-fakes", headers=READER))
        assert client.get("/healthz").status_code == 200

        t = time.monotonic()
        assert_unavailable(client.post("/v1/search", json=QUERY, headers=READER))
        assert time.monotonic() - t < 0.5, "while reconnecting, a 503 comes at once"
        forwarder.start()
        r = search_until_answered(client)
        assert r.status_code == 200, r.text
        assert client.get("/v1/statements/mini-fakes.p1", headers=READER).status_code == 200
