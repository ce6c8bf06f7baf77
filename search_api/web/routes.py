"""The web pages: search (`/`), documents, sign-in, and the owners' pages.

Pages are rendered on the server by calling the same service functions as the JSON API
(`search_api.services`), so a page shows exactly what the API answers, with the same
checks; pages check roles as the API does. The page's JavaScript (`static/app.js`) fetches the results fragment
(`/_results`) and posts to the JSON API with the sign-in cookie.

Auth in the browser: the sign-in form takes an API key and stores it in the HttpOnly,
SameSite=Strict cookie `sopkg_key` (Secure over https); `search_api.auth.principal`
accepts that cookie beside the headers. Forms that change state (sign-in, sign-out, the
language switch) are refused unless their Origin/Referer is this site. In open mode
every visitor is admin and no sign-in is needed.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from kg.errors import InvalidInput, NotFound, SopkgError
from kg.settings import Settings, get_settings
from ontology.rules import parse_day
from ontology.vocabulary import ALL_MARKETS, LANGUAGES, MARKETS
from search_api import services
from search_api.auth import (
    ROLE_RANK,
    SESSION_COOKIE,
    Principal,
    key_principal,
    resolve_principal,
    same_origin,
)
from search_api.deps import Runtime, get_runtime
from search_api.errors import status_of
from search_api.models import SearchResponse
from search_api.web import owner_data
from search_api.web.charts import dashboard_charts
from search_api.web.i18n import LANG_COOKIE, UI_LANGS, Labels, pick_lang
from search_api.web.render import render
from search_api.web.views import document_view, related_groups

log = logging.getLogger("sopkg.web")

SESSION_SECONDS = 12 * 3600
LANG_COOKIE_SECONDS = 365 * 24 * 3600

RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SettingsDep = Annotated[Settings, Depends(get_settings)]

pages = APIRouter(include_in_schema=False)


# --- who is asking, in which language ---------------------------------------------------
def who(request: Request, settings: Settings) -> Principal | None:
    """The visitor's principal from the sign-in cookie (or a key header), None when
    signed out or the key is no longer known. Same rules as the API (`auth.resolve_principal`)."""
    try:
        return resolve_principal(
            request,
            settings,
            x_api_key=request.headers.get("x-api-key"),
            authorization=None,
            cookie_key=request.cookies.get(SESSION_COOKIE),
        )
    except HTTPException:
        return None


def safe_next(target: str | None) -> str:
    """A local path to go back to after a form; anything else is the search page."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _path_with_query(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


class Page:
    """The context every page shares: labels, the visitor, the navigation."""

    def __init__(self, request: Request, settings: Settings, user: Principal | None) -> None:
        self.request = request
        self.settings = settings
        self.user = user
        self.ui_lang = pick_lang(request.cookies, request.headers.get("accept-language"))
        self.t = Labels(self.ui_lang)

    @property
    def is_owner(self) -> bool:
        return self.user is not None and ROLE_RANK[self.user.role] >= ROLE_RANK["owner"]

    def context(self, **values: Any) -> dict[str, Any]:
        return {
            "t": self.t,
            "ui_lang": self.ui_lang,
            "ui_langs": UI_LANGS,
            "user": self.user,
            "is_owner": self.is_owner,
            "open_mode": self.settings.open_mode,
            "here": _path_with_query(self.request),
            "path": self.request.url.path,
            "nav": self._nav(),
            **values,
        }

    def _nav(self) -> list[tuple[str, str]]:
        items = [("/", "nav.search")]
        if self.is_owner:
            items += [("/coverage", "nav.coverage"), ("/findings", "nav.findings")]
        if self.user is not None:
            items.append(("/changes", "nav.changes"))  # role reader, as GET /v1/changes
        return items

    def render(self, name: str, status: int = 200, **values: Any) -> HTMLResponse:
        return render(name, self.context(**values), status=status)

    def error(self, status: int, message: str) -> HTMLResponse:
        return self.render("error.html", status=status, status_code=status, message=message)


# Paths answered for programs: their errors stay the API's JSON envelope.
_MACHINE_PATHS = ("/v1/", "/openapi.json", "/docs", "/redoc", "/metrics", "/healthz",
                  "/readyz", "/static/", "/_results", "/_session")  # fmt: skip


