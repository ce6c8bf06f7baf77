"""An MCP server (Model Context Protocol, the official Python SDK) for assistant tools.

Tools: `search_sops`, `get_document`, `get_statement` and, for owners, `coverage_findings`.
Each calls the service function the API route calls (`search_api.services`), so a tool
answers exactly what the API answers (the same cited results, as JSON), with the same
validation and the same project errors, which become tool errors naming the field.

Transports: stdio (`sopkg mcp`: a local process, trusted like the CLI unless a key is
given) and streamable HTTP (`sopkg mcp --http`), where every request needs an API key from
SOPKG_API_KEYS (or open mode on loopback) and a tool checks the key's role, as the API does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Annotated, Any, TypeVar

from anyio import to_thread
from fastapi import HTTPException
from fastapi.security import HTTPAuthorizationCredentials
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from kg.errors import InvalidInput, SopkgError
from kg.settings import Settings
from ontology.governance import FindingKind
from search_api import services
from search_api.auth import ROLE_RANK, Principal, resolve_principal
from search_api.deps import Runtime
from search_api.errors import status_of

INSTRUCTIONS = """\
Search bilingual (Japanese/English) content-moderation SOPs and read them. Every search
result is one SOP statement or paragraph with a citation (document, version, effective
date, section, item, file and lines); quote `citation.ticket_line` when you cite it.
"""

T = TypeVar("T", bound=BaseModel)


def local_principal(settings: Settings, key: str | None) -> Principal:
    """Who a stdio client is: the given key's name and role, else the local user, trusted
    as the command line is (role admin)."""
    if key is None:
        return Principal(role="admin", name="local-stdio")
    try:
        return _principal_from_headers({"x-api-key": key}, settings)
    except ToolError as e:
        raise InvalidInput("--key", "not a key of SOPKG_API_KEYS") from e


def _principal_from_headers(headers: Mapping[str, str], settings: Settings) -> Principal:
    """The API's own key check (`search_api.auth.principal`) on a request's headers."""
    scope = {"type": "http", "method": "POST", "path": "/mcp", "headers": [
        (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()
    ]}  # fmt: skip
    bearer = headers.get("authorization") or headers.get("Authorization") or ""
    scheme, _, token = bearer.partition(" ")
    credentials = (
        HTTPAuthorizationCredentials(scheme=scheme, credentials=token.strip())
        if scheme.lower() == "bearer" and token.strip()
        else None
    )
    x_api_key = headers.get("x-api-key") or headers.get("X-API-Key")
    try:
        return resolve_principal(Request(scope), settings, x_api_key=x_api_key,
                         authorization=credentials, cookie_key=None)  # fmt: skip
    except HTTPException as e:
        raise ToolError(f"unauthorized: {e.detail}") from e


def build_server(runtime: Runtime, stdio_principal: Principal | None = None) -> MCPServer:
    """The MCP server over `runtime`. `stdio_principal` is who a stdio client is; over
    HTTP each call's key decides."""
    settings = runtime.settings
    mcp = MCPServer(name="sopkg", instructions=INSTRUCTIONS, version="1.0.0")

    def who(ctx: Context) -> Principal:
        headers = ctx.headers
        if headers is None:  # stdio
            return stdio_principal or local_principal(settings, None)
        return _principal_from_headers(headers, settings)

    def needs(ctx: Context, role: str) -> Principal:
        caller = who(ctx)
        if ROLE_RANK[caller.role] < ROLE_RANK[role]:
            raise ToolError(
                f"forbidden: this needs the {role} role; the key's role is {caller.role}"
            )
        return caller

    async def call(fn: Callable[[], T]) -> dict[str, Any]:
        try:
            result = await to_thread.run_sync(fn)
        except SopkgError as e:
            _, code = status_of(e)
            raise ToolError(f"{code}: {e}") from e
        data: dict[str, Any] = result.model_dump(mode="json")
        return data

    @mcp.tool(
        description="Search the SOPs in Japanese or English. Returns the API's search "
        "response: ranked results, each with its text, translation, citation and related "
        "exceptions, enforcement and escalation."
    )
    async def search_sops(
        ctx: Context,
        query: Annotated[str, Field(description="the question, in Japanese or English")],
        market: Annotated[
            str | None,
            Field(
                description="only documents for this market: JP, SG, MY, TH, "
                "VN, PH, ID (documents for ALL always match)"
            ),  # fmt: skip
        ] = None,
        topic: Annotated[str | None, Field(description="a topic path or below, e.g. ipr")] = None,
        language: Annotated[str | None, Field(description="only passages in en or ja")] = None,
        as_of: Annotated[
            str | None, Field(description="YYYY-MM-DD: the SOPs in effect on that date")
        ] = None,
        limit: Annotated[int, Field(description="results, 1-50")] = 10,
    ) -> dict[str, Any]:
        caller = needs(ctx, "reader")
        try:
            when = dt.date.fromisoformat(as_of) if as_of else None
        except ValueError as e:
            raise ToolError("invalid_input: as_of: a date YYYY-MM-DD") from e

        def run() -> BaseModel:
            request = services.search_request(query=query, market=market, topic=topic,
                                              language=language, as_of=when, limit=limit)  # fmt: skip
            return services.search(runtime, request, caller)

        return await call(run)

    @mcp.tool(description="A document: metadata, every version, and the sections of its "
              "current versions (the API's GET /v1/documents/{doc_id}).")  # fmt: skip
    async def get_document(ctx: Context, doc_id: str) -> dict[str, Any]:
        needs(ctx, "reader")
        return await call(lambda: services.document(runtime, doc_id))

    @mcp.tool(description="A statement in every language with the statements related to "
              "it; statement_id is <doc-id>.<item-id>, e.g. mini-fakes.p1.")  # fmt: skip
    async def get_statement(ctx: Context, statement_id: str) -> dict[str, Any]:
        needs(ctx, "reader")
        return await call(lambda: services.statement(runtime, statement_id))

    @mcp.tool(description="Role owner. Coverage findings (gaps, stale documents, "
              "untranslated or contradictory statements, unanswered demand), optionally of "
              "some kinds or one owner's documents.")  # fmt: skip
    async def coverage_findings(
        ctx: Context, kinds: list[str] | None = None, owner: str | None = None
    ) -> dict[str, Any]:
        needs(ctx, "owner")
        known = {k.value for k in FindingKind}
        wrong = sorted(set(kinds or []) - known)
        if wrong:
            raise ToolError(f"invalid_input: kinds: unknown {', '.join(wrong)}; "
                            f"known: {', '.join(sorted(known))}")  # fmt: skip
        wanted = [FindingKind(k) for k in kinds] if kinds else None
        report = await call(lambda: services.coverage(runtime, wanted, owner))
        return {"today": report.get("today"), "counts": report.get("counts"),
                "findings": report["findings"]}  # fmt: skip

    return mcp


class RequireKey:
    """Streamable HTTP behind the API keys: a request without a known key is answered
    401 before it reaches the MCP transport (the tools then check the role)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            try:
                _principal_from_headers(headers, self.settings)
            except ToolError as e:
                body = {"error": {"status": 401, "code": "unauthorized", "message": str(e),
                                  "fields": []}}  # fmt: skip
                response = JSONResponse(body, status_code=401,
                                        headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def http_app(mcp: MCPServer, settings: Settings) -> ASGIApp:
    """The streamable HTTP app at /mcp, behind the keys."""
    return RequireKey(mcp.streamable_http_app(host=settings.host), settings)
