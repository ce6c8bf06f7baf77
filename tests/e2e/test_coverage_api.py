"""Coverage and governance over HTTP (and `sopkg coverage` / `sopkg changes`), against the
Neo4j test instance with tests/data/mini_corpus ingested: roles, the owner dashboard, the
change feed, search feedback, and a query log that is bounded and never holds the key."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from neo4j import Driver

from kg.connection import Connection
from kg.embedders import Embedder
from kg.settings import get_settings
from search_api.app import create_app
from search_api.deps import Runtime
from sopkg.cli import main
from tests.conftest import count
from tests.e2e.conftest import (
    ADMIN,
    ADMIN_KEY,
    MINI,
    OWNER,
    OWNER_KEY,
    READER,
    READER_KEY,
    TODAY,
    ApiServer,
    make_settings,
    neo4j_env,
)

pytestmark = pytest.mark.e2e

LOG_MAX = 3


@pytest.fixture(scope="module")
def server(
    mini_graph: dict[str, Any],
    neo4j_connection: Connection,
    ingest_runner: Any,
    embedder: Embedder,
) -> Iterator[tuple[str, Runtime]]:
    settings = make_settings(neo4j_connection, query_log_max=LOG_MAX)
    app = create_app(settings, ingest_runner=ingest_runner, embedder=embedder)
    with ApiServer(app) as api:
        yield api.url, app.state.runtime


@pytest.fixture()
def client(server: tuple[str, Runtime]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server[0], timeout=120) as c:
        yield c


def _search(client: httpx.Client, query: str, headers: dict[str, str] = READER) -> Any:
    r = client.post("/v1/search", json={"query": query, "limit": 3}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


# --- coverage and roles -------------------------------------------------------------------
def test_owner_gets_the_coverage_report(client: httpx.Client) -> None:
    r = client.get("/v1/coverage", headers=OWNER)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["today"] == TODAY.isoformat()
    rows = {(f["kind"], f["doc"], f["lang"], f["item"]) for f in body["findings"]}
    assert ("missing-translation", "mini-offplatform", "ja", "-") in rows
    assert ("topic-without-document", "ipr/trademark", "-", "-") in rows
    assert ("dangling-link", "mini-offplatform", "en", "x1") in rows
    assert body["counts"]["missing-translation"] == 1
    matrix = {m["path"]: m for m in body["matrix"]}
    assert matrix["sellers/off-platform"]["state"] == "covered"  # a document for ALL
    assert matrix["ipr/counterfeit"]["markets"]["JP"] == ["mini-fakes"]
    assert matrix["ipr/counterfeit"]["markets"]["TH"] == []
    assert body["query_log"]["max"] == LOG_MAX


def test_coverage_filters_by_kind(client: httpx.Client) -> None:
    r = client.get("/v1/coverage", params={"kind": ["missing-translation"]}, headers={**ADMIN})
    assert r.status_code == 200
    assert {f["kind"] for f in r.json()["findings"]} == {"missing-translation"}
    bad = client.get("/v1/coverage", params={"kind": "nonsense"}, headers=OWNER)
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "kind.0"


def test_coverage_filters_by_owner_as_the_dashboard_names_them(client: httpx.Client) -> None:
    exact = client.get("/v1/coverage", params={"owner": "IPR Team"}, headers=OWNER).json()
    assert exact["findings"] and {f["owner"] for f in exact["findings"]} == {"IPR Team"}
    # Case and spacing forgiven, as on the owner's dashboard.
    loose = client.get("/v1/coverage", params={"owner": " ipr  team"}, headers=OWNER).json()
    assert loose["findings"] == exact["findings"]
    # An owner no document has is refused, not answered with an empty list.
    # The findings page says the same, as a page (it said the graph was unreachable).
    page = client.get("/findings", params={"owner": "Nobody"}, headers=OWNER)
    assert page.status_code == 422 and "text/html" in page.headers["content-type"]
    assert "Nobody" in page.text and "not reachable" not in page.text
    for path, params in (("/v1/coverage", {}), ("/v1/changes", {"since": "2026-01-01"})):
        r = client.get(path, params={**params, "owner": "Nobody"}, headers=OWNER)
        assert r.status_code == 422, (path, r.text)
        assert r.json()["error"]["fields"][0]["field"] == "owner"
    # So is a document the graph does not have.
    r = client.get("/v1/changes", params={"since": "2026-01-01", "doc_id": "nope"}, headers=OWNER)
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "doc_id"
    known = {"since": "2026-01-01", "doc_id": "mini-fakes"}
    assert client.get("/v1/changes", params=known, headers=OWNER).status_code == 200


@pytest.mark.parametrize(
    ("path", "params", "says"),
    [
        ("/findings", {"kind": "nosuch"}, "unknown finding kind &#39;nosuch&#39;"),
        ("/changes", {"since": "garbage"}, "must be a date YYYY-MM-DD"),
        ("/changes", {"since": "20260101"}, "must be a date YYYY-MM-DD"),
        ("/changes", {"since": "2026-02-30"}, "no such day"),
    ],
)
def test_a_page_refuses_a_filter_it_cannot_apply(
    client: httpx.Client, path: str, params: dict[str, str], says: str
) -> None:
    # A stale or mistyped link: said on the page, not every row shown as if filtered.
    page = client.get(path, params=params, headers=OWNER)
    assert page.status_code == 422 and "text/html" in page.headers["content-type"]
    assert says in page.text
    assert client.get(path, headers=OWNER).status_code == 200


@pytest.mark.parametrize("path", ["/v1/coverage", "/v1/owners/IPR%20Team/dashboard"])
def test_governance_needs_the_owner_role(client: httpx.Client, path: str) -> None:
    r = client.get(path, headers=READER)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"
    assert client.get(path).status_code == 401


def test_owner_dashboard(client: httpx.Client) -> None:
    r = client.get("/v1/owners/IPR%20Team/dashboard", headers=OWNER)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["owner"] == "IPR Team"
    assert [d["id"] for d in body["documents"]] == ["mini-fakes"]
    assert body["topics"] == ["ipr/counterfeit"]
    assert {f["doc"] for f in body["findings"]} == {"mini-fakes"}
    assert body["stale"] == [] and body["due_soon"] == []
    missing = client.get("/v1/owners/Nobody/dashboard", headers=OWNER)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


# --- search log and feedback --------------------------------------------------------------
def test_feedback_marks_a_search_unanswered(
    client: httpx.Client, server: tuple[str, Runtime]
) -> None:
    body = _search(client, "what about counterfeit perfume samples")
    query_id = body["query_id"]
    assert query_id
    r = client.post("/v1/feedback", json={"query_id": query_id, "answered": False},
                    headers=READER)  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json() == {"query_id": query_id, "answered": False}
    server[1].query_log.flush()
    demand = client.get("/v1/coverage", headers=OWNER).json()["demand"]
    assert demand["unanswered"] >= 1
    groups = {g["label"]: g for g in demand["by_wording"]}
    assert groups["what about counterfeit perfume samples"]["feedback_no"] == 1
    assert any(g["label"] == "ipr/counterfeit" for g in demand["by_topic"])
    dash = client.get("/v1/owners/IPR%20Team/dashboard", headers=OWNER).json()
    assert dash["demand"]["unanswered"] >= 1  # the question falls in the owner's topic


def test_feedback_errors(client: httpx.Client) -> None:
    unknown = client.post("/v1/feedback", json={"query_id": "0" * 32, "answered": True},
                          headers=READER)  # fmt: skip
    assert unknown.status_code == 404
    bad = client.post("/v1/feedback", json={"query_id": "x", "answered": "maybe"},
                      headers=READER)  # fmt: skip
    assert bad.status_code == 422
    assert client.post("/v1/feedback", json={"query_id": "x", "answered": True}).status_code == 401


def test_query_log_is_bounded_and_holds_no_key(
    client: httpx.Client, server: tuple[str, Runtime], neo4j_driver: Driver,
    neo4j_connection: Connection,
) -> None:  # fmt: skip
    for i, headers in enumerate([READER, OWNER, ADMIN, READER, READER]):
        _search(client, f"replica handbags {i}", headers)
    runtime = server[1]
    runtime.query_log.flush()
    db = neo4j_connection.database
    assert count(neo4j_driver, "MATCH (q:QueryLog) RETURN count(q)", db) == LOG_MAX
    records, _, _ = neo4j_driver.execute_query(
        "MATCH (q:QueryLog) RETURN properties(q) AS p ORDER BY q.at", database_=db
    )
    entries = [r["p"] for r in records]
    dump = json.dumps(entries, default=str)
    for key in (READER_KEY, OWNER_KEY, ADMIN_KEY):
        assert key not in dump
    newest = entries[-1]
    assert newest["query"] == "replica handbags 4" and newest["role"] == "reader"
    assert newest["query_lang"] == "en" and newest["mode"] == "hybrid"
    assert newest["result_ids"] and len(newest["top_scores"]) <= 3
    stats = runtime.query_log.stats()
    assert stats["failed"] == 0 and stats["trimmed"] >= 1


# --- change feed ---------------------------------------------------------------------------
def test_change_feed_over_http_and_cli(
    client: httpx.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    neo4j_connection: Connection, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    corpus = tmp_path / MINI.name  # same folder name: same corpus in the graph
    shutil.copytree(MINI, corpus)
    en = corpus / "fakes.en.md"
    text = en.read_text(encoding="utf-8")
    text = text.replace('version: "1.0"', 'version: "1.1"').replace(
        "effective: 2026-01-01", "effective: 2026-05-01"
    )
    text = text.replace("below 30% of retail", "below 40% of retail")
    en.write_text(text, encoding="utf-8")
    r = client.post("/v1/ingest", json={"corpus": str(corpus)}, headers=ADMIN)
    assert r.status_code == 200 and r.json()["written"] == 1, r.text

    r = client.get("/v1/changes", params={"since": "2026-04-01"}, headers=READER)
    assert r.status_code == 200, r.text
    versions = r.json()["versions"]
    assert [(v["doc_id"], v["lang"], v["version"], v["previous_version"]) for v in versions] == [
        ("mini-fakes", "en", "1.1", "1.0")
    ]
    [change] = versions[0]["changes"]
    assert change["change"] == "reworded" and change["item_id"] == "p2"
    assert "30%" in change["old_text"] and "40%" in change["new_text"]
    bad = client.get("/v1/changes", params={"since": "2026-04-01", "until": "2026-01-01"},
                     headers=READER)  # fmt: skip
    assert bad.status_code == 422
    assert client.get("/v1/changes", headers=READER).status_code == 422  # since is required

    # the same through the CLI
    for k, v in {**neo4j_env(neo4j_connection), "SOPKG_TODAY": TODAY.isoformat()}.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    try:
        assert main(["changes", "--since", "2026-04-01", "--format", "json"]) == 0
        feed = json.loads(capsys.readouterr().out)
        assert feed["versions"][0]["changes"][0]["item_id"] == "p2"
        assert main(["coverage", "--format", "json"]) == 0
        report = json.loads(capsys.readouterr().out)
        outdated = [f for f in report["findings"] if f["kind"] == "outdated-translation"]
        assert [(f["doc"], f["lang"], f["item"]) for f in outdated] == [("mini-fakes", "ja", "p2")]
        # The API's own responses, to the byte but for when each was generated and the
        # query log's counters, which are each process's own (this server keeps 3 entries).
        api = client.get("/v1/coverage", headers=OWNER).json()
        local = {"generated_at": None, "query_log": None}
        assert {**report, **local} == {**api, **local}
        assert set(report["query_log"]) == set(api["query_log"])
        assert main(["coverage", "--owner", "ipr team", "--json"]) == 0
        board = json.loads(capsys.readouterr().out)
        api_board = client.get("/v1/owners/IPR%20Team/dashboard", headers=OWNER).json()
        assert board["owner"] == "IPR Team" and board["findings"] == api_board["findings"]
        out = tmp_path / "coverage.html"
        assert main(["coverage", "--format", "html", "--out", str(out)]) == 0
        assert 'class="matrix"' in out.read_text(encoding="utf-8")
        assert main(["coverage", "--owner", "IPR Team"]) == 0
        assert "# IPR Team: SOP dashboard" in capsys.readouterr().out
        assert main(["coverage", "--owner", "Nobody"]) == 2
    finally:
        get_settings.cache_clear()