def page_error(request: Request, status: int, detail: str) -> HTMLResponse | None:
    """An error of a page address as a page, for a browser (it asks for text/html): an
    unknown address (404), a method the page does not take (405), a path part it refuses
    (422). None for the API's paths and other clients, which get the JSON envelope."""
    if request.url.path.startswith(_MACHINE_PATHS):
        return None
    if "text/html" not in request.headers.get("accept", ""):
        return None
    settings: Settings = request.app.state.runtime.settings
    page = Page(request, settings, who(request, settings))
    message = page.t("error.no_page") if status == 404 else page.t("error.refused", message=detail)
    return page.error(status, message)


def _signin_redirect(request: Request) -> RedirectResponse:
    target = urlencode({"next": _path_with_query(request)})
    response = RedirectResponse(f"/signin?{target}", status_code=303)
    if request.cookies.get(SESSION_COOKIE):  # a key no longer known: forget it
        response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _error_page(page: Page, e: SopkgError) -> HTMLResponse:
    """A project error as a page with the API's status: the input refused (an owner no
    document has) is said as such, not as the graph being down."""
    status, _ = status_of(e)
    log.warning("page %s: %s", page.request.url.path, e)
    if status < 500:
        return page.error(status, page.t("error.refused", message=str(e)))
    return page.error(status, page.t("error.unavailable"))


# --- search -----------------------------------------------------------------------------
def _blank(v: str | None) -> str | None:
    return v if v else None


def _day(field: str, value: str | None) -> dt.date | None:
    """A date filter of a page's URL; InvalidInput (a 422 page saying why) when it is not
    one, rather than the filter silently dropped."""
    if not value:
        return None
    try:
        return parse_day(value)
    except ValueError as e:
        raise InvalidInput(field, str(e)) from None


def _run_search(
    page: Page,
    runtime: Runtime,
    q: str | None,
    market: str | None,
    topic: str | None,
    language: str | None,
) -> dict[str, Any]:
    """The search as the results template needs it: `response`, or `message`."""
    # Shown back in the search box: control characters (a NUL from a crafted link) are not
    # text an HTML page may hold.
    shown = "".join(ch for ch in q or "" if ch >= " " or ch == "\t")
    out: dict[str, Any] = {"response": None, "message": None, "query": shown}
    if q is None:
        return out
    t = page.t
    if not q.strip():
        out["message"] = t("search.empty")
        return out
    limit = page.settings.max_query_chars
    if len(q) > limit:
        out["message"] = t("search.too_long", n=len(q), max=limit)
        return out
    assert page.user is not None
    try:
        body = services.search_request(query=q, market=market, topic=topic, language=language)
        out["response"] = services.search(runtime, body, page.user)
    except InvalidInput as e:
        out["message"] = t("search.invalid", message=str(e))
    return out


def _results_context(page: Page, found: dict[str, Any]) -> dict[str, Any]:
    response: SearchResponse | None = found["response"]
    query_id = getattr(response, "query_id", None) if response is not None else None
    feedback = bool(query_id)  # answered through POST /v1/feedback (static/app.js)
    return {
        **found,
        "query_id": query_id,
        "feedback": feedback,
        "related_groups": related_groups,
        "other_lang": lambda lang: next((x for x in LANGUAGES if x != lang), lang),
    }


def _filters(runtime: Runtime, page: Page) -> dict[str, Any]:
    assert page.user is not None
    topics = services.topics(runtime).topics
    return {"markets": [*MARKETS, ALL_MARKETS], "topics": topics, "languages": LANGUAGES}


@pages.get("/", response_class=HTMLResponse)
def search_page(
    request: Request,
    runtime: RuntimeDep,
    settings: SettingsDep,
    q: Annotated[str | None, Query()] = None,
    market: Annotated[str | None, Query()] = None,
    topic: Annotated[str | None, Query()] = None,
    language: Annotated[str | None, Query()] = None,
) -> Response:
    user = who(request, settings)
    if user is None:
        return _signin_redirect(request)
    page = Page(request, settings, user)
    market, topic, language = _blank(market), _blank(topic), _blank(language)
    try:
        found = _run_search(page, runtime, q, market, topic, language)
        filters = _filters(runtime, page)
    except SopkgError as e:
        return _error_page(page, e)
    return page.render(
        "search.html",
        selected={"market": market, "topic": topic, "language": language},
        **filters,
        **_results_context(page, found),
    )


