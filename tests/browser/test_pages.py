"""The web pages in headless Chromium, end to end: the real app over HTTP on the real
Neo4j test instance with tests/data/mini_corpus, driven as a moderator or an owner would.

`SOPKG_SCREENSHOTS=1` also writes the screenshots into docs/ (see test_screenshots).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser.conftest import (
    DOCS,
    NARROW,
    READER_KEY,
    WIDE,
    new_page,
    sign_in,
)

pytestmark = pytest.mark.browser

JA_QUERY = "コピー品 出品"
EN_QUERY = "seller asks buyer to pay by bank transfer on LINE"


def search(page: Any, query: str) -> None:
    """Type the question and press Enter, as a person would; wait for the results."""
    box = page.locator("#q")
    box.fill(query)
    arm(page)
    box.press("Enter")
    wait_results(page)


def arm(page: Any) -> None:
    """Listen for the page's `sopkg:results` event (fired once new results are painted)."""
    page.evaluate(
        "() => { window.__done = false; document.addEventListener('sopkg:results', "
        "() => { window.__done = true; }, {once: true}); }"
    )


def wait_results(page: Any) -> None:
    page.wait_for_function("() => window.__done === true")


def first_card(page: Any) -> Any:
    return page.locator("#results .card").first


def shown(card: Any) -> Any:
    return card.locator(".version:not([hidden])")


# --- search -----------------------------------------------------------------------------
def test_japanese_search_shows_a_cited_card(reader_page: Any) -> None:
    page = reader_page
    search(page, JA_QUERY)
    card = first_card(page)
    assert card.get_attribute("data-key") == "mini-fakes#p1"
    assert card.locator(".card-head .kind").inner_text().lower() == "policy"
    text = shown(card).locator(".text")
    assert text.get_attribute("lang") == "ja"
    assert "コピー品" in text.inner_text()
    cite = shown(card).locator(".citation").inner_text()
    for part in ("mini-fakes", "偽ブランド品", "1.0", "ポリシー", "p1", "2026-01-01"):
        assert part in cite, (part, cite)
    # The expansions: the enforcement and escalation that apply, and the owner.
    related = card.locator(".related").inner_text()
    assert "a1" in related and "x1" in related and "初回違反" in related
    assert "IPR Team" in card.locator(".facts").inner_text()
    # The URL carries the query, so the result can be shared.
    assert parse_qs(urlsplit(page.url).query)["q"] == [JA_QUERY]


def test_english_search_shows_a_cited_card(reader_page: Any) -> None:
    page = reader_page
    search(page, EN_QUERY)
    card = first_card(page)
    assert card.get_attribute("data-key") == "mini-offplatform#p1"
    text = shown(card).locator(".text")
    assert text.get_attribute("lang") == "en"
    assert "bank transfer" in text.inner_text()
    cite = shown(card).locator(".citation").inner_text()
    for part in ("mini-offplatform", "Moving buyers off the platform", "2.0", "p1", "2026-03-01"):
        assert part in cite, (part, cite)
    related = card.locator(".related").text_content()
    assert "Enforcement" in related and "Escalation" in related
    assert "Seller Trust" in card.locator(".facts").inner_text()


def test_copy_citation_puts_the_ticket_line_on_the_clipboard(reader_page: Any) -> None:
    page = reader_page
    search(page, JA_QUERY)
    card = first_card(page)
    card.get_by_role("button", name="Copy citation").click()
    page.wait_for_function("() => document.querySelector('#results .card').dataset.copied")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied.startswith(
        "[mini-fakes v1.0 ja] 偽ブランド品 > ポリシー #p1 (effective 2026-01-01;"
    )
    assert copied == shown(card).locator(".ticket-line").input_value()
    assert card.locator(".copy-status").inner_text() == "Copied"


def test_switching_the_result_language(reader_page: Any) -> None:
    page = reader_page
    search(page, JA_QUERY)
    card = first_card(page)
    toggle = card.locator(".toggle-lang")
    assert toggle.inner_text() == "Show in English"
    toggle.click()
    text = shown(card).locator(".text")
    assert text.get_attribute("lang") == "en"
    assert "replica" in text.inner_text()
    assert toggle.get_attribute("aria-pressed") == "true"
    assert toggle.inner_text() == "Show in Japanese"
    # The citation and the copied line follow the language shown.
    assert "Fake branded goods" in shown(card).locator(".citation").inner_text()
    card.get_by_role("button", name="Copy citation").click()
    page.wait_for_function("() => document.querySelector('#results .card').dataset.copied")
    assert page.evaluate("() => navigator.clipboard.readText()").startswith("[mini-fakes v1.0 en]")
    toggle.click()
    assert shown(card).locator(".text").get_attribute("lang") == "ja"


