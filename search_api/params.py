"""Query parameters a route does not take are refused, not ignored.

FastAPI passes over a query parameter no route declares, so `GET /v1/coverage?ownr=IPR`
answered the whole report as if unfiltered: a misspelt filter looked like no findings for
that owner. Every API route gets this dependency (search_api.app), which names the first
unknown parameter in a 422, as a misspelt body field is named.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from kg.errors import InvalidInput


async def known_query_params(request: Request) -> None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    declared = _query_names(route.dependant)  # a few nodes: no cache needed
    unknown = sorted(set(request.query_params) - declared)
    if unknown:
        takes = ", ".join(sorted(declared)) or "none"
        raise InvalidInput(unknown[0], f"is not a parameter of this route (it takes: {takes})")


def _query_names(dependant: Dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names
