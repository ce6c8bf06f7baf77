"""Domain rules and the service layer on the real Neo4j: one version rule for lint, search
cards and coverage ("2" is "2.0"), and a re-embed that never leaves search without
vectors."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from neo4j import Driver

from ingest.corpus import load_corpus
from ingest.pipeline import ingest_corpus, reembed_graph
from kg.connection import Connection
from kg.embedders import Embedder
from kg.reader import GraphReader, HitFilter
from kg.schema import EmbedderInfo, recorded_embedder, schema_ready
from kg.settings import Settings
from kg.writer import GraphWriter
from ontology.governance import FindingKind
from search_api import services
from search_api.deps import Runtime
from tests.conftest import count, settings_for

pytestmark = pytest.mark.integration
DATA = Path(__file__).resolve().parents[1] / "data"
VERSIONS = DATA / "version_corpus"
MINI = DATA / "mini_corpus"


def _runtime(conn: Connection, embedder: Embedder) -> Runtime:
    return Runtime(settings_for(conn, today=dt.date(2026, 6, 1)), embedder)


def test_translation_of_2_follows_source_2_0_everywhere(
    clean_driver: Driver, neo4j_connection: Connection, embedder: Embedder
) -> None:
    lint = [i.rule for i in load_corpus(VERSIONS).issues]
    assert "outdated-translation" not in lint
    summary = ingest_corpus(VERSIONS, clean_driver, neo4j_connection.database, embedder)
    assert summary.errors == []
    runtime = _runtime(neo4j_connection, embedder)
    try:
        found = services.search(
            runtime, services.search_request(query="チケット 転売 額面"), None, log=False
        )
        assert found.results
        assert all(not r.document.translation_outdated for r in found.results)
        report = services.coverage(runtime, [FindingKind.OUTDATED_TRANSLATION])
        assert report.findings == []
    finally:
        runtime.close()


def test_language_filter_holds_for_units_reached_through_the_graph(
    clean_driver: Driver, neo4j_connection: Connection, embedder: Embedder
) -> None:
    # x1 exists in English only and applies to p1: with language=ja no retriever can find
    # it, the graph re-ranking brings it in, and the query names a market and a kind (the
    # intent step fetches a passage for it). No card may be in English.
    ingest_corpus(VERSIONS, clean_driver, neo4j_connection.database, embedder)
    runtime = _runtime(neo4j_connection, embedder)
    try:
        request = services.search_request(query="日本でチケット転売の措置は?", language="ja")
        found = services.search(runtime, request, None, log=False)
        unfiltered = services.search(
            runtime, services.search_request(query=request.query), None, log=False
        )
    finally:
        runtime.close()
    assert found.results
    assert {r.lang for r in found.results} == {"ja"}
    assert "ver-resale#x1" in {r.unit.key for r in unfiltered.results}  # it is reachable


class _Renamed:
    """The test embedder under another name (a "new model"), failing after `fail_after`
    batches when asked: an interrupted re-embed."""

    def __init__(self, inner: Embedder, name: str, fail_after: int | None = None) -> None:
        self.inner = inner
        self.name = name
        self.dim = inner.dim
        self.fail_after = fail_after
        self.batches = 0

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_queries(texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if self.fail_after is not None and self.batches >= self.fail_after:
            raise RuntimeError("model file unreadable")
        self.batches += 1
        return self.inner.embed_passages(texts)


def test_interrupted_reembed_keeps_search_and_resumes(
    clean_driver: Driver, neo4j_connection: Connection, embedder: Embedder, tmp_path: Path
) -> None:
    db = neo4j_connection.database
    corpus = tmp_path / "mini"
    shutil.copytree(MINI, corpus)
    ingest_corpus(corpus, clean_driver, db, embedder)
    passages = count(clean_driver, "MATCH (p:Passage {retired: false}) RETURN count(p)")
    old = recorded_embedder(clean_driver, db)
    reader = GraphReader(clean_driver, db)
    query = [float(x) for x in embedder.embed_queries(["counterfeit"])[0]]
    flt = HitFilter(as_of=dt.date(2026, 6, 1))

    failing = _Renamed(embedder, "renamed-model", fail_after=1)
    with pytest.raises(RuntimeError, match="unreadable"):
        reembed_graph(clean_driver, db, failing, batch=4)  # type: ignore[arg-type]
    # Interrupted: the live vectors, the indexes and the embedder record are untouched.
    assert recorded_embedder(clean_driver, db) == old
    assert schema_ready(clean_driver, db)
    assert reader.vector(query, "en", flt, 5)
    assert count(clean_driver, "MATCH (p:Passage) WHERE p.embedding_next IS NOT NULL "
                               "RETURN count(p)") == 4  # fmt: skip

    resumed = _Renamed(embedder, "renamed-model")
    assert reembed_graph(clean_driver, db, resumed, batch=4) == passages - 4  # type: ignore[arg-type]
    assert recorded_embedder(clean_driver, db) == EmbedderInfo("renamed-model", embedder.dim)
    assert schema_ready(clean_driver, db)
    assert reader.vector(query, "en", flt, 5)
    assert count(clean_driver, "MATCH (p:Passage {retired: false}) WHERE p.embedding IS NULL "
                               "RETURN count(p)") == 0  # fmt: skip
    assert count(clean_driver, "MATCH (p:Passage) WHERE p.embedding_next IS NOT NULL "
                               "RETURN count(p)") == 0  # fmt: skip


def test_a_reembed_stopped_while_promoting_leaves_a_new_corpus_stamp(
    clean_driver: Driver,
    neo4j_connection: Connection,
    embedder: Embedder,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The promotion runs in batches: a half-promoted graph must not keep the stamp that a
    snapshot of the old vectors was saved under (kg.resident_store)."""
    db = neo4j_connection.database
    corpus = tmp_path / "mini"
    shutil.copytree(MINI, corpus)
    ingest_corpus(corpus, clean_driver, db, embedder)
    reader = GraphReader(clean_driver, db)
    before = reader.corpus_stamp()

    def stopped(self: GraphWriter, model: str) -> None:
        raise RuntimeError("killed while promoting")

    monkeypatch.setattr(GraphWriter, "promote_embeddings", stopped)
    with pytest.raises(RuntimeError, match="promoting"):
        reembed_graph(clean_driver, db, _Renamed(embedder, "renamed-model"), batch=4)  # type: ignore[arg-type]
    assert reader.corpus_stamp() not in (None, before)


def test_reports_read_with_their_own_longer_timeout(
    neo4j_connection: Connection, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOPKG_READ_TIMEOUT_SECONDS", "7")
    monkeypatch.setenv("SOPKG_REPORT_TIMEOUT_SECONDS", "42")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    runtime = Runtime(settings_for(neo4j_connection, **{
        k: getattr(settings, k) for k in ("read_timeout_seconds", "report_timeout_seconds")
    }), embedder)  # fmt: skip
    try:
        assert runtime.reader().timeout == 7
        assert runtime.coverage_reader().timeout == 42
    finally:
        runtime.close()
