"""Every error the API answers with, mapped in one place to one JSON envelope:

    {"error": {"status": 422, "code": "invalid_input", "message": "query: must not be blank",
               "fields": [{"field": "query", "message": "must not be blank"}]}}

Project exceptions (`kg.errors`) are mapped by class here and nowhere else; request
validation errors and HTTP errors (401, 403, unknown route, wrong method) take the same
envelope. A last-resort handler turns anything unforeseen into a 500 envelope without
leaking internals (the e2e suite and the schema fuzzing show none happens).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from kg.errors import (
    ConfigError,
    EmbedderMismatch,
    GraphBusy,
    GraphUnavailable,
    InvalidInput,
    Neo4jServerError,
    NotFound,
    SopkgError,
)
from search_api.models import ErrorBody, ErrorDetail, ErrorField

log = logging.getLogger("sopkg.api")

RETRY_AFTER_SECONDS = 5

# Project exception -> (HTTP status, error code). Looked up along the class's MRO, so a
# new subclass of a listed error inherits its mapping; anything else is a 500.
STATUS_BY_ERROR: dict[type[SopkgError], tuple[int, str]] = {
    InvalidInput: (422, "invalid_input"),
    NotFound: (404, "not_found"),
    EmbedderMismatch: (409, "embedder_mismatch"),
    GraphBusy: (409, "graph_busy"),
    GraphUnavailable: (503, "graph_unavailable"),
    Neo4jServerError: (503, "graph_unavailable"),
    ConfigError: (503, "service_misconfigured"),
}

PUBLIC_MESSAGES: dict[str, str] = {
    "graph_unavailable": f"the graph database is not reachable; retry in {RETRY_AFTER_SECONDS} s",
    "service_misconfigured": "the server's settings name no usable graph database; "
    "see the server log",
}

CODE_BY_STATUS: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


def error_response(
    status: int,
    code: str,
    message: str,
    fields: Sequence[ErrorField] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = ErrorBody(
        error=ErrorDetail(status=status, code=code, message=message, fields=list(fields))
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def status_of(exc: SopkgError) -> tuple[int, str]:
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500, "internal_error"


def _project_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SopkgError)
    status, code = status_of(exc)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else None
    fields: list[ErrorField] = []
    if isinstance(exc, InvalidInput):
        fields = [ErrorField(field=exc.field, message=exc.message)]
    message = str(exc)
    if status >= 500:
        # Driver messages name hosts and ports: they go to the log, not to the client.
        log.warning("%s %s -> %d %s: %s", request.method, request.url.path, status, code, exc)
        message = PUBLIC_MESSAGES.get(code, "internal error; see the server log")
    return error_response(status, code, message, fields, headers)


def _field_name(loc: Sequence[Any]) -> str:
    # ("body", "query") -> "query"; ("query", "limit") -> "limit"; ("body",) -> "body"
    parts = [str(p) for p in loc]
    if len(parts) > 1 and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


def _clean_message(msg: str) -> str:
    # pydantic prefixes messages of custom validators with "Value error, ".
    return msg.removeprefix("Value error, ")


def first_problem(error: ValidationError, default_field: str) -> InvalidInput:
    """A model's first validation error as the project error naming its field, in the
    API's words (a search from the CLI, a page or an MCP tool, or a tool's arguments)."""
    first = error.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or default_field
    return InvalidInput(field, _clean_message(str(first["msg"])))


def _validation_fields(exc: RequestValidationError) -> list[ErrorField]:
    fields = []
    for e in exc.errors():
        loc, msg = e.get("loc", ()), _clean_message(str(e.get("msg")))
        if e.get("type") == "json_invalid":  # loc is ("body", <character position>)
            pos = loc[1] if len(loc) > 1 else "?"
            fields.append(ErrorField(field="body", message=f"{msg} at character {pos}"))
        else:
            fields.append(ErrorField(field=_field_name(loc), message=msg))
    return fields


def _fields_message(fields: Sequence[ErrorField]) -> str:
    return "; ".join(f"{f.field}: {f.message}" for f in fields) or "invalid request"


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = _validation_fields(exc)
    return error_response(422, "invalid_input", _fields_message(fields), fields)


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    code = CODE_BY_STATUS.get(status, "error" if status < 500 else "internal_error")
    return error_response(status, code, str(exc.detail), headers=exc.headers)


def _status_and_message(exc: Exception) -> tuple[int, str]:
    """What a refused request is told, for the page that says it (`PageError`)."""
    if isinstance(exc, RequestValidationError):
        return 422, _fields_message(_validation_fields(exc))
    assert isinstance(exc, StarletteHTTPException)
    return exc.status_code, str(exc.detail)


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error(
        "unhandled error on %s %s", request.method, request.url.path, exc_info=exc
    )  # the traceback goes to the log, never to the client
    return error_response(500, "internal_error", "internal error; see the server log")


# An error of a page address rendered as a page, or None for the JSON envelope (the web
# pages install theirs: search_api.web.routes.page_error).
PageError = Callable[[Request, int, str], Response | None]


def install_error_handlers(app: FastAPI, page_error: PageError | None = None) -> None:
    def as_page(json_handler: Callable[[Request, Exception], JSONResponse]) -> Any:
        def handler(request: Request, exc: Exception) -> Response:
            page = page_error(request, *_status_and_message(exc)) if page_error else None
            return page if page is not None else json_handler(request, exc)

        return handler

    app.add_exception_handler(SopkgError, _project_error)
    app.add_exception_handler(RequestValidationError, as_page(_validation_error))
    app.add_exception_handler(StarletteHTTPException, as_page(_http_error))
    app.add_exception_handler(Exception, _unexpected)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the error statuses an operation may answer."""
    text = {
        400: "The body could not be parsed at all (not UTF-8 text, a number or nesting too large)",
        401: "No API key, or an unknown one",
        403: "The key's role may not do this",
        404: "No such thing",
        409: "The graph was embedded with another model, or another ingest is running",
        413: "The request body is over 1 MB (search_api.http.MAX_BODY_BYTES)",
        415: "The body is not sent as JSON (Content-Type: application/json)",
        422: "Invalid input: `fields` names each offending field and why",
        429: "The key is over its request limit (retry after `Retry-After` seconds)",
        503: "Neo4j is unreachable (retry after `Retry-After` seconds)",
    }
    out: dict[int | str, dict[str, Any]] = {}
    for s in statuses:
        entry: dict[str, Any] = {"model": ErrorBody, "description": text.get(s, "Error")}
        if s in (429, 503):
            entry["headers"] = {
                "Retry-After": {
                    "description": "seconds to wait before retrying",
                    "schema": {"type": "integer"},
                }
            }
        out[s] = entry
    return out
