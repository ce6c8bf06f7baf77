"""Acknowledging findings over HTTP: an owner acknowledges a finding with a reason (and an
expiry); it leaves the open findings and the counts and is listed apart with the key's name
and the reason; it comes back when the expiry passes or when its documents change; finding
ids stay the same across ingests while the findings do."""

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
from tests.e2e.conftest import (
    ADMIN,
    ADMIN_KEY,
    MINI,
    OWNER,
    OWNER_KEY,
    READER,
    READER_KEY,
    TODAY,
    ApiServer,
    make_settings,
)

pytestmark = pytest.mark.e2e

KEYS = {
    "rina-reader": {"key": READER_KEY, "role": "reader"},
    "olga-owner": {"key": OWNER_KEY, "role": "owner"},
    "adam-admin": {"key": ADMIN_KEY, "role": "admin"},
}
LATER = TODAY + dt.timedelta(days=40)


def _serve(conn: Connection, embedder: Embedder, runner: Any, today: dt.date) -> ApiServer:
    settings = make_settings(conn, api_keys=KEYS, today=today)
    return ApiServer(create_app(settings, ingest_runner=runner, embedder=embedder))


@pytest.fixture(scope="module")
def urls(
    mini_graph: dict[str, Any], neo4j_connection: Connection, ingest_runner: Any,
    embedder: Embedder,
) -> Iterator[tuple[str, str]]:  # fmt: skip
    """The API as of TODAY, and the same graph as of 40 days later."""
    with _serve(neo4j_connection, embedder, ingest_runner, TODAY) as now, \
            _serve(neo4j_connection, embedder, ingest_runner, LATER) as later:  # fmt: skip
        yield now.url, later.url


def _report(client: httpx.Client) -> dict[str, Any]:
    r = client.get("/v1/coverage", headers=OWNER)
    assert r.status_code == 200, r.text
    return r.json()


def _ids(rows: list[dict[str, Any]]) -> dict[str, tuple[str, str, str, str]]:
    return {f["id"]: (f["kind"], f["doc"], f["lang"], f["item"]) for f in rows}


def test_acknowledge_list_expire_and_reopen(urls: tuple[str, str], tmp_path: Path) -> None:
    now, later = (httpx.Client(base_url=u, timeout=120) for u in urls)
    with now, later:
        before = _report(now)
        [missing] = [f for f in before["findings"] if f["kind"] == "missing-translation"]
        assert missing["doc"] == "mini-offplatform" and missing["lapsed"] is None
        fid = missing["id"]
        url = f"/v1/findings/{fid}/acknowledge"
        reason = "no Japanese version planned: ALL-market English-only SOP"

        # who may, and what is refused
        assert now.post(url, json={"reason": reason}, headers=READER).status_code == 403
        assert now.post(url, json={"reason": reason}).status_code == 401
        assert now.post("/v1/findings/0123456789abcdef/acknowledge", json={"reason": reason},
                        headers=OWNER).status_code == 404  # fmt: skip
        for bad in ("   ", "a\u0000b"):
            refused = now.post(url, json={"reason": bad}, headers=OWNER)
            assert refused.status_code == 422, bad
            assert refused.json()["error"]["fields"][0]["field"] == "reason"
        past = now.post(url, json={"reason": reason, "expires": "2026-01-01"}, headers=OWNER)
        assert past.status_code == 422 and "expires" in past.text
        assert _report(now)["counts"] == before["counts"]  # nothing stored by the refusals

        # acknowledge: out of the open findings and counts, listed apart with who and why
        until = (TODAY + dt.timedelta(days=30)).isoformat()
        r = now.post(url, json={"reason": reason, "expires": until}, headers=OWNER)
        assert r.status_code == 200, r.text
        ack = r.json()["acknowledgement"]
        assert (ack["by"], ack["role"], ack["reason"], ack["expires"]) == (
            "olga-owner", "owner", reason, until)  # fmt: skip
        after = _report(now)
        assert fid not in _ids(after["findings"])
        assert after["counts"]["missing-translation"] == before["counts"]["missing-translation"] - 1
        [listed] = after["acknowledged"]
        assert listed["id"] == fid and listed["acknowledgement"]["by"] == "olga-owner"
        r = now.get("/v1/owners/Seller Trust/dashboard", headers=OWNER)
        assert [f["id"] for f in r.json()["acknowledged"]] == [fid]
        assert fid not in _ids(r.json()["findings"])

        # expire: 40 days later the acknowledgement (30 days) no longer holds
        lapsed = _report(later)
        [back] = [f for f in lapsed["findings"] if f["id"] == fid]
        assert back["lapsed"]["why"] == "expired" and back["lapsed"]["by"] == "olga-owner"
        assert lapsed["acknowledged"] == []

        # acknowledged again without expiry (by an admin): holds, also later
        r = now.post(url, json={"reason": reason}, headers=ADMIN)
        assert r.status_code == 200 and r.json()["acknowledgement"]["by"] == "adam-admin"
        assert [f["id"] for f in _report(later)["acknowledged"]] == [fid]

        # reopen: a new version of the document brings the finding back; ids are stable
        corpus = tmp_path / MINI.name  # same folder name: same corpus in the graph
        shutil.copytree(MINI, corpus)
        doc = corpus / "offplatform.en.md"
        text = doc.read_text(encoding="utf-8").replace('version: "2.0"', 'version: "2.1"')
        doc.write_text(text.replace("within 24 hours", "within 12 hours"), encoding="utf-8")
        r = now.post("/v1/ingest", json={"corpus": str(corpus)}, headers=ADMIN)
        assert r.status_code == 200 and r.json()["written"] == 1, r.text
        reopened = _report(now)
        [back] = [f for f in reopened["findings"] if f["id"] == fid]
        assert back["lapsed"]["why"] == "documents changed"
        assert reopened["acknowledged"] == []
        assert _ids(reopened["findings"]) == _ids(before["findings"])
