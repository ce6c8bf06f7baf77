"""Run the API with uvicorn: `sopkg serve` and the last step of `sopkg up`."""

from __future__ import annotations

import os
import socket
import sys
from typing import Any

import uvicorn

from kg.connection import resolve_connection
from kg.errors import ConfigError
from kg.settings import Settings
from search_api.app import create_app
from search_api.auth import check_access_settings
from search_api.deps import CorpusRemover, IngestRunner


def serve_settings(settings: Settings, open_mode_hint: bool = False) -> Settings:
    """The settings to serve with. `open_mode_hint` (the quickstart) turns open mode on
    unless API keys are configured; explicit open mode (`--open`) always wins."""
    open_mode = settings.open_mode or (open_mode_hint and not settings.api_keys)
    served = settings.model_copy(update={"open_mode": open_mode})
    check_access_settings(served)  # ConfigError: no keys, or open mode off loopback
    return served


# How the parent hands its (already checked) settings to worker processes: uvicorn starts
# each worker from an import string, so nothing but the environment reaches it.
WORKER_SETTINGS_ENV = "SOPKG_SERVE_SETTINGS_JSON"


def worker_settings() -> Settings:
    """In a worker process started by `serve`: the settings the parent serves with."""
    return Settings.model_validate_json(os.environ[WORKER_SETTINGS_ENV])


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """What every way of serving passes to uvicorn besides the app and the address."""
    return {"log_level": "info", "ws": "none", "timeout_keep_alive": settings.keep_alive_seconds}


def run_workers(settings: Settings, factory: str, **overrides: Any) -> None:
    """Serve with `settings.workers` processes, each building its app with `factory`
    ("module:function", no arguments; it reads `worker_settings()`)."""
    os.environ[WORKER_SETTINGS_ENV] = settings.model_dump_json()
    options = uvicorn_options(settings) | overrides
    uvicorn.run(
        factory, factory=True, workers=settings.workers, host=settings.host,
        port=settings.port, **options,
    )  # fmt: skip


def check_listen(settings: Settings) -> None:
    """Refuse, before the model and the graph are loaded, an address this process cannot
    listen on (a port in use, an address not of this machine): uvicorn would say so only
    once everything is loaded, and exit with the code the CLI gives an unreachable Neo4j."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((settings.host, settings.port))
        except OSError as e:
            raise ConfigError(
                f"cannot listen on {base_url(settings)}: {e.strerror or e} "
                "(another server on that port? choose one with --port or SOPKG_PORT)"
            ) from e


def base_url(settings: Settings) -> str:
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    return f"http://{host}:{settings.port}"


def serve(
    settings: Settings,
    open_mode_hint: bool = False,
    ingest_runner: IngestRunner | None = None,
    worker_factory: str | None = None,
    corpus_remover: CorpusRemover | None = None,
) -> int:
    """Serve until interrupted; returns the exit code. Raises ConfigError (mapped by the
    CLI) for settings that would serve unprotected or name no usable Neo4j.
    With `settings.workers` > 1, `worker_factory` builds each worker's app (see
    `run_workers`); the composition root passes its own, with the same ingest runner and remover."""
    served = serve_settings(settings, open_mode_hint)
    check_listen(served)
    conn = resolve_connection(served)  # fail now, not on the first request
    if served.workers > 1 and worker_factory is None:
        raise ConfigError("several workers need a worker app factory (use `sopkg serve`)")
    app = (
        create_app(served, ingest_runner, corpus_remover=corpus_remover)
        if served.workers == 1
        else None
    )
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
        print(
            "  POST /v1/ingest and DELETE /v1/corpora are not available in this process",
            file=sys.stderr,
        )
    if app is None:
        assert worker_factory is not None
        print(f"  {served.workers} worker processes", file=sys.stderr)
        run_workers(served, worker_factory)
    else:
        uvicorn.run(app, host=served.host, port=served.port, **uvicorn_options(served))
    return 0
