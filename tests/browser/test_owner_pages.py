"""The owners' pages and the governance warnings in headless Chromium, on the mini corpus
plus a second round of edits: mini-fakes' English source moves to v1.1 (p2 reworded, p3
added, e1 made to apply to p3 too and given a severity; the Japanese translation now follows an older source), and mini-offplatform moves
to v2.1 with a review date already past.

`SOPKG_SCREENSHOTS=1` writes docs/screenshot-coverage.png.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from neo4j import Driver

from ingest.pipeline import ingest_corpus
from kg.connection import Connection
from kg.embedders import Embedder
from kg.settings import Settings
from search_api.app import create_app
from tests.browser.conftest import DOCS, OWNER_KEY, READER_KEY, ApiServer, new_page, sign_in
from tests.browser.test_accessibility import axe_violations
from tests.e2e.conftest import MINI

pytestmark = pytest.mark.browser


def _edit(path: Path, *pairs: tuple[str, str]) -> None:
    text = path.read_text(encoding="utf-8")
    for old, new in pairs:
        assert old in text, (path, old)
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def changed_url(
    mini_graph: dict[str, Any],
    neo4j_driver: Driver,
    neo4j_connection: Connection,
    embedder: Embedder,
    api_settings: Settings,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    root = tmp_path_factory.mktemp("edited") / "mini_corpus"
    shutil.copytree(MINI, root)
    _edit(
        root / "fakes.en.md",
        ('version: "1.0"', 'version: "1.1"'),
        ("effective: 2026-01-01", "effective: 2026-04-01"),
        ("priced below 30% of retail", "priced below 25% of retail"),
        (
            "hidden for an authenticity check.\n",
            "hidden for an authenticity check.\n"
            "- {#p3} A listing that shows a brand logo on an unbranded item is removed.\n",
        ),
        ("{#e1 applies_to=p2}", "{#e1 applies_to=p2,p3 severity=low}"),
    )
    _edit(
        root / "offplatform.en.md",
        ('version: "2.0"', 'version: "2.1"\nreview_by: 2026-05-01'),
        ("effective: 2026-03-01", "effective: 2026-04-15"),
    )
    summary = ingest_corpus(root, neo4j_driver, neo4j_connection.database, embedder)
    assert summary.errors == [], summary.errors
    assert summary.written == 2, summary.as_json()
    app = create_app(api_settings, embedder=embedder)
    with ApiServer(app) as server:
        yield server.url


@pytest.fixture()
def owner(browser: Any, changed_url: str) -> Iterator[Any]:
    page = new_page(browser, changed_url)
    sign_in(page, OWNER_KEY)
    yield page
    page.context.close()


def test_cards_warn_of_stale_documents_and_outdated_translations(
    browser: Any, changed_url: str
) -> None:
    page = new_page(browser, changed_url)
    sign_in(page, READER_KEY)
    page.goto("/?q=コピー品 出品")
    card = page.locator("#results .card[data-key='mini-fakes#p1']")
    assert card.locator(".warn-translation").is_visible()
    assert card.locator(".warn-stale").count() == 0
    page.goto("/?q=bank transfer on LINE")
    card = page.locator("#results .card[data-key='mini-offplatform#p1']")
    warning = card.locator(".warn-stale")
    assert warning.is_visible() and "2026-05-01" in warning.inner_text()
    page.context.close()


def test_document_page_shows_the_changes_of_its_latest_version(owner: Any) -> None:
    page = owner
    page.goto("/documents/mini-fakes?item=p3")
    assert "cited" in (page.locator("#p3").get_attribute("class") or "")
    assert page.locator("#p3 .missing").count() == 1  # no Japanese p3 yet
    assert page.locator(".warnings .warn-translation").is_visible()
    changes = page.locator("#ui-changes")
    reworded = changes.locator(".change-reworded")
    assert reworded.count() == 1
    assert "30%" in reworded.locator("del").inner_text()
    assert "25%" in reworded.locator("ins").inner_text()
    assert "logo" in changes.locator(".change-added").inner_text()
    retagged = changes.locator(".change-retagged")
    assert "four real photos" in retagged.locator(".diff").inner_text()
    assert retagged.locator(".applies-to del").inner_text() == "p2"
    assert retagged.locator(".applies-to ins").inner_text() == "p2, p3"
    assert retagged.locator(".attributes del").inner_text() == "-"
    assert retagged.locator(".attributes ins").inner_text() == "severity=low"
    assert "v1.0 → v1.1" in changes.inner_text()


def test_change_feed(owner: Any) -> None:
    page = owner
    page.goto("/changes")
    page.get_by_label("Since").fill("2026-01-01")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"since=2026-01-01"))
    items = page.locator(".feed-item")
    docs = items.evaluate_all("els => els.map(e => e.dataset.doc + ':' + e.dataset.lang)")
    assert {"mini-fakes:en", "mini-offplatform:en", "mini-fakes:ja"} <= set(docs)
    fakes = page.locator(".feed-item[data-doc='mini-fakes'][data-lang='en']").first
    assert fakes.locator(".change").count() == 3


def test_coverage_matrix(owner: Any, tmp_path: Path) -> None:
    page = owner
    page.goto("/")
    page.locator("header nav").get_by_role("link", name="Coverage").click()
    page.wait_for_url(re.compile(r"/coverage$"))

    def cell(topic: str, market: str) -> Any:
        return page.locator(f"tr[data-topic='{topic}'] td[data-market='{market}']")

    assert cell("ipr/counterfeit", "JP").get_attribute("data-state") == "covered"
    assert cell("ipr/counterfeit", "JP").get_by_role("link", name="mini-fakes").count() == 1
    assert cell("ipr/counterfeit", "TH").get_attribute("data-state") == "none"
    assert cell("ipr/trademark", "JP").get_attribute("data-state") == "none"
    assert cell("sellers/off-platform", "VN").get_attribute("data-state") == "stale"
    colours = {
        state: cell(topic, m).evaluate("e => getComputedStyle(e).backgroundColor")
        for state, topic, m in (
            ("covered", "ipr/counterfeit", "JP"),
            ("none", "ipr/trademark", "JP"),
            ("stale", "sellers/off-platform", "JP"),
        )
    }
    assert len(set(colours.values())) == 3, colours
    out = DOCS if os.environ.get("SOPKG_SCREENSHOTS") == "1" else tmp_path
    page.screenshot(path=str(out / "screenshot-coverage.png"), full_page=True)


def test_findings_filter_by_kind_and_owner(owner: Any) -> None:
    page = owner
    page.goto("/findings")
    total = page.locator("table.findings tbody tr").count()
    assert total >= 3
    page.get_by_label("Kind").select_option("stale")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"kind=stale"))
    rows = page.locator("table.findings tbody tr")
    assert rows.count() >= 1
    assert set(rows.evaluate_all("els => els.map(e => e.dataset.kind)")) == {"stale"}
    page.get_by_label("Kind").select_option("")
    page.get_by_label("Owner").select_option("IPR Team")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"owner=IPR"))
    owners = rows.evaluate_all("els => els.map(e => e.dataset.owner)")
    assert owners and set(owners) == {"IPR Team"}
    assert any(
        k == "outdated-translation"
        for k in rows.evaluate_all("els => els.map(e => e.dataset.kind)")
    )


def test_owner_dashboard(owner: Any) -> None:
    page = owner
    page.goto("/coverage")
    page.get_by_role("link", name="Seller Trust").click()
    page.wait_for_url(re.compile(r"/owners/Seller%20Trust$"))
    assert page.locator("h1").inner_text() == "Dashboard: Seller Trust"
    row = page.locator("tr[data-doc='mini-offplatform']")
    assert "review overdue" in row.inner_text()
    assert "1 overdue" in page.locator(".summary").inner_text()
    response = page.goto("/owners/Nobody")
    assert response.status == 404
    assert "Nobody" in page.locator(".message").inner_text()


def test_owner_pages_in_japanese(browser: Any, changed_url: str) -> None:
    page = new_page(browser, changed_url, locale="ja-JP")
    sign_in(page, OWNER_KEY)
    page.goto("/coverage")
    assert page.locator("html").get_attribute("lang") == "ja"
    assert page.locator("h1").inner_text() == "カバレッジ: トピック × マーケット"
    assert page.locator("tr[data-topic='ipr/counterfeit'] th").inner_text().startswith("模倣品")
    page.context.close()


def _seed_demand(driver: Driver, database: str) -> None:
    """Logged searches over the last weeks: unanswered (a "no", or no results) and weak
    (retrieval not confident), in both languages and two topics."""
    from kg.coverage import CoverageReader, QueryLogEntry

    reader = CoverageReader(driver, database)
    now = dt.datetime.now(dt.UTC)
    plans = [  # (weeks ago, query, language, topic of the results, why)
        (0, "偽物 ブランド 見分け方", "ja", "ipr/counterfeit", "weak"),
        (0, "replica sneakers allowed?", "en", "ipr/counterfeit", "no"),
        (1, "コピー品 返金", "ja", "ipr/counterfeit", "none"),
        (2, "pay outside the app via LINE", "en", "sellers/off-platform", "weak"),
        (3, "銀行振込 LINE 取引", "ja", "sellers/off-platform", "no"),
        (3, "counterfeit perfume tester", "en", "ipr/counterfeit", "weak"),
        (5, "模倣品 海外発送", "ja", "ipr/counterfeit", "no"),
        (8, "off-platform payment link", "en", "sellers/off-platform", "weak"),
    ]
    for n, (weeks_ago, query, lang, topic, why) in enumerate(plans):
        reader.log_queries(
            [QueryLogEntry(
                id=f"seed-{n}", at=now - dt.timedelta(weeks=weeks_ago), query=query,
                query_lang=lang, mode="hybrid",
                result_count=0 if why == "none" else 3,
                best_score=None if why == "none" else 0.02,
                agreement=0.25 if why == "weak" else 1.0,
                result_topics=[] if why == "none" else [topic] * 3,
                answered=False if why == "no" else None,
            )],
            keep=1000,
        )  # fmt: skip


def test_owner_dashboard_charts(
    browser: Any,
    owner: Any,
    neo4j_driver: Driver,
    neo4j_connection: Connection,
    tmp_path: Path,
) -> None:
    _seed_demand(neo4j_driver, neo4j_connection.database)
    page = owner
    page.goto("/owners/IPR%20Team")
    trends = page.locator("#trends")
    topic_chart = trends.locator("svg#chart-topic")
    assert topic_chart.get_attribute("role") == "img"
    assert "by topic" in topic_chart.locator("title").first.text_content()
    assert "unanswered" in topic_chart.locator("desc").text_content()
    assert topic_chart.locator("rect").count() >= 3  # bars in several weeks
    table = trends.locator("table[data-chart='chart-topic']")
    assert table.locator("tbody tr").count() == 12  # one row per week
    assert "ipr/counterfeit" in (table.locator("thead").text_content() or "")  # in <details>
    assert trends.locator("svg#chart-language rect").count() >= 2
    language_head = trends.locator("table[data-chart='chart-language'] thead").text_content() or ""
    assert "ja" in language_head and "en" in language_head
    findings = trends.locator("table[data-chart='chart-findings'] tbody tr")
    assert findings.count() >= 1 and "mini-fakes" in (findings.first.text_content() or "")
    # The same data in the JSON.
    data = page.request.get(f"{changed_url_of(page)}/v1/owners/IPR%20Team/dashboard").json()
    assert len(data["demand_weekly"]["weeks"]) == 12
    assert data["demand_weekly"]["by_topic"][0]["key"] == "ipr/counterfeit"
    assert data["findings_by_version"]
    out = DOCS if os.environ.get("SOPKG_SCREENSHOTS") == "1" else tmp_path
    trends.locator("details").first.evaluate("e => e.open = true")
    # The charts pass the accessibility check too, in both languages (axe-core).
    for locale in ("en-US", "ja-JP"):
        checked = new_page(browser, changed_url_of(page), locale=locale, bypass_csp=True)
        sign_in(checked, OWNER_KEY)
        checked.goto("/owners/IPR%20Team")
        checked.locator("#trends details").evaluate_all("els => els.forEach(e => e.open = true)")
        assert axe_violations(checked) == [], locale
        checked.context.close()
    page.screenshot(path=str(out / "screenshot-dashboard-charts.png"), full_page=True)


def changed_url_of(page: Any) -> str:
    return "/".join(page.url.split("/")[:3])
