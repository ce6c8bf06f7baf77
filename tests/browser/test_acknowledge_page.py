"""Acknowledging a finding in headless Chromium: the findings page's button and form, the
acknowledged list with who and why, and the finding back in the open list, marked, when the
acknowledgement expires or its document changes."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kg.connection import Connection
from kg.embedders import Embedder
from search_api.app import create_app
from tests.browser.conftest import OWNER_KEY, ApiServer, new_page, sign_in
from tests.e2e.conftest import ADMIN, MINI, TODAY, make_settings
from tests.e2e.test_acknowledge import KEYS, LATER

pytestmark = pytest.mark.browser

ROW = "table.findings:not(.acknowledged) tr[data-kind='missing-translation']"
ACKED = "table.acknowledged tr[data-kind='missing-translation']"


@pytest.fixture(scope="module")
def urls(
    mini_graph: dict[str, Any], neo4j_connection: Connection, ingest_runner: Any,
    embedder: Embedder,
) -> Iterator[tuple[str, str]]:  # fmt: skip
    """The app as of TODAY, and the same graph as of 40 days later."""
    apps = [
        create_app(make_settings(neo4j_connection, api_keys=KEYS, today=day),
                   ingest_runner=ingest_runner, embedder=embedder)
        for day in (TODAY, LATER)
    ]  # fmt: skip
    with ApiServer(apps[0]) as now, ApiServer(apps[1]) as later:
        yield now.url, later.url


def _acknowledge(page: Any, reason: str, until: str | None) -> None:
    row = page.locator(ROW)
    row.get_by_text("Acknowledge", exact=True).click()
    row.get_by_label("Reason").fill(reason)
    if until:
        row.get_by_label("Until (optional)").fill(until)
    row.get_by_role("button", name="Acknowledge finding").click()
    page.wait_for_url("**/findings")


def test_acknowledge_list_expire_and_reopen_in_the_browser(
    browser: Any, urls: tuple[str, str], tmp_path: Path
) -> None:
    now_url, later_url = urls
    page = new_page(browser, now_url)
    later = new_page(browser, later_url)
    try:
        sign_in(page, OWNER_KEY, "/findings")
        sign_in(later, OWNER_KEY, "/findings")
        page.goto("/findings")
        assert page.locator(ROW).count() == 1
        reason = "English-only SOP for all markets"
        until = (TODAY + dt.timedelta(days=30)).isoformat()
        _acknowledge(page, reason, until)

        # listed apart, with who and why; gone from the open findings
        assert page.locator(ROW).count() == 0
        acked = page.locator(ACKED)
        assert acked.count() == 1
        assert "olga-owner" in acked.inner_text() and reason in acked.inner_text()
        assert until in acked.inner_text()

        # expired 40 days later: open again, marked
        later.goto("/findings")
        lapsed = later.locator(ROW).locator(".lapsed")
        assert lapsed.get_attribute("data-why") == "expired"
        assert "olga-owner" in lapsed.inner_text()

        # acknowledged again there, without expiry; then the document changes: open again
        _acknowledge(later, reason, None)
        assert later.locator(ACKED).count() == 1
        page.goto("/findings")
        assert page.locator(ACKED).count() == 1
        corpus = tmp_path / MINI.name
        shutil.copytree(MINI, corpus)
        doc = corpus / "offplatform.en.md"
        text = doc.read_text(encoding="utf-8").replace('version: "2.0"', 'version: "2.1"')
        doc.write_text(text.replace("within 24 hours", "within 12 hours"), encoding="utf-8")
        r = httpx.post(f"{now_url}/v1/ingest", json={"corpus": str(corpus)}, headers=ADMIN,
                       timeout=300)  # fmt: skip
        assert r.status_code == 200, r.text
        page.goto("/findings")
        assert page.locator(ACKED).count() == 0
        reopened = page.locator(ROW).locator(".lapsed")
        assert reopened.get_attribute("data-why") == "documents changed"
    finally:
        page.context.close()
        later.context.close()
