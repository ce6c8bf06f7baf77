"""The corpus facts every search consults, read from the real graph once per corpus stamp:
a document's languages on a date, APPLIES_TO neighbours, examples' statements, and a
running API's reload after an ingest made elsewhere."""

from __future__ import annotations

import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from neo4j import Driver

from ingest.pipeline import ingest_corpus
from kg.connection import Connection
from kg.corpus_facts import CorpusFacts
from kg.embedders import Embedder
from kg.reader import GraphReader
from search_api.deps import Runtime
from tests.conftest import settings_for

pytestmark = pytest.mark.integration
DATA = Path(__file__).resolve().parents[1] / "data"
JUNE = dt.date(2026, 6, 1)


def test_facts_answer_as_the_graph_says(
    clean_driver: Driver, neo4j_connection: Connection, embedder: Embedder
) -> None:
    db = neo4j_connection.database
    assert GraphReader(clean_driver, db).corpus_facts().language_means == {}  # no passages
    ingest_corpus(DATA / "aligned_corpus", clean_driver, db, embedder, corpus_name="aligned")
    ingest_corpus(DATA / "examples_corpus", clean_driver, db, embedder, corpus_name="examples")
    facts = GraphReader(clean_driver, db).corpus_facts()

    docs = ["tickets-resale", "ticket-bots", "pets-sales", "no-such-doc"]
    langs = facts.document_languages(docs, JUNE)
    assert langs["tickets-resale"] == {"ja", "en"}
    assert langs["ticket-bots"] == {"en"}
    assert "no-such-doc" not in langs
    # Before any version took effect a document has no language to be read in.
    assert facts.document_languages(docs, dt.date(2025, 12, 31)) == {}

    near = facts.statement_neighbours(["tickets-resale#a1", "tickets-resale#p1", "x#p9"])
    assert near["tickets-resale#a1"] == ["tickets-resale#p1", "tickets-resale#p2"]
    assert near["tickets-resale#p1"] == ["tickets-resale#a1"]
    assert "x#p9" not in near

    named = {st for sts in facts.illustrates.values() for st in sts}
    assert {"pets-sales#p1", "pets-sales#p2"} <= named
    assert all(st.startswith("pets-sales#") for st in named)


def test_a_running_api_reloads_the_facts_after_an_ingest_elsewhere(
    clean_driver: Driver, neo4j_connection: Connection, embedder: Embedder
) -> None:
    conn = neo4j_connection
    settings = settings_for(conn, today=JUNE, corpus_check_seconds=0)
    runtime = Runtime(settings, embedder)
    try:
        ingest_corpus(DATA / "aligned_corpus", clean_driver, conn.database, embedder)
        before = runtime.retriever().facts
        assert "pets-sales" not in before.versions
        # As `sopkg ingest` in another process would: only the corpus stamp tells.
        ingest_corpus(
            DATA / "examples_corpus", clean_driver, conn.database, embedder,
            corpus_name="examples",
        )  # fmt: skip
        after = runtime.retriever().facts
        assert after.document_languages(["pets-sales"], JUNE) == {"pets-sales": {"en"}}
        assert after.illustrates and not before.illustrates
    finally:
        runtime.close()


def test_searches_arriving_during_a_reload_wait_for_it_instead_of_reloading(
    clean_driver: Driver,
    neo4j_connection: Connection,
    embedder: Embedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conn = neo4j_connection
    runtime = Runtime(settings_for(conn, today=JUNE, corpus_check_seconds=0), embedder)
    loads: list[int] = []
    read_facts = GraphReader.corpus_facts

    def counted(reader: GraphReader) -> CorpusFacts:
        loads.append(1)
        time.sleep(0.5)  # a large graph's facts take a while: others arrive meanwhile
        return read_facts(reader)

    monkeypatch.setattr(GraphReader, "corpus_facts", counted)
    try:
        ingest_corpus(DATA / "aligned_corpus", clean_driver, conn.database, embedder)
        with ThreadPoolExecutor(8) as pool:
            facts = list(pool.map(lambda _: runtime.retriever().facts, range(8)))
        assert len(loads) == 1
        assert all(f is facts[0] for f in facts)
    finally:
        runtime.close()
