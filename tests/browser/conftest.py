"""Fixtures of the browser tests: the app (API + web pages) served by uvicorn in a
background thread like the e2e suite (its fixtures are reused: the real Neo4j test
instance with tests/data/mini_corpus ingested), and headless Chromium from Debian's
package (`apt-get install chromium`) driven by Playwright for Python. No browser is
downloaded: Playwright launches /usr/bin/chromium (or SOPKG_TEST_CHROMIUM).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kg.embedders import Embedder
from kg.settings import Settings
from search_api.app import create_app
from tests.e2e.conftest import (  # noqa: F401  (fixtures reused from the e2e suite)
    ADMIN_KEY,
    OWNER_KEY,
    READER_KEY,
    ApiServer,
    api_settings,
    ingest_runner,
    make_settings,
    mini_graph,
)

CHROMIUM = os.environ.get("SOPKG_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DOCS = Path(__file__).resolve().parents[2] / "docs"
WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def web_url(  # noqa: F811  (the parameters are the e2e fixtures imported above)
    mini_graph: dict[str, Any],  # noqa: F811
    api_settings: Settings,  # noqa: F811
    ingest_runner: Any,  # noqa: F811
    embedder: Embedder,
) -> Iterator[str]:
    """The app with API keys (reader, owner, admin) on the mini corpus."""
    app = create_app(api_settings, ingest_runner=ingest_runner, embedder=embedder)
    with ApiServer(app) as server:
        yield server.url


@pytest.fixture(scope="module")
def open_url(
    mini_graph: dict[str, Any],  # noqa: F811
    api_settings: Settings,  # noqa: F811
    embedder: Embedder,
) -> Iterator[str]:
    """The same app in open mode (the local quickstart): no sign-in."""
    settings = api_settings.model_copy(update={"open_mode": True, "api_keys": {}})
    with ApiServer(create_app(settings, embedder=embedder)) as server:
        yield server.url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one test module (closed after it, so that no browser and no
    Playwright loop outlive the browser tests in a whole-suite run)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the browser tests need Playwright for Python: pip install -e '.[dev]'")
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: apt-get install -y chromium "
            "(or set SOPKG_TEST_CHROMIUM); never `playwright install`"
        )
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def new_page(
    browser: Any,
    base_url: str,
    locale: str = "en-US",
    viewport: dict[str, int] = WIDE,
    bypass_csp: bool = False,
) -> Any:
    """`bypass_csp` lets a test inject a script (axe-core) past the pages' CSP."""
    context = browser.new_context(
        base_url=base_url,
        bypass_csp=bypass_csp,
        locale=locale,
        viewport=viewport,
        permissions=["clipboard-read", "clipboard-write"],
    )
    context.set_default_timeout(15_000)
    return context.new_page()


def sign_in(page: Any, key: str, next_path: str = "/") -> None:
    """Through the sign-in form, as a person would."""
    page.goto(f"/signin?next={next_path}")
    page.get_by_label("API key").or_(page.get_by_label("APIキー")).fill(key)
    page.locator("form[action='/signin'] button[type=submit]").click()
    page.wait_for_url(lambda url: "/signin" not in url)


@pytest.fixture()
def reader_page(browser: Any, web_url: str) -> Iterator[Any]:
    page = new_page(browser, web_url)
    sign_in(page, READER_KEY)
    yield page
    page.context.close()


@pytest.fixture()
def owner_page(browser: Any, web_url: str) -> Iterator[Any]:
    page = new_page(browser, web_url)
    sign_in(page, OWNER_KEY)
    yield page
    page.context.close()
