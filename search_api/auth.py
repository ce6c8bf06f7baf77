"""API keys and roles.

A key travels in `X-API-Key: <key>` or `Authorization: Bearer <key>`, or, for the web
pages and their JavaScript, in the HttpOnly cookie `sopkg_key` that the sign-in page sets
(`search_api.web`); the settings map each key to a role. A request authenticated by the
cookie alone with an unsafe method (POST, PUT, PATCH, DELETE) must come from this site:
its `Origin` (else `Referer`) must name this host, besides the cookie's SameSite=Strict
(CSRF protection). Roles are ordered: reader (search, read) < owner (also governance
data) < admin (also ingest). No key or an unknown key is 401; a known key whose role is
too low is 403. Keys are compared in constant time and never logged or echoed.

Open mode (`SOPKG_OPEN_MODE`, set by `sopkg serve --open` on a loopback host only) lets
every caller in as admin, for the local quickstart.
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from kg.errors import ConfigError
from kg.settings import ApiKey, Settings, get_settings
from search_api.models import Role

ROLE_RANK: dict[str, int] = {"reader": 1, "owner": 2, "admin": 3}

# auto_error=False: a missing key is answered here (401 in the error envelope).
api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="an API key from SOPKG_API_KEYS"
)
bearer = HTTPBearer(auto_error=False, description="the same API key as a bearer token")
SESSION_COOKIE = "sopkg_key"
api_key_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    description="the web pages' sign-in cookie (HttpOnly, SameSite=Strict); unsafe methods "
    "also need an Origin or Referer of this site",
)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="sopkg"'}


OPEN_MODE_NAME = "open-mode"


@dataclass(frozen=True)
class Principal:
    """Who calls: the configured key's name (never the key) and its role."""

    role: Role
    name: str
    open_mode: bool = False


def _match(presented: str, keys: list[ApiKey]) -> ApiKey | None:
    """The configured key presented; every key is compared (constant time)."""
    found: ApiKey | None = None
    given = presented.encode("utf-8", "surrogatepass")
    for k in keys:
        if hmac.compare_digest(given, k.key.encode("utf-8", "surrogatepass")):
            found = k
    return found


def same_origin(request: Request) -> bool:
    """True when the request's `Origin` (else its `Referer`) names this server's host and
    port: a request a page of this site sent, not one a page elsewhere made the browser send."""
    source = request.headers.get("origin") or request.headers.get("referer")
    host = request.headers.get("host")
    if not source or source == "null" or not host:
        return False
    return urlsplit(source).netloc.lower() == host.lower()


def refuse_foreign_pages(request: Request) -> None:
    """Open mode makes every caller an admin, which is safe only while the callers are this
    machine's own tools and pages. A page of another site can still reach 127.0.0.1 through
    the browser: by a name that resolves to it (DNS rebinding, seen here as a Host header that
    is no loopback name), or by sending a write straight to it (an Origin of another site).
    Both are refused; a tool without an Origin (curl, a script) is served as before."""
    host = urlsplit("//" + request.headers.get("host", "")).hostname
    if host is not None and not is_loopback(host):
        request.state.auth_refusal = "open mode: not a loopback Host"
        raise HTTPException(
            403,
            f"open mode answers requests to a loopback address only, not to Host {host!r}",
        )
    if (
        request.method not in SAFE_METHODS
        and request.headers.get("origin")
        and not same_origin(request)
    ):
        request.state.auth_refusal = "open mode: cross-site request"
        raise HTTPException(
            403, "cross-site request refused: open mode serves this site's pages only"
        )


def key_principal(presented: str, settings: Settings) -> Principal | None:
    """Who a key is, None when unknown (constant time); for the sign-in page."""
    found = _match(presented, settings.keys())
    return Principal(role=found.role, name=found.name) if found else None


async def principal(
    request: Request,
    settings: Annotated[Settings, Depends(get_settings)],
    x_api_key: Annotated[str | None, Security(api_key_header)] = None,
    authorization: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
    cookie_key: Annotated[str | None, Security(api_key_cookie)] = None,
) -> Principal:
    """The caller, as a route dependency. The request dependencies are `async` although
    they do no I/O: FastAPI runs a plain `def` dependency on its thread pool, a hop that
    every request paid five times and that waits for a free thread under load."""
    return resolve_principal(request, settings, x_api_key, authorization, cookie_key)


def resolve_principal(
    request: Request,
    settings: Settings,
    x_api_key: str | None,
    authorization: HTTPAuthorizationCredentials | None,
    cookie_key: str | None,
) -> Principal:
    """Who is calling, from a key header, a bearer token or the sign-in cookie (the API,
    the web pages and the MCP server)."""
    if settings.open_mode:
        refuse_foreign_pages(request)
        request.state.principal = Principal(role="admin", name=OPEN_MODE_NAME, open_mode=True)
        return request.state.principal
    presented = x_api_key or (authorization.credentials if authorization else None)
    if not presented and cookie_key:
        if request.method not in SAFE_METHODS and not same_origin(request):
            request.state.auth_refusal = "cross-site cookie request"
            raise HTTPException(
                403,
                "cross-site request refused: a cookie-authenticated request must come "
                "from this site (Origin or Referer)",
            )
        presented = cookie_key
    if not presented:
        request.state.auth_refusal = "no key"
        raise HTTPException(
            401, "an API key is required (header X-API-Key or Authorization: Bearer)", _CHALLENGE
        )
    found = _match(presented, settings.keys())
    if found is None:
        request.state.auth_refusal = "unknown key"
        raise HTTPException(401, "unknown API key", _CHALLENGE)
    # Who called, for the audit log (search_api.audit) once the response is known.
    request.state.principal = Principal(role=found.role, name=found.name)
    return request.state.principal


def require(role: Role) -> Any:
    """A dependency that admits callers whose role is at least `role`."""

    async def check(request: Request, who: Annotated[Principal, Depends(principal)]) -> Principal:
        if ROLE_RANK[who.role] < ROLE_RANK[role]:
            request.state.auth_refusal = f"role {who.role} below {role}"
            raise HTTPException(403, f"this needs the {role} role; the key's role is {who.role}")
        return who

    return Depends(check)


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_access_settings(settings: Settings) -> None:
    """Refuse settings that would serve without protection: no keys and no open mode, or
    open mode on an address other machines can reach."""
    if settings.open_mode and not is_loopback(settings.host):
        raise ConfigError(
            f"open mode (no API key) is for a loopback host only, not {settings.host!r}: "
            "bind 127.0.0.1, or configure SOPKG_API_KEYS instead"
        )
    if not settings.open_mode and not settings.api_keys:
        raise ConfigError(
            "no API keys configured: set SOPKG_API_KEYS, e.g. "
            """SOPKG_API_KEYS='{"moderation-web": {"key": "<a long random key>", "role": "reader"}}' """
            "(roles: reader, owner, admin), or run `sopkg serve --open` for a local-only "
            "quickstart without keys"
        )
