"""Shared fixtures of the end-to-end tests: the API served by uvicorn on a free loopback
port in a background thread, spoken to over HTTP with httpx, against the real Neo4j test
instance with tests/data/mini_corpus ingested once per module. Also a loopback TCP
forwarder that a test can stop and restart to take Neo4j away from the API.
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from neo4j import Driver

from ingest.pipeline import ingest_corpus
from kg.connection import Connection
from kg.embedders import Embedder
from kg.settings import Settings
from kg.writer import GraphWriter
from search_api.app import create_app
from sopkg.cli import _corpus_remover

MINI = Path(__file__).resolve().parents[1] / "data" / "mini_corpus"
# A fixed "today" after every effective date of the mini corpus, before its review dates.
TODAY = dt.date(2026, 6, 1)

READER_KEY = "e2e-reader-key-0123456789"
OWNER_KEY = "e2e-owner-key-0123456789"
ADMIN_KEY = "e2e-admin-key-0123456789"
READER = {"X-API-Key": READER_KEY}
OWNER = {"X-API-Key": OWNER_KEY}
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


# --- servers ----------------------------------------------------------------------------
class ApiServer:
    """uvicorn serving `app` on 127.0.0.1:<free port> in a daemon thread."""

    def __init__(self, app: FastAPI, startup_timeout: float = 60.0) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))  # the port is ours from here: no race
        self.port: int = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.startup_timeout = startup_timeout
        config = uvicorn.Config(app, log_level="warning", ws="none", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> ApiServer:
        self.thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not self.server.started:
            if not self.thread.is_alive():
                self.sock.close()
                raise RuntimeError("the API server stopped during startup (see the log)")
            if time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise TimeoutError(f"the API did not start within {self.startup_timeout} s")
            time.sleep(0.05)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.sock.close()


class TcpForwarder:
    """Forwards 127.0.0.1:<port> to a target address until stopped; restartable on the
    same port. Stopping also cuts every open connection, as a Neo4j crash would."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port: int = probe.getsockname()[1]
        probe.close()
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()

    def start(self) -> None:
        assert self._listener is None, "already running"
        self._stop.clear()
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        listener.settimeout(0.1)
        self._listener = listener
        self._spawn(self._accept_loop, listener)

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            conns = list(self._open)
            self._open.clear()
        for s in conns:
            _close(s)
        for t in self._threads:
            t.join(timeout=5)
        self._threads = []
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def _spawn(self, target: Any, *args: Any) -> None:
        t = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(t)
        t.start()

    def _accept_loop(self, listener: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self._lock:
                if self._stop.is_set():
                    client.close()
                    upstream.close()
                    return
                self._open.update((client, upstream))
            self._spawn(self._pump, client, upstream)
            self._spawn(self._pump, upstream, client)

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open.discard(src)
                self._open.discard(dst)
            _close(src)
            _close(dst)


def _close(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()


# --- settings, graph, app ---------------------------------------------------------------
def make_settings(conn: Connection, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "neo4j_uri": conn.uri,
        "neo4j_user": conn.user,
        "neo4j_password": conn.password,
        "neo4j_database": conn.database,
        "api_keys": {READER_KEY: "reader", OWNER_KEY: "owner", ADMIN_KEY: "admin"},
        "open_mode": False,
        "today": TODAY,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def neo4j_env(conn: Connection) -> dict[str, str]:
    """The environment variables that point `sopkg` (a subprocess, or the CLI in-process)
    at the test graph."""
    return {
        "NEO4J_URI": conn.uri,
        "NEO4J_USER": conn.user,
        "NEO4J_PASSWORD": conn.password,
        "NEO4J_DATABASE": conn.database,
    }


def bolt_target(conn: Connection) -> tuple[str, int]:
    parts = urlsplit(conn.uri)
    return parts.hostname or "127.0.0.1", parts.port or 7687


@pytest.fixture(scope="module")
def api_settings(neo4j_connection: Connection) -> Settings:
    return make_settings(neo4j_connection)


@pytest.fixture(scope="module")
def mini_graph(
    neo4j_driver: Driver, neo4j_connection: Connection, embedder: Embedder, second_embedder: Any
) -> dict[str, Any]:
    """The test graph wiped, then tests/data/mini_corpus ingested (once per module), with
    the second vector space as `sopkg ingest` writes it."""
    db = neo4j_connection.database
    GraphWriter(neo4j_driver, db).wipe()
    summary = ingest_corpus(MINI, neo4j_driver, db, embedder, second=second_embedder)
    assert summary.errors == [], summary.errors
    return summary.as_json()


@pytest.fixture(scope="module")
def ingest_runner(
    neo4j_driver: Driver, neo4j_connection: Connection, embedder: Embedder, second_embedder: Any
) -> Any:
    """What the CLI injects into the app, on the test graph."""

    def run(root: Path) -> Mapping[str, Any]:
        return ingest_corpus(
            root, neo4j_driver, neo4j_connection.database, embedder, second=second_embedder
        ).as_json()

    return run


@pytest.fixture(scope="module")
def api_url(
    mini_graph: dict[str, Any], api_settings: Settings, ingest_runner: Any, embedder: Embedder
) -> Iterator[str]:
    app = create_app(
        api_settings, ingest_runner=ingest_runner, embedder=embedder,
        corpus_remover=_corpus_remover(api_settings),  # the CLI's own, with its write lock
    )  # fmt: skip
    with ApiServer(app) as server:
        yield server.url


@pytest.fixture()
def client(api_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_url, timeout=60) as c:
        yield c
