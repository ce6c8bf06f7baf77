"""Policy-change impact over HTTP: searches are logged, a new version rewords a statement
those searches showed, and the change feed (`GET /v1/changes`, `sopkg changes`) and the
owner dashboard say how many recent searches showed it, with their query texts."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kg.connection import Connection
from kg.embedders import Embedder
from kg.settings import get_settings
from search_api.app import create_app
from search_api.deps import Runtime
from sopkg.cli import main
from tests.e2e.conftest import (
    ADMIN,
    MINI,
    OWNER,
    READER,
    TODAY,
    ApiServer,
    make_settings,
    neo4j_env,
)

pytestmark = pytest.mark.e2e

SHOWN = "mini-fakes#p2"  # "A new branded item priced below 30% of retail is hidden ..."
QUERIES = [
    "new branded item priced below retail",
    "new branded item priced below retail",
    "定価より安い新品ブランド品",
]


@pytest.fixture(scope="module")
def server(
    mini_graph: dict[str, Any],
    neo4j_connection: Connection,
    ingest_runner: Any,
    embedder: Embedder,
) -> Iterator[tuple[str, Runtime]]:
    app = create_app(make_settings(neo4j_connection), ingest_runner=ingest_runner,
                     embedder=embedder)  # fmt: skip
    with ApiServer(app) as api:
        yield api.url, app.state.runtime


def test_recent_searches_of_a_reworded_statement(
    server: tuple[str, Runtime], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    neo4j_connection: Connection, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    url, runtime = server
    with httpx.Client(base_url=url, timeout=120) as client:
        showed = 0
        for q in [*QUERIES, "replica of a branded item"]:
            r = client.post("/v1/search", json={"query": q}, headers=READER)
            assert r.status_code == 200, r.text
            showed += SHOWN in [x["unit"]["key"] for x in r.json()["results"]]
        assert showed >= len(QUERIES), "the searches must show the statement to be changed"
        runtime.query_log.flush()

        corpus = tmp_path / MINI.name  # same folder name: same corpus in the graph
        shutil.copytree(MINI, corpus)
        en = corpus / "fakes.en.md"
        text = en.read_text(encoding="utf-8")
        text = text.replace('version: "1.0"', 'version: "1.1"').replace(
            "effective: 2026-01-01", "effective: 2026-05-01"
        )
        en.write_text(text.replace("below 30% of retail", "below 40% of retail"), "utf-8")
        r = client.post("/v1/ingest", json={"corpus": str(corpus)}, headers=ADMIN)
        assert r.status_code == 200 and r.json()["written"] == 1, r.text

        r = client.get("/v1/changes", params={"since": "2026-04-01"}, headers=READER)
        assert r.status_code == 200, r.text
        [version] = r.json()["versions"]
        [change] = version["changes"]
        assert (change["item_id"], change["change"]) == ("p2", "reworded")
        recent = change["recent_searches"]
        assert recent["count"] == showed and recent["days"] == 30
        assert recent["queries"][0] == {"query": QUERIES[0], "count": 2}
        assert {"query": QUERIES[2], "count": 1} in recent["queries"]
        assert version["recent_searches"] == showed

        r = client.get("/v1/owners/IPR Team/dashboard", headers=OWNER)
        assert r.status_code == 200, r.text
        [top, *_] = r.json()["affected_searches"]
        assert (top["doc_id"], top["item_id"], top["recent_searches"]["count"]) == (
            "mini-fakes", "p2", showed)  # fmt: skip

        # the web pages show the same: the change feed and the owner's dashboard
        page = client.get("/changes", params={"since": "2026-04-01"}, headers=READER)
        assert page.status_code == 200
        assert f'class="help recent-searches" data-count="{showed}"' in page.text
        assert f"shown by {showed} searches in the last 30 days" in page.text
        page = client.get("/owners/IPR Team", headers=OWNER)
        assert page.status_code == 200
        board = page.text.split('id="affected-searches"', 1)[1].split("</section>", 1)[0]
        assert f'data-item="p2" data-count="{showed}"' in board
        assert f"<q>{QUERIES[0]}</q> (2)" in board

    # `sopkg changes` carries the same field
    for k, v in {**neo4j_env(neo4j_connection), "SOPKG_TODAY": TODAY.isoformat()}.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    try:
        assert main(["changes", "--since", "2026-04-01", "--format", "json"]) == 0
        feed = json.loads(capsys.readouterr().out)
        assert feed["versions"][0]["changes"][0]["recent_searches"]["count"] == showed
        assert main(["changes", "--since", "2026-04-01"]) == 0
        assert f"recent_searches: {showed} in 30 days" in capsys.readouterr().out
    finally:
        get_settings.cache_clear()