@pages.get("/_results", response_class=HTMLResponse)
def results_fragment(
    request: Request,
    runtime: RuntimeDep,
    settings: SettingsDep,
    q: Annotated[str | None, Query()] = None,
    market: Annotated[str | None, Query()] = None,
    topic: Annotated[str | None, Query()] = None,
    language: Annotated[str | None, Query()] = None,
) -> Response:
    """The results part of the search page, for the page's script (no full reload)."""
    user = who(request, settings)
    page = Page(request, settings, user)
    if user is None:
        return page.render("_message.html", status=401, message=page.t("search.signed_out"))
    t0 = time.perf_counter()
    try:
        found = _run_search(page, runtime, q or "", _blank(market), _blank(topic), _blank(language))
    except SopkgError as e:
        status, _ = status_of(e)
        log.warning("results: %s", e)
        return page.render("_message.html", status=status, message=page.t("error.unavailable"))
    t1 = time.perf_counter()
    response = page.render("_results.html", **_results_context(page, found))
    # How long the search and the rendering took (read by benchmarks/browser_latency.py).
    retrieval = found["response"].timings_ms.get("total", 0.0) if found["response"] else 0.0
    response.headers["Server-Timing"] = (
        f"retrieval;dur={retrieval:.1f}, search;dur={(t1 - t0) * 1000:.1f}, "
        f"render;dur={(time.perf_counter() - t1) * 1000:.1f}"
    )
    return response