def test_filters_narrow_the_results_and_stay_in_the_url(reader_page: Any) -> None:
    page = reader_page
    search(page, "first violation")
    assert {k.split("#")[0] for k in _keys(page)} == {"mini-fakes", "mini-offplatform"}

    arm(page)
    page.get_by_label("Topic").select_option("sellers")  # a changed filter searches again
    wait_results(page)
    assert {k.split("#")[0] for k in _keys(page)} == {"mini-offplatform"}
    assert parse_qs(urlsplit(page.url).query)["topic"] == ["sellers"]

    page.goto("/?q=first+violation&market=TH")  # mini-fakes is for JP and SG only
    assert page.get_by_label("Market").input_value() == "TH"
    assert {k.split("#")[0] for k in _keys(page)} == {"mini-offplatform"}

    page.goto("/?q=replica&language=ja")
    langs = page.locator("#results .version:not([hidden]) .text").evaluate_all(
        "els => els.map(e => e.lang)"
    )
    assert langs and set(langs) == {"ja"}


def _keys(page: Any) -> list[str]:
    keys: list[str] = page.locator("#results .card").evaluate_all(
        "els => els.map(e => e.dataset.key)"
    )
    assert keys, "no results"
    return keys


def test_a_shared_url_renders_on_the_server(browser: Any, web_url: str) -> None:
    """Without JavaScript at all: the URL alone renders the results and the filters."""
    context = browser.new_context(base_url=web_url, java_script_enabled=False)
    page = context.new_page()
    sign_in(page, READER_KEY)
    page.goto(f"/?q={EN_QUERY}&market=JP&language=en")
    assert page.locator("#q").input_value() == EN_QUERY
    assert page.get_by_label("Market").input_value() == "JP"
    assert page.get_by_label("Language", exact=True).input_value() == "en"
    assert first_card(page).get_attribute("data-key") == "mini-offplatform#p1"
    # The plain form works too: Enter submits a GET to the same URL.
    page.locator("#q").fill(JA_QUERY)
    page.locator("#q").press("Enter")
    page.wait_for_url(re.compile(r"q=%E3%82%B3"))
    assert first_card(page).get_attribute("data-key") == "mini-fakes#p1"
    context.close()


def test_empty_and_over_long_queries_get_a_clear_message(reader_page: Any) -> None:
    page = reader_page
    search(page, "   ")
    message = page.locator("#results .message")
    assert "empty" in message.inner_text()
    search(page, "x" * 501)
    assert "501 characters" in message.inner_text() and "500" in message.inner_text()
    # The same from a URL: a page with the message, not an error page.
    response = page.goto("/?q=" + "y" * 600)
    assert response.status == 200
    assert "600 characters" in page.locator("#results .message").inner_text()
    assert page.locator("#q").count() == 1
    response = page.goto("/?q=")
    assert response.status == 200
    assert "empty" in page.locator("#results .message").inner_text()


def test_keyboard_slash_focuses_the_box_and_enter_searches(reader_page: Any) -> None:
    page = reader_page
    page.goto("/documents/mini-fakes")
    page.keyboard.press("/")  # from another page: to the search page
    page.wait_for_url(re.compile(r"/$"))
    page.locator("main").click(position={"x": 5, "y": 5})
    page.evaluate("() => document.activeElement.blur()")
    page.keyboard.press("/")
    assert page.evaluate("() => document.activeElement.id") == "q"
    page.keyboard.type(JA_QUERY)
    arm(page)
    page.keyboard.press("Enter")
    wait_results(page)
    assert first_card(page).get_attribute("data-key") == "mini-fakes#p1"
    # "/" typed inside the box is a character, not the shortcut.
    page.keyboard.type("/")
    assert page.locator("#q").input_value().endswith("/")


