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

from collections.abc import Callable, Mapping
from typing import Annotated, Any, TypeVar

from anyio import to_thread
from fastapi import HTTPException
from fastapi.security import HTTPAuthorizationCredentials
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, InputRequiredResult
from mcp_types import Tool as ToolInfo
from pydantic import BaseModel, Field, ValidationError
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from kg.errors import InvalidInput, SopkgError
from kg.settings import Settings
from ontology.governance import FindingKind
from search_api import services
from search_api.audit import AuditLog, AuditMiddleware, audit_event
from search_api.auth import ROLE_RANK, Principal, key_principal, resolve_principal
from search_api.deps import Runtime
from search_api.errors import CODE_BY_STATUS, error_response, first_problem, status_of
from search_api.limits import RateLimiter, over_limit

INSTRUCTIONS = """\
Search bilingual (Japanese/English) content-moderation SOPs and read them. Every search
result is one SOP statement or paragraph with a citation (document, version, effective
date, section, item, file and lines); quote `citation.ticket_line` when you cite it.
"""

T = TypeVar("T", bound=BaseModel)


def local_principal(settings: Settings, key: str | None) -> Principal:
    """Who a stdio client is: the given key's name and role, else the local user, trusted
    as the command line is (role admin). A key is checked against SOPKG_API_KEYS even in
    open mode: open mode opens HTTP to loopback callers, it does not make any key valid."""
    if key is None:
        return Principal(role="admin", name="local-stdio")
    found = key_principal(key, settings)
    if found is None:
        raise InvalidInput("--key", "not a key of SOPKG_API_KEYS")
    return found


def http_caller(request: Request, settings: Settings) -> Principal:
    """The API's own key check (`search_api.auth.resolve_principal`) on an MCP request:
    the same headers, open mode's loopback rule, the same 401 and 403 (HTTPException)."""
    bearer = request.headers.get("authorization", "")
    scheme, _, token = bearer.partition(" ")
    credentials = (
        HTTPAuthorizationCredentials(scheme=scheme, credentials=token.strip())
        if scheme.lower() == "bearer" and token.strip()
        else None
    )
    return resolve_principal(request, settings, x_api_key=request.headers.get("x-api-key"),
                             authorization=credentials, cookie_key=None)  # fmt: skip


def _tool_error(status: int, message: str) -> ToolError:
    return ToolError(f"{CODE_BY_STATUS.get(status, 'error')}: {message}")


def _argument_problem(tool: ToolInfo, arguments: Mapping[str, Any]) -> str | None:
    """An argument the tool does not take: named, as the API names an unknown field,
    instead of being dropped (a misspelt `as_of` would silently search today)."""
    known = set((tool.input_schema or {}).get("properties", {}))
    unknown = sorted(set(arguments) - known)
    if not unknown:
        return None
    return (f"{unknown[0]}: unknown argument of {tool.name}; it takes "
            f"{', '.join(sorted(known)) or 'none'}")  # fmt: skip


class SopServer(MCPServer):
    """The SDK's server with the API's strictness about arguments: tool schemas refuse
    unknown properties, and a call with one, or with a value of the wrong type, is a tool
    error `invalid_input: <field>: <reason>` (the SDK drops unknown arguments and returns
    pydantic's whole report)."""

    async def list_tools(self) -> list[ToolInfo]:
        tools = await super().list_tools()
        for tool in tools:
            tool.input_schema = {**(tool.input_schema or {}), "additionalProperties": False}
        return tools

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        tool = next((t for t in await super().list_tools() if t.name == name), None)
        problem = _argument_problem(tool, arguments) if tool is not None else None
        if problem is not None:
            raise ToolError(f"invalid_input: {problem}")
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as e:
            if isinstance(e.__cause__, ValidationError):
                raise ToolError(f"invalid_input: {first_problem(e.__cause__, 'arguments')}") from e
            # The SDK prefixes the tool's own errors; the text starts with the API's code.
            raise ToolError(str(e).removeprefix(f"Error executing tool {name}: ")) from e


