"""The audit log: who ingested or removed a corpus, who signed in, and every request
refused for its key.

One ASGI middleware sees every response's status and records, as one JSON line each:
every POST /v1/ingest and DELETE /v1/corpora/{name} (whatever its outcome), every sign-in
on the web page (`POST /signin`), and every 401 or 403 on any route. A line holds the time
(UTC), the event, the key's name and role when known (never the key: an unknown key has no
name), the outcome, the HTTP status, method, path and the client's address. Who the caller
was comes from `request.state` (`principal`, `auth_refusal`), which authentication fills
in; routes hold no audit code.

Lines go to the file `SOPKG_AUDIT_LOG` (default `<state>/audit.log`, appended, mode 0600)
and to the `sopkg.audit` logger. A line that cannot be written is reported in the server
log and never fails the request.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("sopkg.audit")

ACTIONS: dict[tuple[str, str], str] = {
    ("POST", "/v1/ingest"): "ingest",
    ("POST", "/signin"): "sign-in",
}
# Routes with a path parameter: the action of every path under the prefix.
PREFIX_ACTIONS: dict[tuple[str, str], str] = {
    ("DELETE", "/v1/corpora/"): "corpus-removal",
}


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def write(self, event: dict[str, Any]) -> None:
        line = json.dumps(event, ensure_ascii=False, sort_keys=True)
        log.info("%s", line)
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                with os.fdopen(fd, "a", encoding="utf-8") as f:
                    f.write(line + "\n")
        except OSError as e:
            log.error("audit log %s not written: %s", self.path, e)

    def read(self) -> list[dict[str, Any]]:
        """Every recorded event (tests, operators' scripts)."""
        if not self.path.exists():
            return []
        with self._lock:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        return [json.loads(ln) for ln in lines if ln.strip()]


def audit_event(scope: Scope, status: int) -> dict[str, Any] | None:
    """The line to record for a finished request, or None when it is not audited."""
    method, path = scope.get("method", ""), scope.get("path", "")
    action = ACTIONS.get((method, path)) or next(
        (a for (m, prefix), a in PREFIX_ACTIONS.items() if m == method and path.startswith(prefix)),
        None,
    )
    refused = status in (401, 403)
    if action is None and not refused:
        return None
    state = scope.get("state") or {}
    who = state.get("principal")
    if status < 400:
        outcome = "ok"
    elif refused or status == 429:
        outcome = "refused"
    else:
        outcome = "failed"
    client = scope.get("client")
    return {
        "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
        "event": action or "refused",
        "key_name": getattr(who, "name", None),
        "role": getattr(who, "role", None),
        "outcome": outcome,
        "reason": state.get("auth_refusal"),
        "status": status,
        "method": method,
        "path": path,
        "client": client[0] if client else None,
    }


class AuditMiddleware:
    def __init__(self, app: ASGIApp, audit: AuditLog) -> None:
        self.app = app
        self.audit = audit
        # Lines are written off the event loop, one at a time and in the order the requests
        # finished (asyncio.Lock serves its waiters first come, first served): two thread
        # pool jobs started one after the other may otherwise run in the other order.
        self._in_order = asyncio.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # an exception escaping the app is answered 500 by the server

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            event = audit_event(scope, status)
            if event is not None:
                async with self._in_order:
                    await run_in_threadpool(self.audit.write, event)
