"""The owners' pages' data, from the coverage capability (search_api.coverage*), when this
server has it. Each function answers None when the capability is missing, and the page
says so."""

from __future__ import annotations

from typing import Any

from kg.settings import Settings
from search_api.auth import Principal
from search_api.deps import Runtime


def coverage(runtime: Runtime, settings: Settings, user: Principal) -> Any:
    return None


def findings(
    runtime: Runtime, settings: Settings, user: Principal, owner: str | None, kind: str | None
) -> Any:
    return None


def dashboard(runtime: Runtime, settings: Settings, user: Principal, owner: str) -> Any:
    return None


def changes(runtime: Runtime, settings: Settings, user: Principal) -> Any:
    return None


def document_changes(runtime: Runtime, settings: Settings, doc_id: str) -> Any:
    return None