def build_server(
    runtime: Runtime, stdio_principal: Principal | None = None, audit: AuditLog | None = None
) -> MCPServer:
    """The MCP server over `runtime`. `stdio_principal` is who a stdio client is; over
    HTTP each call's key decides, and a tool refused for the key's role is written to
    `audit` as the API's 403 is."""
    settings = runtime.settings
    mcp = SopServer(name="sopkg", instructions=INSTRUCTIONS, version="1.0.0")

    def who(ctx: Context) -> Principal:
        request = ctx.request_context.request
        if not isinstance(request, Request):  # stdio
            return stdio_principal or local_principal(settings, None)
        try:
            return http_caller(request, settings)
        except HTTPException as e:
            raise _tool_error(e.status_code, str(e.detail)) from e

    async def needs(ctx: Context, role: str, tool: str) -> Principal:
        caller = who(ctx)
        if ROLE_RANK[caller.role] < ROLE_RANK[role]:
            request = ctx.request_context.request
            if audit is not None and isinstance(request, Request):
                # The HTTP answer is 200 (a tool error inside): the refusal is logged here.
                request.state.auth_refusal = f"role {caller.role} below {role}"
                refused = audit_event(request.scope, 403)
                if refused is not None:
                    await to_thread.run_sync(audit.write, {**refused, "tool": tool})
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
        caller = await needs(ctx, "reader", "search_sops")

        def run() -> BaseModel:  # as_of is read as the API reads it (SearchRequest)
            request = services.search_request(query=query, market=market, topic=topic,
                                              language=language, as_of=as_of, limit=limit)  # fmt: skip
            return services.search(runtime, request, caller)

        return await call(run)

    @mcp.tool(description="A document: metadata, every version, and the sections of its "
              "current versions (the API's GET /v1/documents/{doc_id}).")  # fmt: skip
    async def get_document(ctx: Context, doc_id: str) -> dict[str, Any]:
        await needs(ctx, "reader", "get_document")
        return await call(lambda: services.document(runtime, doc_id))

    @mcp.tool(description="A statement in every language with the statements related to "
              "it; statement_id is <doc-id>.<item-id>, e.g. mini-fakes.p1.")  # fmt: skip
    async def get_statement(ctx: Context, statement_id: str) -> dict[str, Any]:
        await needs(ctx, "reader", "get_statement")
        return await call(lambda: services.statement(runtime, statement_id))

    @mcp.tool(description="Role owner. Coverage findings (gaps, stale documents, "
              "untranslated or contradictory statements, unanswered demand), optionally of "
              "some kinds or one owner's documents.")  # fmt: skip
    async def coverage_findings(
        ctx: Context, kinds: list[str] | None = None, owner: str | None = None
    ) -> dict[str, Any]:
        await needs(ctx, "owner", "coverage_findings")
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


class KeyGate:
    """Streamable HTTP behind the API's access rules, before the MCP transport: a request
    without a known key is 401, open mode refuses what it refuses on the API (403), and a
    key over `SOPKG_RATE_LIMIT_PER_MINUTE` is 429, each in the API's error envelope. The
    tools then check the key's role. The audit log (wrapped around this) records every 401
    and 403 as the API's does."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        per_minute = settings.effective_rate_limit()
        self.limiter = RateLimiter(per_minute) if per_minute else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = self._refusal(Request(scope))
            if refusal is not None:
                status = refusal.status_code
                response = error_response(status, CODE_BY_STATUS.get(status, "error"),
                                          str(refusal.detail), headers=refusal.headers)  # fmt: skip
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _refusal(self, request: Request) -> HTTPException | None:
        try:
            caller = http_caller(request, self.settings)
        except HTTPException as e:
            return e
        return over_limit(self.limiter, caller)


def http_app(runtime: Runtime) -> ASGIApp:
    """The MCP server as streamable HTTP at /mcp, behind the keys, its refusals in the
    audit log."""
    settings = runtime.settings
    audit = AuditLog(settings.audit_log_path())
    mcp = build_server(runtime, audit=audit)
    gated = KeyGate(mcp.streamable_http_app(host=settings.host), settings)
    return AuditMiddleware(gated, audit)
