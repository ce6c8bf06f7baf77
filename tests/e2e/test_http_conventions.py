"""HTTP conventions over HTTP: HEAD on every GET route, ETag and 304 on the document,
statement and coverage reads, gzip for large JSON, and examples in the OpenAPI schema."""

from __future__ import annotations

import httpx
import pytest

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
