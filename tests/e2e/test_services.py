"""Defects that came from copies of one rule or one capability, each pinned over HTTP or
through the CLI against the real Neo4j test instance: a CLI ingest seen by a running
server, named API keys, and the CLI's answer when Neo4j is down."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kg.connection import Connection
from kg.embedders import Embedder
from kg.settings import Settings, legacy_key_name
from search_api.app import create_app
from tests.e2e.conftest import MINI, READER, ApiServer, make_settings, neo4j_env

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
NAMED_KEY = "named-reader-key-0123456789"


@pytest.fixture(scope="module")
def fresh_settings(
    neo4j_connection: Connection, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    # A short check interval: the test waits for the reload, never for a restart.
    state = tmp_path_factory.mktemp("state")
    return make_settings(neo4j_connection, corpus_check_seconds=0.2, state_dir=state)


@pytest.fixture(scope="module")
def fresh_url(
    mini_graph: dict[str, Any], fresh_settings: Settings, embedder: Embedder
) -> Iterator[str]:
    app = create_app(fresh_settings, embedder=embedder)
    with ApiServer(app) as server:
        yield server.url


def _cli(args: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sopkg.cli", *args],
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _search(url: str, **body: Any) -> dict[str, Any]:
    r = httpx.post(f"{url}/v1/search", json=body, headers=READER, timeout=60)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def test_cli_ingest_is_seen_by_a_running_server(
    fresh_url: str, fresh_settings: Settings, neo4j_connection: Connection, tmp_path: Path
) -> None:
    query = "zzyzx knockoff rule"
    before = _search(fresh_url, query=query, mode="hybrid")
    assert "zzyzx" not in before["expansion"]["matched"]
    # A word new to the English passages: the dictionary may translate into it only once
    # the server has read the graph's vocabulary again (in the background).
    ivory = "象牙のはんこ"
    assert not _search(fresh_url, query=ivory)["expansion"]["translated"]
    corpus = tmp_path / "mini_corpus"
    shutil.copytree(MINI, corpus)
    glossary = corpus / "glossary.yaml"
    glossary.write_text(
        glossary.read_text(encoding="utf-8") + "  - en: [zzyzx]\n    ja: [ズィジックス]\n",
        encoding="utf-8",
    )
    sop = corpus / "offplatform.en.md"
    sop.write_text(
        sop.read_text(encoding="utf-8").replace(
            "## Enforcement", "- {#p2} Ivory goods are removed.\n\n## Enforcement"
        ),
        encoding="utf-8",
    )
    env = neo4j_env(neo4j_connection)
    try:
        done = _cli(["ingest", str(corpus), "--name", "mini_corpus"], env)
        assert done.returncode == 0, done.stderr
        deadline = time.monotonic() + 10
        while True:  # the server checks the corpus stamp every 0.2 s
            after = _search(fresh_url, query=query, mode="hybrid")
            if "zzyzx" in after["expansion"]["matched"] or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert "zzyzx" in after["expansion"]["matched"]
        assert "ズィジックス" in after["expansion"]["ja_terms"]
        while True:
            translated = _search(fresh_url, query=ivory)["expansion"]["translated"]
            if translated or time.monotonic() > deadline + 20:
                break
            time.sleep(0.2)
        assert {"term": "象牙", "translation": "ivory", "score": 1.0} in translated
        # The vocabulary read again was kept for the next start (kg.vocabulary_store).
        saved = [json.loads(p.read_text(encoding="utf-8"))
                 for p in (fresh_settings.state_dir / "vocabulary").glob("*.json")]  # fmt: skip
        assert any("ivory" in v["terms"]["en"] for v in saved)
    finally:  # the module's other tests expect the mini corpus's own glossary
        restored = _cli(["ingest", str(MINI), "--name", "mini_corpus"], env)
        assert restored.returncode == 0, restored.stderr


def test_named_and_legacy_keys(
    mini_graph: dict[str, Any], neo4j_connection: Connection, embedder: Embedder
) -> None:
    settings = make_settings(
        neo4j_connection,
        api_keys={
            "moderation-web": {"key": NAMED_KEY, "role": "reader"},
            "legacy-key-0123456789": "owner",
        },
    )
    assert {(k.name, k.role) for k in settings.keys()} == {
        ("moderation-web", "reader"),
        (legacy_key_name("legacy-key-0123456789"), "owner"),
    }
    app = create_app(settings, embedder=embedder)
    with ApiServer(app) as server, httpx.Client(base_url=server.url, timeout=60) as c:
        named = {"X-API-Key": NAMED_KEY}
        assert c.get("/v1/topics", headers=named).status_code == 200
        assert c.get("/v1/coverage", headers=named).status_code == 403  # reader < owner
        legacy = {"Authorization": "Bearer legacy-key-0123456789"}
        assert c.get("/v1/coverage", headers=legacy).status_code == 200
        assert c.get("/v1/topics", headers={"X-API-Key": "moderation-web"}).status_code == 401


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    "args", [["ingest", str(MINI)], ["search", "コピー品"], ["coverage"], ["reembed"]]
)
def test_cli_says_neo4j_is_unavailable_in_one_line(args: list[str]) -> None:
    env = {
        "NEO4J_URI": f"bolt://127.0.0.1:{_closed_port()}",
        "NEO4J_USER": "neo4j",
        "NEO4J_PASSWORD": "unused-password",
    }
    done = _cli(args, env, timeout=120)
    assert done.returncode == 3, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("sopkg: Neo4j is unavailable"), done.stderr
