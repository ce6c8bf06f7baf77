"""Open mode over HTTP: no key needed from this machine's tools and pages, but a page of
another site that reaches 127.0.0.1 through the browser (DNS rebinding, or a write sent
straight to it) is refused, since every open-mode caller is an admin."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from kg.connection import Connection
from kg.embedders import Embedder
from search_api.app import create_app
from tests.e2e.conftest import ApiServer, make_settings

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def open_url(
    mini_graph: dict[str, Any], neo4j_connection: Connection, embedder: Embedder
) -> Iterator[str]:
    settings = make_settings(neo4j_connection, open_mode=True, api_keys={})
    with ApiServer(create_app(settings, embedder=embedder)) as server:
        yield server.url


@pytest.fixture()
def client(open_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=open_url, timeout=60) as c:
        yield c


def test_tools_on_this_machine_need_no_key(client: httpx.Client, open_url: str) -> None:
    port = open_url.rsplit(":", 1)[1]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"):
        assert client.get("/v1/corpora", headers={"Host": host}).status_code == 200, host
    search = {"query": "counterfeit", "limit": 3}
    assert client.post("/v1/search", json=search).status_code == 200  # no Origin: a tool
    same_site = {"Origin": open_url}
    assert client.post("/v1/search", json=search, headers=same_site).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        pytest.param("GET", "/v1/corpora", {"Host": "attacker.example"}, id="rebound-read"),
        pytest.param("GET", "/v1/coverage", {"Host": "attacker.example:8000"}, id="rebound-port"),
        pytest.param("POST", "/v1/search", {"Host": "10.0.0.5"}, id="rebound-address"),
        pytest.param("POST", "/v1/search", {"Origin": "http://attacker.example"}, id="cross-site"),
        pytest.param("POST", "/v1/feedback", {"Origin": "null"}, id="cross-site-opaque"),
    ],
)
def test_pages_of_other_sites_are_refused(
    client: httpx.Client, method: str, path: str, headers: dict[str, str]
) -> None:
    r = client.request(method, path, headers=headers, json={"query": "counterfeit"})
    assert r.status_code == 403, r.text
    assert "open mode" in r.json()["error"]["message"]
