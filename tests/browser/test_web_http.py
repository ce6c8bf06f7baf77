"""The web pages' auth over plain HTTP (no browser): the sign-in cookie as a credential
of the JSON API, CSRF refusals, headers, and the label tables."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from search_api.web.i18n import LABELS, Labels, negotiate
from tests.browser.conftest import OWNER_KEY, READER_KEY

pytestmark = pytest.mark.e2e

TEMPLATES = Path(__file__).resolve().parents[2] / "search_api" / "templates"


@pytest.fixture()
def http(web_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web_url, timeout=60) as c:
        yield c


def signed_in(http: httpx.Client, key: str) -> httpx.Client:
    origin = str(http.base_url).rstrip("/")
    r = http.post("/signin", data={"key": key, "next": "/"}, headers={"Origin": origin})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    return http


def test_the_cookie_is_a_credential_of_the_json_api(http: httpx.Client) -> None:
    signed_in(http, READER_KEY)
    assert http.get("/v1/topics").status_code == 200
    origin = str(http.base_url).rstrip("/")
    body = {"query": "コピー品 出品"}
    # A cookie-authenticated POST must come from this site.
    refused = http.post("/v1/search", json=body)
    assert refused.status_code == 403 and "cross-site" in refused.json()["error"]["message"]
    elsewhere = http.post("/v1/search", json=body, headers={"Origin": "https://evil.example"})
    assert elsewhere.status_code == 403
    assert http.post("/v1/search", json=body, headers={"Origin": origin}).status_code == 200
    assert http.post("/v1/search", json=body, headers={"Referer": origin + "/"}).status_code == 200
    # Roles apply exactly as in the API.
    assert http.get("/coverage").status_code == 403


def test_feedback_with_the_cookie_needs_this_origin(http: httpx.Client) -> None:
    signed_in(http, READER_KEY)
    origin = str(http.base_url).rstrip("/")
    search = http.post("/v1/search", json={"query": "replica"}, headers={"Origin": origin})
    query_id = search.json()["query_id"]
    body = {"query_id": query_id, "answered": True}
    assert http.post("/v1/feedback", json=body).status_code == 403
    r = http.post("/v1/feedback", json=body, headers={"Origin": origin})
    assert r.status_code == 200 and r.json() == body


def test_headers_still_win_and_need_no_origin(http: httpx.Client) -> None:
    r = http.post("/v1/search", json={"query": "replica"}, headers={"X-API-Key": READER_KEY})
    assert r.status_code == 200


def test_forms_from_elsewhere_are_refused(http: httpx.Client) -> None:
    for path, data in (
        ("/signin", {"key": OWNER_KEY}),
        ("/signout", {}),
        ("/ui-lang", {"lang": "ja"}),
    ):
        r = http.post(path, data=data, headers={"Origin": "https://evil.example"})
        assert r.status_code == 403, path
        assert "set-cookie" not in r.headers
        r = http.post(path, data=data)  # neither Origin nor Referer
        assert r.status_code == 403, path


def test_a_wrong_key_is_neither_echoed_nor_kept(http: httpx.Client) -> None:
    origin = str(http.base_url).rstrip("/")
    r = http.post("/signin", data={"key": "wrong-key-123"}, headers={"Origin": origin})
    assert r.status_code == 401
    assert "wrong-key-123" not in r.text and "set-cookie" not in r.headers


def test_an_unknown_cookie_key_signs_out(http: httpx.Client) -> None:
    http.cookies.set("sopkg_key", "revoked-key")
    r = http.get("/?q=x")
    assert r.status_code == 303 and r.headers["location"].startswith("/signin?next=")
    assert 'sopkg_key=""' in r.headers["set-cookie"]  # forgotten
    assert http.get("/v1/topics").status_code == 401


def test_next_only_goes_to_this_site(http: httpx.Client) -> None:
    origin = str(http.base_url).rstrip("/")
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        r = http.post(
            "/signin", data={"key": READER_KEY, "next": target}, headers={"Origin": origin}
        )
        assert r.headers["location"] == "/", target


def test_pages_carry_security_headers_and_stay_out_of_the_schema(http: httpx.Client) -> None:
    r = http.get("/signin")
    assert r.status_code == 200
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    paths = http.get("/openapi.json").json()["paths"]
    assert all(p.startswith(("/v1/", "/healthz", "/readyz", "/metrics")) for p in paths), list(
        paths
    )
    css = http.get(re.search(r'href="(/static/app\.css\?v=\w+)"', r.text).group(1))  # type: ignore[union-attr]
    assert css.status_code == 200 and "immutable" in css.headers["cache-control"]


# --- labels (no server needed, but kept with the pages) --------------------------------
def test_every_label_has_both_languages_and_every_used_label_exists() -> None:
    assert all(len(v) == 2 and all(v) for v in LABELS.values())
    used: set[str] = set()
    for f in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_]+\.[a-z_.]+)["']""", f.read_text()))
    assert used and used <= set(LABELS), sorted(used - set(LABELS))
    assert Labels("ja")("search.too_long", n=600, max=500).startswith("質問が 600 文字")


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        ("ja-JP,ja;q=0.9,en;q=0.8", "ja"),
        ("en-GB,en;q=0.9,ja;q=0.8", "en"),
        ("fr-FR,fr;q=0.9,ja;q=0.5", "ja"),
        ("en;q=0.2,ja;q=0.3", "ja"),
        ("ja;q=0", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_accept_language(header: str | None, lang: str) -> None:
    assert negotiate(header) == lang
