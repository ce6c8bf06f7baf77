"""Run the API with uvicorn: `sopkg serve` and the last step of `sopkg up`."""

from __future__ import annotations

import sys

import uvicorn

from kg.connection import resolve_connection
from kg.settings import Settings
from search_api.app import create_app
from search_api.auth import check_access_settings
from search_api.deps import IngestRunner


def serve_settings(settings: Settings, open_mode_hint: bool = False) -> Settings:
    """The settings to serve with. `open_mode_hint` (the quickstart) turns open mode on
    unless API keys are configured; explicit open mode (`--open`) always wins."""
    open_mode = settings.open_mode or (open_mode_hint and not settings.api_keys)
    served = settings.model_copy(update={"open_mode": open_mode})
    check_access_settings(served)  # ConfigError: no keys, or open mode off loopback
    return served


def base_url(settings: Settings) -> str:
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    return f"http://{host}:{settings.port}"


def serve(
    settings: Settings,
    open_mode_hint: bool = False,
    ingest_runner: IngestRunner | None = None,
) -> int:
    """Serve until interrupted; returns the exit code. Raises ConfigError (mapped by the
    CLI) for settings that would serve unprotected or name no usable Neo4j."""
    served = serve_settings(settings, open_mode_hint)
    conn = resolve_connection(served)  # fail now, not on the first request
    app = create_app(served, ingest_runner)
    url = base_url(served)
    if served.open_mode:
        note = "open mode: no API key needed, every caller is admin (this machine only)"
        if served.api_keys:
            note += "; the configured API keys are not checked"
    else:
        keys = served.keys()
        named = ", ".join(f"{k.name} ({k.role})" for k in keys)
        note = f"{len(keys)} API key(s) configured: {named}"
    print(f"sopkg API at {url}  (docs {url}/docs)", flush=True)
    print(f"Search page: {url}/", flush=True)
    print(f"  Neo4j: {conn.redacted()}", file=sys.stderr)
    print(f"  {note}", file=sys.stderr)
    if ingest_runner is None:
        print("  POST /v1/ingest is not available in this process", file=sys.stderr)
    uvicorn.run(app, host=served.host, port=served.port, log_level="info", ws="none")
    return 0