def test_did_this_answer_it(reader_page: Any) -> None:
    """Yes/no on a search: posted to POST /v1/feedback with the search's query_id."""
    page = reader_page
    search(page, JA_QUERY)
    box = page.locator("#results .feedback")
    assert box.get_attribute("data-query-id")
    with page.expect_response(lambda r: r.url.endswith("/v1/feedback")) as answer:
        box.get_by_role("button", name="No").click()
    assert answer.value.status == 200
    assert answer.value.json()["answered"] is False
    page.wait_for_function("() => document.querySelector('#results .feedback').dataset.sent")
    assert box.get_attribute("data-sent") == "false"
    assert "Thank you" in box.locator(".feedback-status").inner_text()


# --- documents --------------------------------------------------------------------------
def test_document_page_opens_on_the_cited_statement(reader_page: Any) -> None:
    page = reader_page
    page.set_viewport_size({"width": 1280, "height": 500})
    search(page, JA_QUERY)
    card = page.locator("#results .card[data-key='mini-fakes#p2']")
    card.locator(".doc-link").click()
    page.wait_for_url(re.compile(r"/documents/mini-fakes\?item=p2#p2$"))
    row = page.locator("#p2")
    assert "cited" in (row.get_attribute("class") or "")
    assert row.get_attribute("aria-current") == "true"
    assert row.is_visible()
    assert page.evaluate(
        "() => { const r = document.getElementById('p2').getBoundingClientRect();"
        " return r.top >= 0 && r.bottom <= window.innerHeight; }"
    )
    # Japanese and English side by side.
    cells = row.locator(".cell")
    assert cells.count() == 2
    assert set(cells.evaluate_all("els => els.map(e => e.lang)")) == {"ja", "en"}
    box_en, box_ja = (c.bounding_box() for c in cells.all())
    assert abs(box_en["y"] - box_ja["y"]) < 2 and box_en["x"] != box_ja["x"]
    # Its version history, and the place for the change feed.
    assert page.locator("#ui-versions tbody tr").count() == 2
    assert page.locator("#ui-changes").is_visible()
    # Only ?item= (no fragment): highlighted and scrolled into view by the page itself.
    page.goto("/documents/mini-fakes?item=x1")
    assert "cited" in (page.locator("#x1").get_attribute("class") or "")
    page.wait_for_function(
        "() => { const r = document.getElementById('x1').getBoundingClientRect();"
        " return r.top >= 0 && r.bottom <= window.innerHeight; }"
    )


def test_unknown_document_is_a_404_page(reader_page: Any) -> None:
    response = reader_page.goto("/documents/no-such-doc")
    assert response.status == 404
    assert "no-such-doc" in reader_page.locator("main").inner_text()
    assert reader_page.locator("a[href='/']").count() >= 1


# --- roles ------------------------------------------------------------------------------
OWNER_PAGES = ["/coverage", "/findings", "/owners/IPR%20Team"]


def test_a_reader_never_sees_the_owner_pages(reader_page: Any) -> None:
    page = reader_page
    page.goto("/")
    nav = page.locator("header nav")
    assert nav.get_by_role("link", name="Search").count() == 1
    for name in ("Coverage", "Findings"):
        assert nav.get_by_role("link", name=name).count() == 0
    # The change feed is for readers too, as GET /v1/changes.
    assert nav.get_by_role("link", name="Changes").count() == 1
    for path in OWNER_PAGES:
        response = page.goto(path)
        assert response.status == 403, path
        assert "owners" in page.locator("main").inner_text()


def test_an_owner_gets_the_owner_navigation(owner_page: Any) -> None:
    page = owner_page
    page.goto("/")
    nav = page.locator("header nav")
    for name in ("Coverage", "Findings", "Changes"):
        assert nav.get_by_role("link", name=name).count() == 1
    for path in OWNER_PAGES:
        response = page.goto(path)
        assert response.status == 200, path


# --- language, sign-in ------------------------------------------------------------------
def test_labels_follow_the_browser_then_the_switch(browser: Any, web_url: str) -> None:
    page = new_page(browser, web_url, locale="ja-JP")
    sign_in(page, READER_KEY)
    page.goto(f"/?q={EN_QUERY}")
    assert page.locator("html").get_attribute("lang") == "ja"
    assert page.get_by_role("button", name="検索", exact=True).count() == 1
    assert page.get_by_label("マーケット").count() == 1
    # The texts keep their own language.
    assert shown(first_card(page)).locator(".text").get_attribute("lang") == "en"
    page.get_by_role("button", name="EN").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_label("Market").count() == 1
    assert parse_qs(urlsplit(page.url).query)["q"] == [EN_QUERY]  # back where it was
    page.goto("/documents/mini-fakes")  # the choice is kept (cookie)
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_role("button", name="日本語").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "ja"
    assert page.locator("h1").inner_text() == "偽ブランド品"
    page.context.close()


