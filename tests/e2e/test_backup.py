"""Backup and restore round trip on the real local Neo4j test instance (offline dump and
load stop and start it): after a restore the graph's counts, schema, per-document content
hashes, query log and the answers of a fixed set of searches over HTTP equal those before
the backup; a broken archive is refused or rolled back without losing the graph."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from neo4j import Driver

from kg.backup import BackupResult, backup, restore
from kg.connection import Connection
from kg.digest import GraphDigest, graph_digest
from kg.embedders import Embedder
from kg.errors import InvalidInput, Neo4jServerError
from kg.local_neo4j import LocalNeo4j
from search_api.app import create_app
from search_api.deps import Runtime
from sopkg.cli import main
from tests.e2e.conftest import READER, ApiServer, make_settings

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# Both languages, with and without filters.
SEARCHES: list[dict[str, Any]] = [
    {"query": "コピー品 出品"},
    {"query": "counterfeit listing", "market": "JP"},
    {"query": "off-platform payment", "language": "en"},
    {"query": "外部 決済 誘導", "limit": 3},
]


@pytest.fixture(scope="module")
def server(local_test_server: LocalNeo4j | None) -> LocalNeo4j:
    if local_test_server is None:
        pytest.skip("SOPKG_TEST_NEO4J_URI names an external server: offline dump needs ours")
    return local_test_server


@pytest.fixture(scope="module")
def api(
    mini_graph: dict[str, Any], neo4j_connection: Connection, embedder: Embedder
) -> Iterator[tuple[httpx.Client, Runtime]]:
    app = create_app(make_settings(neo4j_connection), embedder=embedder)
    with ApiServer(app) as srv, httpx.Client(base_url=srv.url, timeout=60) as client:
        yield client, app.state.runtime


def answers(client: httpx.Client) -> list[list[tuple[str, float]]]:
    out = []
    for body in SEARCHES:
        # The API may still be reconnecting to the restarted server: 503 meanwhile.
        deadline = time.monotonic() + 60
        while True:
            r = client.post("/v1/search", json=body, headers=READER)
            if r.status_code != 503 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert r.status_code == 200, r.text
        out.append([(x["unit"]["key"], x["score"]) for x in r.json()["results"]])
    return out


def same_answers(a: list[list[tuple[str, float]]], b: list[list[tuple[str, float]]]) -> bool:
    """The same results in the same order, scores equal but for the dense reads' path: a
    search before the server held the vectors in memory (kg.resident) asked Neo4j's index,
    which scores quantized vectors (1e-4 off)."""
    if [[k for k, _ in r] for r in a] != [[k for k, _ in r] for r in b]:
        return False
    pairs = (pair for ra, rb in zip(a, b, strict=True) for pair in zip(ra, rb, strict=True))
    return all(abs(x - y) < 1e-3 for (_, x), (_, y) in pairs)


def query_log(driver: Driver, database: str) -> list[str]:
    records, _, _ = driver.execute_query(
        "MATCH (q:QueryLog) RETURN q.id AS id ORDER BY id", database_=database
    )
    return [r["id"] for r in records]


def wipe(driver: Driver, database: str) -> None:
    with driver.session(database=database) as s:
        s.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()


@dataclass(frozen=True)
class BackedUp:
    """A dump of the mini graph and what the graph held and answered when it was made."""

    file: Path
    made: BackupResult
    digest: GraphDigest
    log: list[str]
    answers: list[list[tuple[str, float]]]


@pytest.fixture(scope="module")
def backed_up(
    server: LocalNeo4j,
    api: tuple[httpx.Client, Runtime],
    neo4j_driver: Driver,
    neo4j_connection: Connection,
    tmp_path_factory: pytest.TempPathFactory,
) -> BackedUp:
    """One backup for the module: each backup stops and starts Neo4j, and the broken-archive
    test only needs a good dump to cut."""
    client, runtime = api
    db = neo4j_connection.database
    # The answers are compared with those after the restore, when the server holds the
    # vectors in memory: recorded before then, some went through Neo4j's index (quantized
    # scores), and two passages a hair apart could swap places.
    answers(client)  # the first search starts the load
    deadline = time.monotonic() + 60
    while runtime.resident.held()[0] == 0:
        assert time.monotonic() < deadline, "the passage vectors never came into memory"
        time.sleep(0.1)
    before_answers = answers(client)
    runtime.query_log.flush()
    digest = graph_digest(neo4j_driver, db)
    log = query_log(neo4j_driver, db)
    file = tmp_path_factory.mktemp("backup") / "graph.dump"
    return BackedUp(file, backup(server, file), digest, log, before_answers)


def test_backup_then_restore_gives_back_the_same_graph(
    server: LocalNeo4j,
    api: tuple[httpx.Client, Runtime],
    backed_up: BackedUp,
    neo4j_driver: Driver,
    neo4j_connection: Connection,
) -> None:
    client, _ = api
    db = neo4j_connection.database
    before = backed_up.digest
    assert len(backed_up.log) >= len(SEARCHES)
    assert before.documents and before.passages and before.statements
    assert len(before.schema) > 5  # constraints, full-text and vector indexes

    file, made = backed_up.file, backed_up.made
    assert made.restarted and made.bytes > 0 and file.is_file()
    assert not list(file.parent.glob("*.partial"))
    # The backup command refuses to overwrite without --force (before stopping anything).
    assert main(["backup", str(file), "--instance", server.instance]) == 2

    wipe(neo4j_driver, db)
    assert graph_digest(neo4j_driver, db).documents == {}

    done = restore(server, file)
    assert done.restarted and done.previous is not None and done.previous.is_file()
    after = graph_digest(neo4j_driver, db)
    assert after == before  # counts, schema (indexes, constraints), every document's hash
    assert query_log(neo4j_driver, db) == backed_up.log
    assert same_answers(answers(client), backed_up.answers)


def test_a_broken_archive_loses_nothing(
    server: LocalNeo4j,
    api: tuple[httpx.Client, Runtime],
    backed_up: BackedUp,
    neo4j_driver: Driver,
    neo4j_connection: Connection,
    tmp_path: Path,
) -> None:
    db = neo4j_connection.database
    api[1].query_log.flush()  # searches made before (answered from memory in a blink)
    before = graph_digest(neo4j_driver, db)
    assert before.documents

    # Not a dump at all: refused before Neo4j is stopped.
    junk = tmp_path / "junk.dump"
    junk.write_text("not a dump\n")
    with pytest.raises(InvalidInput, match="not a Neo4j database dump") as refused:
        restore(server, junk)
    assert "--verbose" not in str(refused.value)  # neo4j-admin's advice, not sopkg's option
    assert server.status().running

    # A truncated dump passes the header check and fails while loading: the graph it was
    # replacing is put back.
    good = backed_up.file.read_bytes()
    cut = tmp_path / "cut.dump"
    cut.write_bytes(good[: len(good) // 2])
    with pytest.raises(Neo4jServerError, match="previous graph was put back"):
        restore(server, cut)
    assert server.status().running
    assert graph_digest(neo4j_driver, db) == before
