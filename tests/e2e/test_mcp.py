"""The MCP server (`sopkg mcp`) driven by the official MCP Python SDK's client: over
stdio (a real subprocess) and over streamable HTTP behind the API keys, against the Neo4j
test instance with tests/data/mini_corpus. Each tool answers what the API answers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from kg.connection import Connection
from tests.e2e.conftest import OWNER, OWNER_KEY, READER, READER_KEY, TODAY, neo4j_env

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
JA_QUERY = "コピー品 出品"


def _env(conn: Connection, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", ""),
        "PYTHONPATH": str(ROOT),
        **neo4j_env(conn),
        "SOPKG_TODAY": TODAY.isoformat(),
        "SOPKG_API_KEYS": json.dumps({READER_KEY: "reader", OWNER_KEY: "owner"}),
        **extra,
    }


def _cards(results: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(r["unit"]["key"], r["lang"], r["citation"]["ticket_line"]) for r in results]


async def _session_calls(
    params: StdioServerParameters, calls: list[tuple[str, dict[str, Any]]]
) -> tuple[list[str], list[Any]]:
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = [t.name for t in (await session.list_tools()).tools]
        results = [await session.call_tool(name, args) for name, args in calls]
    return tools, results


def test_stdio_tools_answer_what_the_api_answers(
    client: httpx.Client, neo4j_connection: Connection
) -> None:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "sopkg.cli", "mcp"], env=_env(neo4j_connection),
        cwd=str(ROOT),
    )  # fmt: skip
    calls = [
        ("search_sops", {"query": JA_QUERY, "market": "JP", "limit": 3}),
        (
            "search_sops",
            {"query": "bank transfer on LINE", "language": "en", "as_of": "2026-05-01"},
        ),
        ("get_document", {"doc_id": "mini-fakes"}),
        ("get_statement", {"statement_id": "mini-fakes.p1"}),
        ("coverage_findings", {"kinds": ["stale", "missing-translation"]}),
        ("search_sops", {"query": JA_QUERY, "topic": "nope"}),
        ("get_document", {"doc_id": "nope"}),
        ("coverage_findings", {"kinds": ["nonsense"]}),
    ]
    tools, out = anyio.run(_session_calls, params, calls)
    assert tools == ["search_sops", "get_document", "get_statement", "coverage_findings"]
    search_ja, search_en, doc, statement, findings, bad_topic, no_doc, bad_kind = out

    api = client.post("/v1/search", json={"query": JA_QUERY, "market": "JP", "limit": 3},
                      headers=READER).json()  # fmt: skip
    assert not search_ja.is_error
    assert _cards(search_ja.structured_content["results"]) == _cards(api["results"])
    assert search_ja.structured_content["results"][0]["unit"]["key"] == "mini-fakes#p1"
    api_en = client.post("/v1/search", headers=READER, json={
        "query": "bank transfer on LINE", "language": "en", "as_of": "2026-05-01"}).json()  # fmt: skip
    assert _cards(search_en.structured_content["results"]) == _cards(api_en["results"])

    assert doc.structured_content == client.get("/v1/documents/mini-fakes", headers=READER).json()
    api_st = client.get("/v1/statements/mini-fakes.p1", headers=READER).json()
    assert statement.structured_content == api_st

    api_cov = client.get("/v1/coverage?kind=stale&kind=missing-translation", headers=OWNER)
    assert findings.structured_content["findings"] == api_cov.json()["findings"]
    assert {f["kind"] for f in findings.structured_content["findings"]} <= {
        "stale", "missing-translation"}  # fmt: skip

    assert bad_topic.is_error and "invalid_input: topic" in bad_topic.content[0].text
    assert no_doc.is_error and "not_found" in no_doc.content[0].text
    assert bad_kind.is_error and "kinds: unknown nonsense" in bad_kind.content[0].text


def test_stdio_with_a_reader_key_may_not_read_coverage(neo4j_connection: Connection) -> None:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "sopkg.cli", "mcp", "--key", READER_KEY],
        env=_env(neo4j_connection), cwd=str(ROOT),
    )  # fmt: skip
    calls = [("coverage_findings", {}), ("get_statement", {"statement_id": "mini-fakes.p1"})]
    _, (coverage, statement) = anyio.run(_session_calls, params, calls)
    assert coverage.is_error and "forbidden: this needs the owner role" in coverage.content[0].text
    assert not statement.is_error


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture()
def mcp_http(mini_graph: dict[str, Any], neo4j_connection: Connection) -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sopkg.cli", "mcp", "--http", "--port", str(port)],
        env=_env(neo4j_connection), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                httpx.post(url, json={}, timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "sopkg mcp --http did not start"
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.communicate(timeout=30)  # also closes the pipe


async def _http_calls(url: str, key: str, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    async with (
        httpx2.AsyncClient(headers={"X-API-Key": key}, timeout=120) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        return [await session.call_tool(name, args) for name, args in calls]


def test_streamable_http_behind_the_api_keys(mcp_http: str) -> None:
    anonymous = httpx.post(mcp_http, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthorized"
    wrong = httpx.post(mcp_http, json={}, headers={"X-API-Key": "not-a-key"})
    assert wrong.status_code == 401

    calls = [("search_sops", {"query": JA_QUERY}), ("coverage_findings", {})]
    search, coverage = anyio.run(_http_calls, mcp_http, READER_KEY, calls)
    assert search.structured_content["results"][0]["unit"]["key"] == "mini-fakes#p1"
    assert coverage.is_error and "owner role" in coverage.content[0].text
    (coverage,) = anyio.run(_http_calls, mcp_http, OWNER_KEY, [("coverage_findings", {})])
    assert not coverage.is_error and coverage.structured_content["findings"]