def test_sign_in_keeps_the_key_in_a_strict_http_only_cookie(browser: Any, web_url: str) -> None:
    page = new_page(browser, web_url)
    page.goto(f"/?q={JA_QUERY}")  # signed out: to the sign-in page, coming back after
    assert urlsplit(page.url).path == "/signin"
    page.get_by_label("API key").fill("not-a-key")
    page.get_by_role("button", name="Sign in").click()
    assert "not known" in page.locator(".message").inner_text()
    assert page.get_by_label("API key").input_value() == ""  # never echoed
    page.get_by_label("API key").fill(READER_KEY)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/\?q="))
    assert first_card(page).get_attribute("data-key") == "mini-fakes#p1"
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "sopkg_key"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and not cookie["secure"]
    assert page.evaluate("() => document.cookie").find("sopkg_key") == -1
    assert READER_KEY not in page.url
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/signin"))
    assert not [c for c in page.context.cookies() if c["name"] == "sopkg_key"]
    page.goto("/")
    assert urlsplit(page.url).path == "/signin"
    page.context.close()


def test_a_link_from_another_site_opens_for_a_signed_in_moderator(
    browser: Any, web_url: str
) -> None:
    """A cross-site click does not send the SameSite=Strict cookie; the sign-in page then
    finds the session itself and goes on to the linked results."""
    page = new_page(browser, web_url)
    sign_in(page, READER_KEY)
    target = f"{web_url}/?q=replica&market=JP"
    page.route(
        "http://chat.example/**",
        lambda route: route.fulfill(
            content_type="text/html", body=f'<a id="go" href="{target}">shared result</a>'
        ),
    )
    page.goto("http://chat.example/thread")
    seen: list[str] = []
    page.on("framenavigated", lambda frame: seen.append(urlsplit(frame.url).path))
    page.click("#go")
    page.wait_for_url(re.compile(r"/\?q=replica&market=JP$"))
    assert "/signin" in seen  # the cookie did not come with the cross-site click
    assert first_card(page).count() == 1
    page.context.close()


def test_open_mode_needs_no_sign_in(browser: Any, open_url: str) -> None:
    page = new_page(browser, open_url)
    page.goto("/")
    assert urlsplit(page.url).path == "/"
    search(page, JA_QUERY)
    assert first_card(page).get_attribute("data-key") == "mini-fakes#p1"
    assert page.locator("header nav").get_by_role("link", name="Coverage").count() == 1
    page.context.close()


# --- layout -----------------------------------------------------------------------------
@pytest.mark.parametrize("viewport", [WIDE, NARROW], ids=["1280px", "390px"])
def test_pages_fit_the_screen(browser: Any, web_url: str, viewport: dict[str, int]) -> None:
    page = new_page(browser, web_url, viewport=viewport)
    page.goto("/signin")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= viewport["width"]
    sign_in(page, READER_KEY)
    for path in (f"/?q={JA_QUERY}", "/documents/mini-fakes?item=p1", "/changes"):
        page.goto(path)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= viewport["width"], (path, width)
    # Every form control has a label.
    page.goto(f"/?q={JA_QUERY}")
    unlabelled = page.evaluate(
        "() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]"
        ".filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))"
        ".map(e => e.outerHTML)"
    )
    assert unlabelled == []
    page.context.close()


def test_screenshots(browser: Any, web_url: str, tmp_path: Path) -> None:
    """Screenshots of the search page in both languages (docs/ with SOPKG_SCREENSHOTS=1)."""
    out = DOCS if os.environ.get("SOPKG_SCREENSHOTS") == "1" else tmp_path
    for lang, locale, query in (("ja", "ja-JP", JA_QUERY), ("en", "en-US", EN_QUERY)):
        page = new_page(browser, web_url, locale=locale, viewport={"width": 1280, "height": 1000})
        sign_in(page, READER_KEY)
        page.goto(f"/?q={query}")
        path = out / f"screenshot-search-{lang}.png"
        page.screenshot(path=str(path))
        assert path.stat().st_size > 10_000
        page.context.close()
