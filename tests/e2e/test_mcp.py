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
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from kg.connection import Connection
from kg.settings import get_settings, legacy_key_name
from sopkg.cli import main
from tests.e2e.conftest import (
    ADMIN_KEY,
    OWNER,
    OWNER_KEY,
    READER,
    READER_KEY,
    TODAY,
    neo4j_env,
)

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
    calls: list[tuple[str, dict[str, Any]]] = [
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
        ("search_sops", {"query": JA_QUERY, "asof": "2026-05-01"}),
        ("search_sops", {"query": JA_QUERY, "as_of": "20260501"}),
        ("search_sops", {"query": JA_QUERY, "limit": "many"}),
    ]
    tools, out = anyio.run(_session_calls, params, calls)
    assert tools == ["search_sops", "get_document", "get_statement", "coverage_findings"]
    search_ja, search_en, doc, statement, findings, bad_topic, no_doc, bad_kind = out[:8]
    misspelt, basic_date, wordy_limit = out[8:]

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

    # An argument the tool does not take is named, not dropped (a misspelt as_of would
    # otherwise search today); values are refused as the API refuses them, in its words.
    assert misspelt.is_error
    assert misspelt.content[0].text.startswith("invalid_input: asof: unknown argument")
    api_date = client.post("/v1/search", headers=READER,
                           json={"query": JA_QUERY, "as_of": "20260501"})  # fmt: skip
    assert api_date.status_code == 422
    assert basic_date.is_error
    assert basic_date.content[0].text == f"invalid_input: {api_date.json()['error']['message']}"
    assert wordy_limit.is_error
    assert wordy_limit.content[0].text.startswith("invalid_input: limit: ")
    assert "validation error" not in wordy_limit.content[0].text  # not pydantic's report


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


@contextmanager
def _mcp_http_server(env: dict[str, str], *extra: str) -> Iterator[str]:
    """`sopkg mcp --http` on a free port, until the block ends; yields its URL."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sopkg.cli", "mcp", "--http", "--port", str(port), *extra],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:  # a connection, not a request: a request would be in the audit log
                socket.create_connection(("127.0.0.1", port), timeout=5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "sopkg mcp --http did not start"
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.communicate(timeout=30)  # also closes the pipe


RATE_LIMIT = 20  # a minute, per key: more than one session's requests, fewer than a burst


@pytest.fixture()
def mcp_http(
    mini_graph: dict[str, Any], neo4j_connection: Connection, tmp_path: Path
) -> Iterator[tuple[str, Path]]:
    """A keyed MCP endpoint with a rate limit and its own audit log."""
    audit = tmp_path / "audit.log"
    keys = json.dumps({READER_KEY: "reader", OWNER_KEY: "owner", ADMIN_KEY: "admin"})
    env = _env(neo4j_connection, SOPKG_API_KEYS=keys, SOPKG_AUDIT_LOG=str(audit),
               SOPKG_RATE_LIMIT_PER_MINUTE=str(RATE_LIMIT))  # fmt: skip
    with _mcp_http_server(env) as url:
        yield url, audit


def _audit_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


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


def test_streamable_http_behind_the_api_keys(mcp_http: tuple[str, Path]) -> None:
    url, audit = mcp_http
    anonymous = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthorized"
    wrong = httpx.post(url, json={}, headers={"X-API-Key": "not-a-key"})
    assert wrong.status_code == 401

    calls = [("search_sops", {"query": JA_QUERY}), ("coverage_findings", {})]
    search, coverage = anyio.run(_http_calls, url, READER_KEY, calls)
    assert search.structured_content["results"][0]["unit"]["key"] == "mini-fakes#p1"
    assert coverage.is_error and "owner role" in coverage.content[0].text
    owner_calls: list[tuple[str, dict[str, Any]]] = [("coverage_findings", {})]
    (coverage,) = anyio.run(_http_calls, url, OWNER_KEY, owner_calls)
    assert not coverage.is_error and coverage.structured_content["findings"]

    # Every refusal is in the audit log as the API's are, the role refusal with its tool.
    lines = _audit_lines(audit)
    refused = [(e["status"], e["reason"], e["key_name"], e.get("tool")) for e in lines]
    assert refused == [
        (401, "no key", None, None),
        (401, "unknown key", None, None),
        (403, "role reader below owner", legacy_key_name(READER_KEY), "coverage_findings"),
    ]
    assert all(e["path"] == "/mcp" and e["outcome"] == "refused" for e in lines)


def test_streamable_http_keeps_the_rate_limit(mcp_http: tuple[str, Path]) -> None:
    url, _ = mcp_http
    statuses = []
    for _ in range(RATE_LIMIT + 5):
        r = httpx.post(url, json={}, headers={"X-API-Key": ADMIN_KEY})
        statuses.append(r.status_code)
    assert 429 in statuses and statuses.index(429) >= RATE_LIMIT - 1
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert r.json()["error"]["code"] == "too_many_requests"
    # Another key has its own bucket.
    assert httpx.post(url, json={}, headers={"X-API-Key": OWNER_KEY}).status_code != 429


def test_streamable_http_open_mode_refuses_foreign_pages(
    mini_graph: dict[str, Any], neo4j_connection: Connection, tmp_path: Path
) -> None:
    audit = tmp_path / "audit.log"
    env = _env(neo4j_connection, SOPKG_AUDIT_LOG=str(audit))
    env.pop("SOPKG_API_KEYS")
    with _mcp_http_server(env, "--open") as url:
        # DNS rebinding: a page elsewhere reaching 127.0.0.1 by its own name.
        rebound = httpx.post(url, json={}, headers={"Host": "sopkg.attacker.example"})
        cross_site = httpx.post(url, json={}, headers={"Origin": "https://attacker.example"})
        calls: list[tuple[str, dict[str, Any]]] = [("search_sops", {"query": JA_QUERY})]
        (search,) = anyio.run(_http_calls, url, "", calls)
    assert rebound.status_code == 403 and rebound.json()["error"]["code"] == "forbidden"
    assert cross_site.status_code == 403
    assert search.structured_content["results"][0]["unit"]["key"] == "mini-fakes#p1"
    reasons = [e["reason"] for e in _audit_lines(audit)]
    assert reasons == ["open mode: not a loopback Host", "open mode: cross-site request"]


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["mcp", "--http", "--key", READER_KEY], {}, "--key: is for stdio"),
        (["mcp", "--open"], {}, "--open: is for --http"),
        (["mcp", "--port", "8765"], {}, "--port: is for --http"),
        # Open mode opens HTTP to loopback callers; it does not make any stdio key valid.
        (["mcp", "--key", "not-a-key"], {"SOPKG_OPEN_MODE": "true"}, "--key: not a key"),
        (["mcp", "--key", "not-a-key"], {}, "--key: not a key"),
    ],
)
def test_mcp_command_line_errors(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    env: dict[str, str],
    message: str,
) -> None:
    monkeypatch.setenv("SOPKG_API_KEYS", json.dumps({READER_KEY: "reader"}))
    monkeypatch.delenv("SOPKG_OPEN_MODE", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    try:
        assert main(argv) == 2
    finally:
        get_settings.cache_clear()
    assert f"sopkg: error: {message}" in capsys.readouterr().err
