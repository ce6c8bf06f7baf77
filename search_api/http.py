"""HTTP conventions for every route, as plain ASGI middleware (no route knows of them):

- `HeadAsGet`: HEAD is answered for every GET route (uptime checks and link checkers send
  HEAD): the request runs as GET and the body is dropped, keeping GET's headers.
- `ConditionalGet`: the document, statement and coverage reads carry a weak `ETag` (a hash
  of the body) and answer `304 Not Modified` to a matching `If-None-Match`. The body is
  still built (the graph has no cheap version stamp per owner or filter), but a client
  that already holds it does not receive it again.
- gzip for large JSON is Starlette's `GZipMiddleware` (installed by `install_http`).
- `RequestBody`: a body over `MAX_BODY_BYTES` is refused with 413 before it is read whole
  (by its Content-Length, or as a chunked body passes the limit), and a body sent to the
  JSON API (`/v1/...`) under another Content-Type with 415, instead of being parsed.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from search_api.errors import CODE_BY_STATUS, error_response

GZIP_MIN_BYTES = 1024
# The largest request the API takes is a search of SOPKG_MAX_QUERY_CHARS characters or an
# acknowledgement of 500: a few KB. A megabyte leaves room and keeps a client from making
# the server read and parse megabytes.
MAX_BODY_BYTES = 1 << 20
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The reads that answer with an ETag (GET and HEAD): the API's document, statement,
# coverage and dashboard reads.
CONDITIONAL_PATHS = re.compile(
    r"^/v1/(documents/[^/]+|statements/[^/]+|coverage|owners/[^/]+/dashboard)$"
)


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body"):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)


# When a report was generated says nothing about its content: left out of the ETag, or the
# coverage and dashboard reads would change representation every second.
_GENERATED_AT = re.compile(rb'"generated_at":\s*"[^"]*"')


def etag_of(body: bytes) -> str:
    return 'W/"' + hashlib.sha256(_GENERATED_AT.sub(b"", body)).hexdigest()[:32] + '"'


def _matches(if_none_match: str, etag: str) -> bool:
    wanted = {t.strip() for t in if_none_match.split(",")}
    # Weak comparison (RFC 9110 13.1.2): W/"x" and "x" name the same representation.
    return "*" in wanted or etag in wanted or etag.removeprefix("W/") in wanted


class ConditionalGet:
    def __init__(self, app: ASGIApp, paths: re.Pattern[str] = CONDITIONAL_PATHS) -> None:
        self.app = app
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or not self.paths.match(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def buffer(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                if start["status"] != 200:  # errors pass through untouched
                    await send(message)
                return
            assert start is not None
            if start["status"] != 200:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            await self._answer(scope, start, b"".join(chunks), send)

        await self.app(scope, receive, buffer)

    @staticmethod
    async def _answer(scope: Scope, start: Message, body: bytes, send: Send) -> None:
        etag = etag_of(body)
        request_headers = {k.decode("latin-1").lower(): v for k, v in scope["headers"]}
        if_none_match = request_headers.get("if-none-match", b"").decode("latin-1")
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"etag"]
        headers += [(b"etag", etag.encode()), (b"cache-control", b"private, no-cache")]
        if if_none_match and _matches(if_none_match, etag):
            kept = [(k, v) for k, v in headers if k.lower() not in (b"content-length",
                                                                    b"content-type")]  # fmt: skip
            await send({"type": "http.response.start", "status": 304, "headers": kept})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class RequestBody:
    """Bodies the API will not read: too large (413), or not JSON on `/v1/...` (415)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope["headers"]}
        declared = headers.get(b"content-length", b"").strip()
        # (The HTTP server refuses a Content-Length that is no number before this runs.)
        length = int(declared) if declared.isdigit() else None
        if length is not None and length > MAX_BODY_BYTES:
            await _refuse(scope, receive, send, 413, _TOO_LARGE)
            return
        sends_body = bool(length) or b"transfer-encoding" in headers
        if sends_body and scope["path"].startswith("/v1/"):
            media = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
            if media != b"application/json" and not media.endswith(b"+json"):
                shown = media.decode("latin-1") or "none"
                said = f"the API reads JSON: send Content-Type: application/json, not {shown}"
                await _refuse(scope, receive, send, 415, said)
                return
        if length is not None:
            await self.app(scope, receive, send)
            return
        # A chunked body: read here up to the limit, then handed on as if just received.
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > MAX_BODY_BYTES:
                await _refuse(scope, receive, send, 413, _TOO_LARGE)
                return
        whole: list[Message] = [{"type": "http.request", "body": b"".join(chunks)}]

        async def replay() -> Message:
            return whole.pop() if whole else await receive()

        await self.app(scope, replay, send)


_TOO_LARGE = f"the request body is larger than {MAX_BODY_BYTES / 2**20:g} MB"


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, message: str) -> None:
    await error_response(status, CODE_BY_STATUS[status], message)(scope, receive, send)


def install_http(app: FastAPI) -> None:
    """Last added runs first: a body is measured before anything reads it, HEAD becomes
    GET before gzip and the ETag see it, and the ETag is taken over the uncompressed body
    (weak, so gzip does not change it)."""
    app.add_middleware(ConditionalGet)
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MIN_BYTES)
    app.add_middleware(HeadAsGet)
    app.add_middleware(RequestBody)


def document_conditional_reads(schema: dict[str, Any]) -> None:
    """The OpenAPI schema names the ETag and the 304 answer on the conditional reads."""
    for path, item in schema.get("paths", {}).items():
        get = item.get("get")
        if get is None or not CONDITIONAL_PATHS.match(re.sub(r"\{[^}]+\}", "x", path)):
            continue
        params = get.setdefault("parameters", [])
        if any(p.get("name") == "If-None-Match" for p in params):
            continue  # already documented (the schema is built once and kept)
        params.append(
            {
                "name": "If-None-Match",
                "in": "header",
                "required": False,
                "description": "the ETag of a copy held; 304 when it is still current",
                "schema": {"type": "string"},
            }
        )
        get["responses"].setdefault(
            "304", {"description": "not modified: the copy held is current"}
        )
        ok = get["responses"].get("200")
        if ok is not None:
            ok.setdefault("headers", {})["ETag"] = {
                "description": "weak validator of this body (send it as If-None-Match)",
                "schema": {"type": "string"},
            }
