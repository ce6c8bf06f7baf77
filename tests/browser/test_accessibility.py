"""Accessibility in headless Chromium: axe-core (npm, `tests/browser/package.json`) is
loaded into every page, in both display languages, signed out, as a reader and as an
owner; no serious or critical violation may remain. Keyboard-only use of search,
filters, copy citation and feedback is driven with the keyboard alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import OWNER_KEY, READER_KEY, new_page, sign_in
from tests.browser.test_pages import arm, wait_results

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.1 A and AA, and axe's best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
BLOCKING = {"serious", "critical"}
LOCALES = {"en": "en-US", "ja": "ja-JP"}

SIGNED_OUT = ["/signin", "/signin?signed_out=true"]
READER_PAGES = [
    "/",
    "/?q=コピー品 出品",
    "/?q=seller asks buyer to pay by bank transfer on LINE&market=JP",
    "/?q=%20",
    "/documents/mini-fakes",
    "/documents/mini-fakes?item=p1",
    "/documents/nope",
    "/changes?since=2025-01-01",
    "/coverage",  # a reader: the 403 page
]
OWNER_PAGES = [
    "/coverage",
    "/findings",
    "/findings?kind=stale",
    "/owners/IPR%20Team",
    "/owners/Nobody",
]


def axe_violations(page: Any) -> list[dict[str, Any]]:
    if not AXE.exists():
        pytest.fail(f"no axe-core at {AXE}: npm install --prefix tests/browser (.ci/run does it)")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
        if v["impact"] in BLOCKING
    ]


def check(page: Any, url: str) -> list[str]:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    found = axe_violations(page)
    return [f"{url}: {json.dumps(v, ensure_ascii=False)}" for v in found]


@pytest.mark.parametrize("lang", sorted(LOCALES))
def test_pages_have_no_serious_violations(browser: Any, web_url: str, lang: str) -> None:
    problems: list[str] = []
    page = new_page(browser, web_url, locale=LOCALES[lang], bypass_csp=True)
    for url in SIGNED_OUT:
        problems += check(page, url)
    sign_in(page, READER_KEY)
    for url in READER_PAGES:
        problems += check(page, url)
    page.context.close()
    page = new_page(browser, web_url, locale=LOCALES[lang], bypass_csp=True)
    sign_in(page, OWNER_KEY)
    for url in OWNER_PAGES:
        problems += check(page, url)
    page.context.close()
    assert problems == [], "\n".join(problems)


def test_the_check_finds_a_violation_when_there_is_one(browser: Any, web_url: str) -> None:
    """A control: the same check flags a nameless button put into a page."""
    page = new_page(browser, web_url, bypass_csp=True)
    sign_in(page, READER_KEY)
    page.goto("/")
    page.evaluate(
        "() => document.querySelector('main').append(Object.assign("
        "document.createElement('button'), {className: 'nameless'}))"
    )
    ids = {v["id"] for v in axe_violations(page)}
    page.context.close()
    assert "button-name" in ids


# --- the keyboard alone ------------------------------------------------------------------
def tab_to(page: Any, selector: str, limit: int = 80) -> None:
    """Press Tab until the focused element matches `selector`, then check that the focus
    can be seen (an outline or a box shadow)."""
    for _ in range(limit):
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            break
        page.keyboard.press("Tab")
    else:
        raise AssertionError(f"Tab never reached {selector}")
    visible = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement); "
        "return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) "
        "|| s.boxShadow !== 'none'; }"
    )
    assert visible, f"no visible focus on {selector}"


def test_search_filters_copy_and_feedback_by_keyboard_alone(browser: Any, web_url: str) -> None:
    page = new_page(browser, web_url)
    sign_in(page, READER_KEY)
    page.goto("/")
    # Autofocus: the browser applies it at a rendering update after the load, not at once,
    # so a loaded CI machine read the focus before it (seen once, 2026-12-02).
    page.wait_for_function("() => document.activeElement.id === 'q'", timeout=5_000)
    page.keyboard.type("first violation")
    arm(page)
    page.keyboard.press("Enter")
    wait_results(page)
    assert page.locator("#results .card").count() >= 2

    # A filter: Tab to the topic list, choose with the arrow keys; the search reruns.
    tab_to(page, "#topic")
    before = page.locator("#topic").input_value()
    arm(page)
    page.keyboard.press("ArrowDown")
    wait_results(page)
    assert page.locator("#topic").input_value() != before
    assert "topic=" in page.url

    # Copy citation: Tab to the first card's button, press Enter.
    page.keyboard.press("Shift+Tab")  # back before the results, then forwards again
    tab_to(page, "#results .card .copy")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('#results .card').dataset.copied")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied.startswith("[mini-")

    # Feedback: Shift+Tab back to "No" and press Space.
    for _ in range(40):
        if page.evaluate(
            "() => document.activeElement.matches('.feedback button[data-answered=false]')"
        ):
            break
        page.keyboard.press("Shift+Tab")
    tab_to(page, ".feedback button[data-answered=false]")
    with page.expect_response(lambda r: r.url.endswith("/v1/feedback")) as answer:
        page.keyboard.press("Space")
    assert answer.value.status == 200 and answer.value.json()["answered"] is False
    page.context.close()


def test_owner_filters_by_keyboard_alone(browser: Any, web_url: str) -> None:
    page = new_page(browser, web_url)
    sign_in(page, OWNER_KEY)
    page.goto("/findings")
    page.locator("body").focus()
    tab_to(page, "select[name=kind]")
    page.keyboard.press("End")  # the last kind
    chosen = page.locator("select[name=kind]").input_value()
    assert chosen
    tab_to(page, "form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: f"kind={chosen}" in url)
    kinds = page.locator("table.findings tbody tr").evaluate_all(
        "els => els.map(e => e.dataset.kind)"
    )
    assert set(kinds) <= {chosen}
    page.context.close()
