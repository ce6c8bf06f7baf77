"""The HTTP API end to end: uvicorn, httpx, the real Neo4j test instance, mini_corpus."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from kg.connection import Connection
from kg.embedders import Embedder
from kg.settings import Settings
from search_api.app import create_app
from tests.conftest import CountingEmbedder
from tests.e2e.conftest import (
    ADMIN,
    ADMIN_KEY,
    MINI,
    OWNER,
    READER,
    READER_KEY,
    ApiServer,
    make_settings,
)

pytestmark = pytest.mark.e2e


def search(client: httpx.Client, headers: dict[str, str] = READER, **body: Any) -> httpx.Response:
    return client.post("/v1/search", json=body, headers=headers)


def ok_results(client: httpx.Client, **body: Any) -> list[dict[str, Any]]:
    r = search(client, **body)
    assert r.status_code == 200, r.text
    results: list[dict[str, Any]] = r.json()["results"]
    return results


def assert_error(r: httpx.Response, status: int, code: str, field: str | None = None) -> None:
    """The one error envelope; `field` must be named when given."""
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"}
    err = body["error"]
    assert set(err) == {"status", "code", "message", "fields"}
    assert (err["status"], err["code"]) == (status, code)
    assert isinstance(err["message"], str) and err["message"]
    if field is not None:
        assert field in [f["field"] for f in err["fields"]], err
        assert all(f["message"] for f in err["fields"])


# --- probes -----------------------------------------------------------------------------
def test_healthz(client: httpx.Client) -> None:
    r = client.get("/healthz")
    assert (r.status_code, r.json()) == (200, {"status": "ok"})


def test_readyz(client: httpx.Client) -> None:
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"neo4j", "schema", "embedder", "second_space", "vectors"}
    assert all(c["ok"] for c in body["checks"].values())
    assert body["checks"]["second_space"]["detail"].endswith("(searched)")


def test_the_server_holds_the_passage_vectors(client: httpx.Client) -> None:
    ok_results(client, query="コピー品 出品")  # a new corpus stamp's first search loads them
    deadline = time.monotonic() + 60
    while not (detail := client.get("/readyz").json()["checks"]["vectors"]["detail"]).endswith(
        "in memory"
    ):
        assert time.monotonic() < deadline, detail
        time.sleep(0.2)
    held = int(detail.split()[0])
    assert held > 0
    metrics = client.get("/metrics", headers=READER).text
    assert f"sopkg_resident_passages {held}.0" in metrics.splitlines()
    assert ok_results(client, query="コピー品 出品")[0]["unit"]["key"] == "mini-fakes#p1"


def test_a_repeated_search_is_answered_from_the_first(client: httpx.Client) -> None:
    """The trending question: asked again in the same corpus state, it is not searched
    again; each asker still gets a query id of their own (their feedback, their log)."""
    body = {"query": "偽物のブランドバッグを売っている", "limit": 5}

    def metric(name: str) -> float:
        lines = client.get("/metrics", headers=READER).text.splitlines()
        return next(float(line.split()[1]) for line in lines if line.startswith(name + " "))

    client.post("/v1/search", json={"query": "warm"}, headers=READER)  # vectors start loading
    deadline = time.monotonic() + 60
    while not client.get("/readyz").json()["checks"]["vectors"]["detail"].endswith("in memory"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    hits = metric("sopkg_result_cache_hits_total")
    first = search(client, **body).json()
    again = search(client, **body).json()
    assert "embed" in first["timings_ms"] and "shared" not in first["timings_ms"]
    assert set(again["timings_ms"]) == {"shared", "total"}
    assert again["results"] == first["results"] and again["results"]
    assert again["query_id"] != first["query_id"]
    assert metric("sopkg_result_cache_hits_total") == hits + 1
    assert "shared" not in search(client, **body, language="en").json()["timings_ms"]


# --- search -----------------------------------------------------------------------------
def test_japanese_search_cites_the_statement(client: httpx.Client) -> None:
    results = ok_results(client, query="コピー品 出品")
    top = results[0]
    assert (top["unit"]["doc_id"], top["unit"]["item_id"]) == ("mini-fakes", "p1")
    assert top["unit"] == {
        "type": "statement",
        "key": "mini-fakes#p1",
        "doc_id": "mini-fakes",
        "item_id": "p1",
        "section": "policy",
    }
    assert top["kind"] == "policy" and top["lang"] == "ja"
    assert "コピー品" in top["text"]
    cite = top["citation"]
    assert cite["doc_id"] == "mini-fakes" and cite["title"] == "偽ブランド品"
    assert (cite["version"], cite["effective"], cite["lang"]) == ("1.0", "2026-01-01", "ja")
    assert cite["heading_path"] == ["偽ブランド品", "ポリシー"]
    assert cite["source_path"] == "fakes.ja.md"
    assert 0 < cite["line_start"] <= cite["line_end"]
    assert cite["ticket_line"].startswith("[mini-fakes v1.0 ja] 偽ブランド品 > ポリシー #p1")
    # The same statement in the other language rides along.
    tr = top["translation"]
    assert tr["lang"] == "en" and "replica" in tr["text"]
    assert tr["citation"]["source_path"] == "fakes.en.md"
    assert top["score"] > 0 and top["retrievers"]
    assert set(top["retriever_ranks"]) == set(top["retrievers"])
    doc = top["document"]
    assert doc["owner"] == "IPR Team" and doc["topic"] == "ipr/counterfeit"
    assert sorted(doc["markets"]) == ["JP", "SG"]
    assert doc["review_by"] == "2027-06-30" and doc["stale"] is False


def test_result_lists_related_enforcement_and_escalation(client: httpx.Client) -> None:
    results = ok_results(client, query="コピー品 出品")
    top = results[0]
    related = {r["item_id"]: r for r in top["related"]}
    assert {"a1", "x1"} <= set(related)
    assert "e1" not in related  # the exception applies to p2 only
    assert related["a1"]["kind"] == "enforcement" and related["a1"]["severity"] == "high"
    assert related["a1"]["relation"] == "applied_by"
    assert related["x1"]["kind"] == "escalation"
    assert related["a1"]["lang"] == "ja" and "警告" in related["a1"]["text"]


def test_english_search_cites_the_statement(client: httpx.Client) -> None:
    results = ok_results(client, query="seller asks buyer to pay by bank transfer on LINE")
    top = results[0]
    assert (top["unit"]["doc_id"], top["unit"]["item_id"]) == ("mini-offplatform", "p1")
    assert top["lang"] == "en" and "bank transfer" in top["text"]
    assert top["citation"]["source_path"] == "offplatform.en.md"
    assert top["citation"]["version"] == "2.0"
    assert top["translation"] is None  # written in English only
    assert {r["item_id"] for r in top["related"]} >= {"a1", "x1"}


def test_a_japanese_query_reaches_the_english_only_sop_through_the_dictionary(
    client: httpx.Client,
) -> None:
    r = search(client, query="銀行振込で続きをしようと言う出品者")
    assert r.status_code == 200, r.text
    body = r.json()
    translated = {(t["term"], t["translation"]) for t in body["expansion"]["translated"]}
    assert {("銀行", "bank"), ("銀行振込", "transfer")} <= translated
    assert {"bank", "transfer"} <= set(body["expansion"]["en_terms"])  # in the English index
    assert body["results"][0]["unit"]["doc_id"] == "mini-offplatform"
    p1 = next(r for r in body["results"] if r["unit"]["key"] == "mini-offplatform#p1")
    assert p1["lang"] == "en" and "lexical_cross" in p1["retrievers"]


def test_english_query_answers_in_english_with_japanese_attached(client: httpx.Client) -> None:
    results = ok_results(client, query="listing a replica of a branded item")
    top = next(r for r in results if r["unit"]["key"] == "mini-fakes#p1")
    assert top["lang"] == "en" and top["citation"]["source_path"] == "fakes.en.md"
    assert top["translation"]["lang"] == "ja" and "コピー品" in top["translation"]["text"]


def test_market_filter(client: httpx.Client) -> None:
    # mini-fakes is for JP and SG; mini-offplatform for ALL markets.
    th = ok_results(client, query="コピー品 出品", market="TH")
    assert th and {r["unit"]["doc_id"] for r in th} == {"mini-offplatform"}
    jp = ok_results(client, query="コピー品 出品", market="JP")
    assert jp[0]["unit"]["doc_id"] == "mini-fakes"


def test_topic_filter(client: httpx.Client) -> None:
    results = ok_results(
        client, query="seller asks buyer to pay by bank transfer on LINE", topic="ipr"
    )
    assert results and {r["unit"]["doc_id"] for r in results} == {"mini-fakes"}
    sellers = ok_results(client, query="コピー品 出品", topic="sellers/off-platform")
    assert sellers and {r["unit"]["doc_id"] for r in sellers} == {"mini-offplatform"}


def test_language_filter_and_limit(client: httpx.Client) -> None:
    results = ok_results(client, query="コピー品 出品", language="en", limit=2)
    assert 0 < len(results) <= 2
    assert {r["lang"] for r in results} == {"en"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"query": "コピー品", "topic": "nope"}, "topic"),
        ({"query": "コピー品", "topic": "ipr/nope"}, "topic"),
        ({"query": "コピー品", "topic": "IPR!"}, "topic"),
        ({"query": "コピー品", "market": "XX"}, "market"),
        ({"query": "コピー品", "market": "jp"}, "market"),
        ({"query": "コピー品", "language": "fr"}, "language"),
        ({"query": "コピー品", "query_lang": "de"}, "query_lang"),
        ({"query": "コピー品", "mode": "magic"}, "mode"),
        ({"query": "コピー品", "limit": 0}, "limit"),
        ({"query": "コピー品", "limit": 51}, "limit"),
        ({"query": "コピー品", "as_of": "yesterday"}, "as_of"),
        ({"query": "コピー品", "markets": ["JP"]}, "markets"),
        ({"query": ""}, "query"),
        ({"query": "   \t\n "}, "query"),
        ({"query": "\u3000"}, "query"),
        ({"query": "*"}, "query"),  # no word: nothing to match, arbitrary nearest vectors
        ({"query": "\u200b\u200d"}, "query"),  # zero-width characters only
        ({"query": "\x01\x02 ?!"}, "query"),
        ({"query": 42}, "query"),
        ({}, "query"),
    ],
)
def test_invalid_search_is_422_naming_the_field(
    client: httpx.Client, body: dict[str, Any], field: str
) -> None:
    assert_error(search(client, **body), 422, "invalid_input", field)


@pytest.mark.parametrize("path", ["/", "/_results"])
def test_the_search_page_says_why_it_refuses_a_query_and_echoes_no_control_character(
    client: httpx.Client, path: str
) -> None:
    # The page answers as POST /v1/search does (the same service), in the page's words.
    api = search(client, query="a\x00b")
    assert api.status_code == 422
    page = client.get(path, params={"q": "a\x00b"}, headers=READER)
    assert page.status_code == 200 and "\x00" not in page.text
    assert api.json()["error"]["fields"][0]["message"] in page.text.replace("&#39;", "'")


def test_over_long_query_is_422(client: httpx.Client, api_settings: Settings) -> None:
    limit = api_settings.max_query_chars
    assert search(client, query="あ" * limit).status_code == 200
    r = search(client, query="あ" * (limit + 1))
    assert_error(r, 422, "invalid_input", "query")
    assert str(limit) in r.json()["error"]["message"]


def test_body_that_is_not_json_is_422(client: httpx.Client) -> None:
    r = client.post(
        "/v1/search",
        content=b'{"query": ',
        headers={**READER, "Content-Type": "application/json"},
    )
    assert_error(r, 422, "invalid_input", "body")
    r = client.post("/v1/search", headers=READER)
    assert_error(r, 422, "invalid_input")


@pytest.mark.parametrize(
    ("method", "path", "headers", "unknown"),
    [
        ("GET", "/v1/topics?lang=ja", READER, "lang"),
        ("GET", "/v1/coverage?ownr=IPR%20Team", OWNER, "ownr"),
        ("GET", "/v1/changes?since=2026-01-01&docid=mini-fakes", READER, "docid"),
        ("POST", "/v1/search?debug=1", READER, "debug"),
    ],
)
def test_a_query_parameter_the_route_does_not_take_is_422(
    client: httpx.Client, method: str, path: str, headers: dict[str, str], unknown: str
) -> None:
    r = client.request(method, path, headers=headers, json={"query": "コピー品"})
    assert_error(r, 422, "invalid_input", unknown)
    # The parameters a route takes still work beside it.
    if "since" in path:
        ok = client.get("/v1/changes?since=2026-01-01&doc_id=mini-fakes", headers=headers)
        assert ok.status_code == 200, ok.text


def test_lucene_syntax_in_query_is_not_an_error(client: httpx.Client) -> None:
    # (`*` or `?` alone has no word to search for: a 422, above.)
    for q in ['"unbalanced', "a AND OR (", "title:x~ -/ \\", "コピー*", "what?"]:
        assert search(client, query=q).status_code == 200, q


# --- access -----------------------------------------------------------------------------
def test_missing_key_is_401(client: httpx.Client) -> None:
    r = search(client, headers={}, query="コピー品")
    assert_error(r, 401, "unauthorized")
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    for path in ("/v1/topics", "/v1/documents/mini-fakes", "/v1/statements/mini-fakes.p1"):
        assert_error(client.get(path), 401, "unauthorized")


def test_wrong_key_is_401_and_not_echoed(client: httpx.Client) -> None:
    wrong = "not-a-key-" + READER_KEY
    for headers in ({"X-API-Key": wrong}, {"Authorization": f"Bearer {wrong}"}):
        r = search(client, headers=headers, query="コピー品")
        assert_error(r, 401, "unauthorized")
        assert wrong not in r.text


def test_bearer_and_header_keys_both_work(client: httpx.Client) -> None:
    assert search(client, headers={"Authorization": f"Bearer {READER_KEY}"}, query="x").is_success
    assert search(client, headers=OWNER, query="x").is_success
    assert search(client, headers=ADMIN, query="x").is_success


def test_reader_and_owner_may_not_ingest(client: httpx.Client) -> None:
    for headers in (READER, OWNER):
        r = client.post("/v1/ingest", json={"corpus": str(MINI)}, headers=headers)
        assert_error(r, 403, "forbidden")
        assert ADMIN_KEY not in r.text and READER_KEY not in r.text


def test_admin_ingest(client: httpx.Client) -> None:
    r = client.post("/v1/ingest", json={"corpus": str(MINI)}, headers=ADMIN)
    assert r.status_code == 200, r.text
    summary = r.json()
    assert summary["errors"] == []
    assert (summary["documents"], summary["written"], summary["skipped"]) == (2, 0, 2)
    assert summary["changed"] is False  # the graph was already this corpus
    # Search still works afterwards.
    assert ok_results(client, query="コピー品 出品")[0]["unit"]["key"] == "mini-fakes#p1"


@pytest.mark.parametrize("corpus", ["/no/such/folder", str(MINI / "fakes.en.md"), "x" * 300])
def test_ingest_of_something_not_a_folder_is_422(client: httpx.Client, corpus: str) -> None:
    r = client.post("/v1/ingest", json={"corpus": corpus}, headers=ADMIN)
    assert_error(r, 422, "invalid_input", "corpus")


# --- browsing ---------------------------------------------------------------------------
def test_topics(client: httpx.Client) -> None:
    r = client.get("/v1/topics", headers=READER)
    assert r.status_code == 200, r.text
    topics = {t["path"]: t for t in r.json()["topics"]}
    assert {"ipr", "ipr/counterfeit", "sellers", "sellers/off-platform"} <= set(topics)
    assert topics["ipr"]["documents"] == 1 and topics["ipr"]["ja"] == "知的財産"
    assert topics["ipr/counterfeit"]["parent"] == "ipr"


@pytest.mark.parametrize(("headers", "status"), [(READER, 403), (OWNER, 403), (ADMIN, 200)])
def test_corpora_are_listed_for_admins(client: httpx.Client, headers: dict, status: int) -> None:
    r = client.get("/v1/corpora", headers=headers)
    assert r.status_code == status, r.text
    if status == 200:
        (mini,) = [c for c in r.json()["corpora"] if c["name"] == "mini_corpus"]
        assert (mini["documents"], mini["retired"], mini["removed_at"]) == (2, 0, None)
        assert mini["topics"] == 5 and mini["terms"] == 2 and mini["root"].endswith("mini_corpus")


def test_a_corpus_is_removed_over_http(client: httpx.Client, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    text = (MINI / "offplatform.en.md").read_text(encoding="utf-8")
    (other / "d.en.md").write_text(text.replace("id: mini-offplatform", "id: other-d"), "utf-8")
    assert client.post("/v1/ingest", json={"corpus": str(other)}, headers=ADMIN).status_code == 200
    query = {"query": "bank transfer on LINE", "limit": 20}
    assert "other-d" in [r["citation"]["doc_id"] for r in ok_results(client, **query)]

    for headers in (READER, OWNER):
        assert client.delete("/v1/corpora/other", headers=headers).status_code == 403
    r = client.delete("/v1/corpora/other", headers=ADMIN)
    assert r.status_code == 200, r.text
    assert (r.json()["corpus"], r.json()["retired"], r.json()["changed"]) == ("other", 1, True)
    # Its document is out of search at once; the other corpus stays.
    hits = [r["citation"]["doc_id"] for r in ok_results(client, **query)]
    assert "other-d" not in hits and "mini-offplatform" in hits
    rows = {c["name"]: c for c in client.get("/v1/corpora", headers=ADMIN).json()["corpora"]}
    assert (rows["other"]["documents"], rows["other"]["retired"]) == (0, 1)
    assert rows["other"]["removed_at"] is not None and rows[MINI.name]["removed_at"] is None

    again = client.delete("/v1/corpora/other", headers=ADMIN)
    assert again.status_code == 200 and not again.json()["changed"], again.text
    assert again.json()["retired"] == 0
    missing = client.delete("/v1/corpora/nope", headers=ADMIN)
    assert_error(missing, 404, "not_found")
    assert f"(corpora: {MINI.name}, other)" in missing.json()["error"]["message"]


def test_document(client: httpx.Client) -> None:
    r = client.get("/v1/documents/mini-fakes", headers=READER)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert (doc["id"], doc["owner"], doc["status"]) == ("mini-fakes", "IPR Team", "active")
    assert sorted(doc["markets"]) == ["JP", "SG"] and doc["topic"] == "ipr/counterfeit"
    assert doc["regulations"]
    versions = {v["lang"]: v for v in doc["versions"]}
    assert set(versions) == {"en", "ja"}
    ja = versions["ja"]
    assert (ja["version"], ja["effective"], ja["current"]) == ("1.0", "2026-01-01", True)
    assert ja["translation_of_lang"] == "en"
    sections = {s["anchor"]: s for s in ja["sections"]}
    assert {"policy", "exceptions", "enforcement", "escalation"} <= set(sections)
    items = [p["item_id"] for p in sections["policy"]["passages"]]
    assert items == ["p1", "p2"]


def test_unknown_document_is_404(client: httpx.Client) -> None:
    assert_error(client.get("/v1/documents/no-such-doc", headers=READER), 404, "not_found")


@pytest.mark.parametrize("statement_id", ["mini-fakes.p1", "mini-fakes%23p1"])
def test_statement(client: httpx.Client, statement_id: str) -> None:
    r = client.get(f"/v1/statements/{statement_id}", headers=READER)
    assert r.status_code == 200, r.text
    st = r.json()
    assert (st["id"], st["key"], st["kind"]) == ("mini-fakes.p1", "mini-fakes#p1", "policy")
    assert {p["lang"] for p in st["passages"]} == {"en", "ja"}
    assert all(p["source_path"] and p["line_start"] for p in st["passages"])
    related = {r["item_id"]: r for r in st["related"]}
    assert set(related) == {"a1", "x1"}
    assert related["a1"]["id"] == "mini-fakes.a1"
    assert {t["lang"] for t in related["a1"]["texts"]} == {"en", "ja"}


def test_statement_applies_to(client: httpx.Client) -> None:
    r = client.get("/v1/statements/mini-fakes.a1", headers=READER)
    assert r.status_code == 200, r.text
    assert sorted(r.json()["applies_to"]) == ["mini-fakes.p1", "mini-fakes.p2"]


@pytest.mark.parametrize("statement_id", ["mini-fakes.p9", "no-such-doc.p1"])
def test_unknown_statement_is_404(client: httpx.Client, statement_id: str) -> None:
    r = client.get(f"/v1/statements/{statement_id}", headers=READER)
    assert_error(r, 404, "not_found")


@pytest.mark.parametrize("statement_id", ["mini-fakes", "a.b.c", "mini-fakes%23p1.x", "%23p1"])
def test_malformed_statement_id_is_422(client: httpx.Client, statement_id: str) -> None:
    r = client.get(f"/v1/statements/{statement_id}", headers=READER)
    assert_error(r, 422, "invalid_input", "statement_id")


# --- HTTP-level errors take the same envelope -------------------------------------------
def test_unknown_route_and_wrong_method(client: httpx.Client) -> None:
    assert_error(client.get("/v1/nothing-here", headers=READER), 404, "not_found")
    assert_error(client.get("/v1/search", headers=READER), 405, "method_not_allowed")


def test_openapi_schema(client: httpx.Client, api_settings: Settings) -> None:
    r = client.get("/openapi.json")
    assert r.status_code == 200
    schema = r.json()
    paths = schema["paths"]
    assert {
        "/v1/search",
        "/v1/documents/{doc_id}",
        "/v1/statements/{statement_id}",
        "/v1/topics",
        "/v1/ingest",
        "/healthz",
        "/readyz",
    } <= set(paths)
    components = schema["components"]
    req = components["schemas"]["SearchRequest"]
    assert req["properties"]["query"]["maxLength"] == api_settings.max_query_chars
    assert req["examples"] and req["properties"]["market"]
    assert "422" in paths["/v1/search"]["post"]["responses"]
    assert "503" in paths["/v1/search"]["post"]["responses"]
    assert {"APIKeyHeader", "HTTPBearer"} <= set(components["securitySchemes"])


def test_with_the_shared_text_a_search_embeds_only_the_glossed_query(
    mini_graph: dict[str, Any], neo4j_connection: Connection, embedder: Embedder
) -> None:
    counting = CountingEmbedder(embedder)
    settings = make_settings(neo4j_connection, gloss_embedding="shared", query_cache_size=0)
    query = "counterfeit handbags sold as genuine"
    with (
        ApiServer(create_app(settings, embedder=counting)) as server,
        httpx.Client(base_url=server.url, timeout=60) as c,
    ):
        assert ok_results(c, query=query)
    calls = [call for call in counting.calls if any(query in text for text in call)]
    # One text, the query followed by the glossary's Japanese words, searched in both
    # languages; the query alone is never embedded.
    assert len(calls) == 1 and len(calls[0]) == 1
    assert calls[0][0].startswith(f"{query} (") and calls[0][0] != query


def test_with_glossary_vectors_a_search_embeds_one_text_and_the_words_ahead(
    mini_graph: dict[str, Any], neo4j_connection: Connection, embedder: Embedder
) -> None:
    counting = CountingEmbedder(embedder)
    settings = make_settings(neo4j_connection, gloss_embedding="vectors", query_cache_size=0)
    vocabulary = {"counterfeit", "fake", "replica", "模倣品", "偽物", "コピー品"}
    with (
        ApiServer(create_app(settings, embedder=counting)) as server,
        httpx.Client(base_url=server.url, timeout=60) as c,
    ):
        results = ok_results(c, query="counterfeit handbags sold as genuine")
        assert results
        deadline = time.monotonic() + 30
        while not vocabulary <= {w for call in counting.passage_calls for w in call}:
            assert time.monotonic() < deadline, counting.passage_calls
            time.sleep(0.2)
        before = len(counting.passage_calls)
        assert ok_results(c, query="偽物のバッグの出品")
    # Every query was embedded alone (no glossed second text), and the second search
    # found its glossary words already embedded.
    glossed = [call for call in counting.calls if "counterfeit handbags" in call[0]]
    assert glossed == [["counterfeit handbags sold as genuine"]]
    assert all(len(call) == 1 for call in counting.calls)
    assert len(counting.passage_calls) == before
