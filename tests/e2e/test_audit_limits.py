"""The audit log (API ingests, sign-ins, refusals for a key: time, key name, role, outcome,
never the key) and per-key request limits (429 with Retry-After), over HTTP."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kg.connection import Connection
from kg.embedders import Embedder
from search_api.app import create_app
from search_api.audit import AuditLog
from tests.e2e.conftest import ADMIN_KEY, MINI, OWNER_KEY, READER_KEY, ApiServer, make_settings

pytestmark = pytest.mark.e2e

KEYS = {
    "moderator-ana": {"key": READER_KEY, "role": "reader"},
    "owner-ipr": {"key": OWNER_KEY, "role": "owner"},
    "ops-admin": {"key": ADMIN_KEY, "role": "admin"},
}
WRONG_KEY = "not-a-key-of-ours-0123456789"


def serve(conn: Connection, embedder: Embedder, ingest_runner: Any, **overrides: Any) -> Any:
    settings = make_settings(conn, api_keys=KEYS, **overrides)
    return ApiServer(create_app(settings, ingest_runner=ingest_runner, embedder=embedder))


@pytest.fixture(scope="module")
def audited(
    mini_graph: dict[str, Any],
    neo4j_connection: Connection,
    embedder: Embedder,
    ingest_runner: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[httpx.Client, AuditLog]]:
    path = tmp_path_factory.mktemp("audit") / "audit.log"
    with (
        serve(neo4j_connection, embedder, ingest_runner, audit_log=path) as api,
        httpx.Client(base_url=api.url, timeout=300) as client,
    ):
        yield client, AuditLog(path)


def test_ingests_sign_ins_and_refusals_are_audited_without_the_key(
    audited: tuple[httpx.Client, AuditLog],
) -> None:
    client, audit = audited
    before = dt.datetime.now(dt.UTC)
    search = {"query": "counterfeit"}
    assert client.post("/v1/search", json=search).status_code == 401
    assert (
        client.post("/v1/search", json=search, headers={"X-API-Key": WRONG_KEY}).status_code == 401
    )
    assert client.get("/v1/coverage", headers={"X-API-Key": READER_KEY}).status_code == 403
    assert (
        client.post("/v1/search", json=search, headers={"X-API-Key": READER_KEY}).status_code == 200
    )
    body = {"corpus": str(MINI)}
    assert client.post("/v1/ingest", json=body, headers={"X-API-Key": OWNER_KEY}).status_code == 403
    r = client.post("/v1/ingest", json=body, headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert r.status_code == 200, r.text
    origin = {"Origin": str(client.base_url).rstrip("/")}
    r = client.post("/signin", data={"key": OWNER_KEY, "next": "/"}, headers=origin)
    assert r.status_code == 303
    r = client.post("/signin", data={"key": WRONG_KEY, "next": "/"}, headers=origin)
    assert r.status_code == 401

    # A line is written once its response has gone out: the last one may still be on its way.
    deadline = time.monotonic() + 10
    while len(audit.read()) < 7 and time.monotonic() < deadline:
        time.sleep(0.05)
    events = [(e["event"], e["key_name"], e["role"], e["outcome"], e["status"], e["reason"])
              for e in audit.read()]  # fmt: skip
    assert events == [
        ("refused", None, None, "refused", 401, "no key"),
        ("refused", None, None, "refused", 401, "unknown key"),
        ("refused", "moderator-ana", "reader", "refused", 403, "role reader below owner"),
        ("ingest", "owner-ipr", "owner", "refused", 403, "role owner below admin"),
        ("ingest", "ops-admin", "admin", "ok", 200, None),
        ("sign-in", "owner-ipr", "owner", "ok", 303, None),
        ("sign-in", None, None, "refused", 401, "unknown key"),
    ]
    for e in audit.read():
        assert dt.datetime.fromisoformat(e["time"]) >= before - dt.timedelta(seconds=1)
        assert e["client"] == "127.0.0.1"
    text = audit.path.read_text(encoding="utf-8")
    for secret in (READER_KEY, OWNER_KEY, ADMIN_KEY, WRONG_KEY):
        assert secret not in text
    assert audit.path.stat().st_mode & 0o077 == 0  # readable by the server's user only


def test_a_key_over_its_limit_gets_429_with_retry_after_and_others_go_on(
    mini_graph: dict[str, Any],
    neo4j_connection: Connection,
    embedder: Embedder,
    tmp_path: Path,
) -> None:
    with (
        serve(neo4j_connection, embedder, None, rate_limit_per_minute=3,
              audit_log=tmp_path / "audit.log") as api,
        httpx.Client(base_url=api.url, timeout=120) as client,
    ):  # fmt: skip
        reader = {"X-API-Key": READER_KEY}
        statuses = [client.get("/v1/topics", headers=reader).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        r = client.get("/v1/documents/mini-fakes", headers=reader)
        assert r.status_code == 429
        assert 1 <= int(r.headers["Retry-After"]) <= 20
        err = r.json()["error"]
        assert err["code"] == "too_many_requests" and "moderator-ana" in err["message"]
        # Another key has its own bucket; probes are never limited; a wrong key spends nothing.
        assert client.get("/v1/topics", headers={"X-API-Key": OWNER_KEY}).status_code == 200
        assert client.get("/healthz").status_code == 200
        assert client.get("/v1/topics", headers={"X-API-Key": WRONG_KEY}).status_code == 401
        schema = client.get("/openapi.json").json()
        assert "429" in schema["paths"]["/v1/search"]["post"]["responses"]