# --- documents --------------------------------------------------------------------------
@pages.get("/documents/{doc_id}", response_class=HTMLResponse)
def document_page(
    request: Request,
    runtime: RuntimeDep,
    settings: SettingsDep,
    doc_id: Annotated[str, Path(max_length=200)],
    item: Annotated[str | None, Query(max_length=100)] = None,
    section: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    user = who(request, settings)
    if user is None:
        return _signin_redirect(request)
    page = Page(request, settings, user)
    try:
        doc = services.document(runtime, doc_id)
        changes = owner_data.document_changes(runtime, user, doc)
    except NotFound:
        return page.error(404, page.t("error.not_found", doc_id=doc_id))
    except SopkgError as e:
        return _error_page(page, e)
    view = document_view(
        doc,
        page.ui_lang,
        item,
        section,
        settings.effective_today(),
        settings.due_within_days,
    )
    return page.render("document.html", view=view, changes=changes)


# --- owners -----------------------------------------------------------------------------
def _owner_page(
    request: Request,
    settings: Settings,
    build: Callable[[Page], Response],
) -> Response:
    """An owner page: signed-out visitors sign in, readers get a 403 page."""
    user = who(request, settings)
    if user is None:
        return _signin_redirect(request)
    page = Page(request, settings, user)
    if not page.is_owner:
        role = page.t(f"role.{user.role}")
        return page.error(403, page.t("error.forbidden", role=role))
    try:
        return build(page)
    except SopkgError as e:
        return _error_page(page, e)


@pages.get("/coverage", response_class=HTMLResponse)
def coverage_page(request: Request, runtime: RuntimeDep, settings: SettingsDep) -> Response:
    def build(page: Page) -> Response:
        assert page.user is not None
        return page.render(
            "coverage.html", matrix=owner_data.coverage(runtime, settings, page.user)
        )

    return _owner_page(request, settings, build)


@pages.get("/findings", response_class=HTMLResponse)
def findings_page(
    request: Request,
    runtime: RuntimeDep,
    settings: SettingsDep,
    owner: Annotated[str | None, Query(max_length=200)] = None,
    kind: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    def build(page: Page) -> Response:
        assert page.user is not None
        found = owner_data.findings(runtime, settings, page.user, _blank(owner), _blank(kind))
        return page.render("findings.html", found=found)

    return _owner_page(request, settings, build)


@pages.post("/findings/{finding_id}/acknowledge", response_class=HTMLResponse)
async def acknowledge_finding(
    request: Request,
    runtime: RuntimeDep,
    settings: SettingsDep,
    finding_id: Annotated[str, Path(max_length=64)],
) -> Response:
    """The findings page's acknowledge form: POST /v1/findings/{id}/acknowledge's service."""
    form = await _form(request)

    def build(page: Page) -> Response:
        if not same_origin(request):
            return page.error(403, page.t("error.cross_site"))
        assert page.user is not None
        problem = owner_data.acknowledge(runtime, page.user, finding_id, form)
        if problem is not None:
            return page.error(422, page.t("findings.ack_invalid", message=problem))
        return RedirectResponse(safe_next(form.get("next") or "/findings"), status_code=303)

    return await run_in_threadpool(_owner_page, request, settings, build)


@pages.get("/owners/{owner}", response_class=HTMLResponse)
def dashboard_page(
    request: Request,
    runtime: RuntimeDep,
    settings: SettingsDep,
    owner: Annotated[str, Path(max_length=200)],
) -> Response:
    def build(page: Page) -> Response:
        assert page.user is not None
        board, owners = owner_data.dashboard(runtime, settings, page.user, owner)
        return page.render(
            "dashboard.html",
            status=200 if board else 404,
            owner=board.owner if board else owner,
            board=board,
            owners=owners,
            charts=dashboard_charts(board, page.t) if board else [],
        )

    return _owner_page(request, settings, build)


@pages.get("/changes", response_class=HTMLResponse)
def changes_page(
    request: Request,
    runtime: RuntimeDep,
    settings: SettingsDep,
    since: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    """The change feed: role reader, as GET /v1/changes."""
    user = who(request, settings)
    if user is None:
        return _signin_redirect(request)
    page = Page(request, settings, user)
    try:
        feed = owner_data.changes(runtime, settings, user, _day("since", since))
    except SopkgError as e:
        return _error_page(page, e)
    return page.render("changes.html", feed=feed)


# --- sign-in, sign-out, language ---------------------------------------------------------
async def _form(request: Request) -> dict[str, str]:
    """An urlencoded form body (no multipart dependency needed for three small forms)."""
    body = (await request.body())[:8192].decode("utf-8", "replace")
    return dict(parse_qsl(body, keep_blank_values=True))


@pages.get("/signin", response_class=HTMLResponse)
def signin_page(
    request: Request,
    settings: SettingsDep,
    next: Annotated[str | None, Query(max_length=2000)] = None,  # noqa: A002
    signed_out: Annotated[bool, Query()] = False,
) -> Response:
    page = Page(request, settings, who(request, settings))
    return page.render(
        "signin.html",
        next=safe_next(next),
        error=None,
        notice=page.t("signin.signed_out") if signed_out else None,
    )


@pages.get("/_session")
def session_check(request: Request, settings: SettingsDep) -> Response:
    """204 when this browser is signed in, else 401. The sign-in page asks this: a link
    followed from another site arrives without the SameSite=Strict cookie, and the page's
    own same-site request then finds it and goes on to where the link pointed."""
    return Response(status_code=204 if who(request, settings) else 401)


@pages.post("/signin", response_class=HTMLResponse)
async def signin(request: Request, settings: SettingsDep) -> Response:
    page = Page(request, settings, None)
    if not same_origin(request):
        return page.error(403, page.t("error.cross_site"))
    form = await _form(request)
    target = safe_next(form.get("next"))
    if settings.open_mode:
        return RedirectResponse(target, status_code=303)
    key = form.get("key", "").strip()
    who = key_principal(key, settings) if key else None
    if who is None:
        request.state.auth_refusal = "unknown key" if key else "no key"
        # The key is never echoed back, logged or put in a URL.
        message = page.t("signin.unknown" if key else "signin.empty")
        return page.render("signin.html", status=401, next=target, error=message, notice=None)
    request.state.principal = who  # for the audit log
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        key,
        max_age=SESSION_SECONDS,
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    log.info("web sign-in: key %s, role %s", who.name, who.role)
    return response


@pages.post("/signout", response_class=HTMLResponse)
async def signout(request: Request, settings: SettingsDep) -> Response:
    page = Page(request, settings, None)
    if not same_origin(request):
        return page.error(403, page.t("error.cross_site"))
    response = RedirectResponse("/signin?signed_out=true", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response


@pages.post("/ui-lang", response_class=HTMLResponse)
async def set_ui_lang(request: Request, settings: SettingsDep) -> Response:
    page = Page(request, settings, None)
    if not same_origin(request):
        return page.error(403, page.t("error.cross_site"))
    form = await _form(request)
    response = RedirectResponse(safe_next(form.get("next")), status_code=303)
    lang = form.get("lang")
    if lang in UI_LANGS:
        response.set_cookie(
            LANG_COOKIE,
            lang,
            max_age=LANG_COOKIE_SECONDS,
            path="/",
            secure=request.url.scheme == "https",
            samesite="lax",
        )
    return response
