"""Which finished requests the audit log records, and as what (search_api.audit)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from search_api.audit import AuditLog, AuditMiddleware, audit_event
from search_api.auth import Principal


@pytest.mark.parametrize(
    ("method", "path", "status", "event", "outcome"),
    [
        ("POST", "/v1/ingest", 200, "ingest", "ok"),
        ("POST", "/v1/ingest", 503, "ingest", "failed"),
        ("DELETE", "/v1/corpora/mini_corpus", 200, "corpus-removal", "ok"),
        ("DELETE", "/v1/corpora/nope", 404, "corpus-removal", "failed"),
        ("DELETE", "/v1/corpora/other", 403, "corpus-removal", "refused"),
        ("GET", "/v1/corpora", 403, "refused", "refused"),
        ("GET", "/v1/corpora", 200, None, None),
        ("GET", "/v1/corpora/mini_corpus", 404, None, None),
        ("POST", "/v1/search", 200, None, None),
    ],
)
def test_writes_and_refusals_are_audited(
    method: str, path: str, status: int, event: str | None, outcome: str | None
) -> None:
    scope = {
        "method": method,
        "path": path,
        "client": ("10.0.0.7", 5000),
        "state": {"principal": Principal(name="ops", role="admin")},
    }
    line = audit_event(scope, status)
    if event is None:
        assert line is None
        return
    assert line is not None
    assert (line["event"], line["outcome"], line["path"]) == (event, outcome, path)
    assert (line["key_name"], line["role"], line["client"]) == ("ops", "admin", "10.0.0.7")


def test_lines_are_written_in_the_order_the_requests_finished(tmp_path: Path) -> None:
    class SlowFirst(AuditLog):
        def write(self, event: dict[str, Any]) -> None:
            if event["path"].endswith("/first"):
                time.sleep(0.2)  # the first line's thread is slow to run
            super().write(event)

    async def refuse(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 401, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    audit = SlowFirst(tmp_path / "audit.log")
    middleware = AuditMiddleware(refuse, audit)

    async def request(path: str) -> None:
        scope = {"type": "http", "method": "GET", "path": path, "client": ("127.0.0.1", 1)}

        async def receive() -> Message:
            return {"type": "http.request", "body": b""}

        async def send(message: Message) -> None:
            return None

        await middleware(scope, receive, send)

    async def both() -> None:
        await asyncio.gather(request("/v1/first"), request("/v1/second"))

    asyncio.run(both())
    assert [e["path"] for e in audit.read()] == ["/v1/first", "/v1/second"]
