"""HTTP conventions over HTTP: HEAD on every GET route, ETag and 304 on the document,
statement and coverage reads, gzip for large JSON, examples in the OpenAPI schema, and the
request bodies refused before they are read (too large, not JSON)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from search_api.http import MAX_BODY_BYTES
from tests.e2e.conftest import ADMIN, OWNER, READER

pytestmark = pytest.mark.e2e

# One concrete URL per GET route of the API and the web pages.
GET_URLS = [
    ("/", READER),
    ("/signin", {}),
    ("/documents/mini-fakes", READER),
    ("/coverage", OWNER),
    ("/findings", OWNER),
    ("/owners/IPR%20Team", OWNER),
    ("/changes", READER),
    ("/_results?q=x", READER),
    ("/_session", READER),
    ("/static/app.css", {}),
    ("/healthz", {}),
    ("/readyz", {}),
    ("/metrics", READER),
    ("/openapi.json", {}),
    ("/docs", {}),
    ("/v1/topics", READER),
    ("/v1/corpora", ADMIN),
    ("/v1/documents/mini-fakes", READER),
    ("/v1/statements/mini-fakes.p1", READER),
    ("/v1/coverage", OWNER),
    ("/v1/owners/IPR%20Team/dashboard", OWNER),
    ("/v1/changes?since=2026-01-01", READER),
]


@pytest.mark.parametrize(("url", "headers"), GET_URLS)
def test_head_answers_as_get_without_a_body(
    client: httpx.Client, url: str, headers: dict[str, str]
) -> None:
    got = client.get(url, headers=headers)
    head = client.head(url, headers=headers)
    assert got.status_code in (200, 204), (url, got.status_code)
    assert head.status_code == got.status_code
    assert head.content == b""
    assert head.headers.get("content-type") == got.headers.get("content-type")


def test_every_get_route_of_the_schema_is_covered(client: httpx.Client) -> None:
    paths = [p for p, item in client.get("/openapi.json").json()["paths"].items() if "get" in item]
    covered = {u.split("?")[0].replace("mini-fakes.p1", "{statement_id}") for u, _ in GET_URLS}
    covered |= {u.replace("mini-fakes", "{doc_id}") for u in covered}
    covered |= {u.replace("IPR%20Team", "{owner}") for u in covered}
    assert set(paths) <= covered


def test_head_on_the_search_page_when_signed_out_is_a_redirect_not_405(
    client: httpx.Client,
) -> None:
    r = client.head("/")
    assert r.status_code == 303
    assert r.headers["location"].startswith("/signin")


def settled(client: httpx.Client, url: str, headers: dict[str, str]) -> httpx.Response:
    """A read once two in a row agree: searches of earlier tests are logged in the
    background, and the coverage report counts them."""
    last = client.get(url, headers=headers)
    for _ in range(50):
        assert last.status_code == 200
        now = client.get(url, headers=headers)
        if now.headers["etag"] == last.headers["etag"]:
            return now
        last = now
    raise AssertionError(f"{url} kept changing")


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        ("/v1/documents/mini-fakes", READER),
        ("/v1/statements/mini-fakes.p1", READER),
        ("/v1/coverage", OWNER),
        ("/v1/owners/IPR%20Team/dashboard", OWNER),
    ],
)
def test_reads_carry_an_etag_and_answer_304(
    client: httpx.Client, url: str, headers: dict[str, str]
) -> None:
    first = settled(client, url, headers)
    etag = first.headers["etag"]
    assert etag.startswith('W/"')
    again = client.get(url, headers={**headers, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert client.head(url, headers={**headers, "If-None-Match": etag}).status_code == 304
    other = client.get(url, headers={**headers, "If-None-Match": 'W/"something-else"'})
    assert other.status_code == 200
    # the same representation; when the report was generated is not part of it
    assert _content(other.json()) == _content(first.json())


def _content(body: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in body.items() if k != "generated_at"}


def test_coverage_etag_changes_when_the_data_does(client: httpx.Client) -> None:
    etag = client.get("/v1/coverage", headers=OWNER).headers["etag"]
    # A search is logged, and the coverage report counts logged searches.
    assert client.post("/v1/search", json={"query": "etag test"}, headers=READER).is_success
    client.post("/v1/search", json={"query": "etag test two"}, headers=READER)
    for _ in range(50):  # the log is written in the background
        r = client.get("/v1/coverage", headers={**OWNER, "If-None-Match": etag})
        if r.status_code == 200:
            break
    assert r.status_code == 200 and r.headers["etag"] != etag


def test_errors_carry_no_etag(client: httpx.Client) -> None:
    r = client.get("/v1/documents/nope", headers=READER)
    assert r.status_code == 404 and "etag" not in r.headers
    assert client.get("/v1/coverage", headers=READER).status_code == 403


def test_large_json_is_gzipped_small_is_not(client: httpx.Client) -> None:
    big = client.get("/v1/documents/mini-fakes", headers={**READER, "Accept-Encoding": "gzip"})
    assert big.headers["content-encoding"] == "gzip"
    assert big.json()["id"] == "mini-fakes"  # httpx decompresses
    plain = client.get(
        "/v1/documents/mini-fakes", headers={**READER, "Accept-Encoding": "identity"}
    )
    assert "content-encoding" not in plain.headers
    assert int(big.headers["content-length"]) < len(plain.content)
    small = client.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers


def test_openapi_has_examples_and_documents_the_etag(client: httpx.Client) -> None:
    schema = client.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    for name in ("SearchRequest", "SearchResponse", "DocumentResponse", "CoverageResponse",
                 "ErrorBody", "FeedbackRequest", "IngestRequest"):  # fmt: skip
        assert components[name]["examples"], name
    get = schema["paths"]["/v1/documents/{doc_id}"]["get"]
    assert "304" in get["responses"] and "ETag" in get["responses"]["200"]["headers"]


def _chunks(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


BIG = ('{"query": "' + "x" * (MAX_BODY_BYTES + 10) + '"}').encode()


@pytest.mark.parametrize(
    ("path", "headers", "content", "status"),
    [
        pytest.param("/v1/search", {"Content-Type": "application/json"}, BIG, 413, id="large"),
        pytest.param(
            "/v1/search", {"Content-Type": "application/json"}, _chunks, 413, id="large-chunked"
        ),
        pytest.param(
            "/signin",
            {"Content-Type": "application/x-www-form-urlencoded"},
            BIG,
            413,
            id="large-form",
        ),
        pytest.param(
            "/v1/search", {"Content-Type": "text/plain"}, b'{"query": "x"}', 415, id="json-as-text"
        ),
        pytest.param(
            "/v1/search",
            {"Content-Type": "application/x-www-form-urlencoded"},
            b"query=x",
            415,
            id="form",
        ),
    ],
)
def test_bodies_the_api_does_not_read(
    client: httpx.Client, path: str, headers: dict[str, str], content: Any, status: int
) -> None:
    body = content(BIG) if callable(content) else content
    r = client.post(path, content=body, headers={**READER, **headers})
    assert r.status_code == status, r.text[:200]
    assert r.json()["error"]["status"] == status


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "application/x+json"]
)
def test_json_bodies_within_the_limit_are_read(client: httpx.Client, content_type: str) -> None:
    body = b'{"query": "\xe3\x82\xb3\xe3\x83\x94\xe3\x83\xbc\xe5\x93\x81", "limit": 2}'
    r = client.post("/v1/search", content=body, headers={**READER, "Content-Type": content_type})
    assert r.status_code == 200, r.text
    # and a chunked one: read whole, then searched
    r = client.post("/v1/search", content=_chunks(body, 5),
                    headers={**READER, "Content-Type": content_type})  # fmt: skip
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("path", "html", "status"),
    [
        ("/nosuch", True, 404),  # an address a browser followed: a page saying so
        ("/documents/" + "x" * 300, True, 422),  # a path part the page refuses
        ("/nosuch", False, 404),  # a program (no text/html): the JSON envelope
        ("/v1/nosuch", True, 404),  # the API's paths answer JSON even to a browser
    ],
)
def test_a_browser_gets_errors_at_page_addresses_as_pages(
    client: httpx.Client, path: str, html: bool, status: int
) -> None:
    accept = "text/html,application/xhtml+xml,*/*;q=0.8" if html else "application/json"
    r = client.get(path, headers={**READER, "Accept": accept})
    assert r.status_code == status
    as_page = html and not path.startswith("/v1/")
    assert r.headers["content-type"].startswith("text/html" if as_page else "application/json")
    if as_page:
        assert "<main" in r.text and ("no page at this address" in r.text or status != 404)
    else:
        assert r.json()["error"]["status"] == status
