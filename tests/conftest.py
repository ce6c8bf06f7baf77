"""Shared fixtures. Integration tests talk to a real Neo4j server:

- `SOPKG_TEST_NEO4J_URI` (+ `SOPKG_TEST_NEO4J_USER`, `SOPKG_TEST_NEO4J_PASSWORD`): use that
  server. It is wiped by the tests, so it is a separate variable from `NEO4J_URI` on purpose:
  pointing the suite at the user's graph by accident would delete it.
- otherwise: the local `test` instance (or `SOPKG_TEST_INSTANCE`) is started once per session (jars shared with the
  main instance) and stopped at the end unless `SOPKG_TEST_KEEP_NEO4J=1`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pytest
from neo4j import Driver

from kg.connection import Connection, local_connection
from kg.embedders import Embedder, Vectors
from kg.local_neo4j import LocalNeo4j
from kg.query_embedders import EmbedderWrapper
from kg.settings import Settings
from kg.writer import GraphWriter

# The suite's Neo4j servers live for minutes, and the fault tests restart them: there the
# client JIT alone is the faster compiler, not the default's optimising one, which pays
# only after a few hundred searches (docs/operations.md, "the JVM's compiler"). It changes
# no behaviour. Set before any Settings is read; a developer's own value still wins, and
# the servers and commands the tests start inherit it.
os.environ.setdefault("SOPKG_NEO4J_JAVA_OPTS", "-XX:TieredStopAtLevel=1")


class CountingEmbedder(EmbedderWrapper):
    """The real embedder, recording each call's texts: queries and passages apart."""

    def __init__(self, inner: Embedder) -> None:
        super().__init__(inner)
        self.calls: list[list[str]] = []  # embed_queries
        self.passage_calls: list[list[str]] = []
        self.lock = threading.Lock()

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        with self.lock:
            self.calls.append(list(texts))
        return self.inner.embed_queries(texts)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        with self.lock:
            self.passage_calls.append(list(texts))
        return self.inner.embed_passages(texts)


class MemoEmbedder(EmbedderWrapper):
    """The real embedder, remembering each text's vector for the whole session.

    Most test modules wipe the graph and ingest the same small corpora again; the model's
    time on those same texts was most of the suite's run time. A text's vector is the one
    the model gave it the first time, so what the product writes and searches is unchanged.
    """

    def __init__(self, inner: Embedder) -> None:
        super().__init__(inner)
        self._memo: dict[tuple[str, str], np.ndarray] = {}
        self._lock = threading.Lock()

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._embed("query", texts)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self._embed("passage", texts)

    def _embed(self, kind: str, texts: Sequence[str]) -> Vectors:
        embed = self.inner.embed_queries if kind == "query" else self.inner.embed_passages
        if isinstance(texts, str) or not texts:
            return embed(texts)  # the inner embedder's own refusal, or its empty array
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if (kind, t) not in self._memo))
        if missing:
            vectors = embed(missing)
            with self._lock:
                self._memo.update({(kind, t): v for t, v in zip(missing, vectors, strict=True)})
        with self._lock:
            return np.stack([self._memo[(kind, t)] for t in texts])


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def local_test_server(settings: Settings) -> LocalNeo4j | None:
    """The local test instance, or None when the suite uses an external server."""
    if os.environ.get("SOPKG_TEST_NEO4J_URI"):
        return None
    # SOPKG_TEST_INSTANCE lets parallel runs on one machine use separate local servers.
    instance = os.environ.get("SOPKG_TEST_INSTANCE", "test")
    return LocalNeo4j(settings, instance, heap="1g", pagecache="512m")


@pytest.fixture(scope="session")
def neo4j_connection(local_test_server: LocalNeo4j | None) -> Iterator[Connection]:
    if local_test_server is None:
        yield Connection(
            uri=os.environ["SOPKG_TEST_NEO4J_URI"],
            user=os.environ.get("SOPKG_TEST_NEO4J_USER", "neo4j"),
            password=os.environ["SOPKG_TEST_NEO4J_PASSWORD"],
            database=os.environ.get("SOPKG_TEST_NEO4J_DATABASE", "neo4j"),
            source="external (SOPKG_TEST_NEO4J_URI)",
        )
        return
    server = local_test_server
    started = server.start()
    conn = local_connection(server)
    yield conn
    if not started.already_running and os.environ.get("SOPKG_TEST_KEEP_NEO4J") != "1":
        server.stop()


@pytest.fixture(scope="session")
def neo4j_driver(neo4j_connection: Connection) -> Iterator[Driver]:
    driver = neo4j_connection.driver()
    driver.verify_connectivity()
    info = driver.get_server_info()
    print(f"\n[integration] Neo4j server: {info.agent} at {neo4j_connection.redacted()}")
    yield driver
    driver.close()


@pytest.fixture()
def clean_driver(neo4j_driver: Driver, neo4j_connection: Connection) -> Driver:
    """A driver on an empty graph (data wiped; indexes and constraints kept)."""
    GraphWriter(neo4j_driver, neo4j_connection.database).wipe()
    return neo4j_driver


@pytest.fixture(scope="session")
def embedder(settings: Settings):  # type: ignore[no-untyped-def]
    from kg.embedders import make_embedder

    return MemoEmbedder(make_embedder(settings))


@pytest.fixture(scope="session")
def second_embedder(settings: Settings):  # type: ignore[no-untyped-def]
    """The second vector space's model, as the settings choose it (USE by default)."""
    from kg.embedders import make_second_embedder

    second = make_second_embedder(settings)
    return None if second is None else MemoEmbedder(second)


def count(driver: Driver, query: str, database: str = "neo4j", **params: object) -> int:
    records, _, _ = driver.execute_query(query, database_=database, **params)
    return int(records[0][0])


def settings_for(conn: Connection, **overrides: Any) -> Settings:
    """Settings that point the product at the test server (as NEO4J_URI would)."""
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        neo4j_uri=conn.uri,
        neo4j_user=conn.user,
        neo4j_password=conn.password,
        neo4j_database=conn.database,
        **overrides,
    )
