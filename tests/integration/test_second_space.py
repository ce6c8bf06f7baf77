"""The second vector space on a real Neo4j: ingest writes every passage's second vector,
an older graph is filled in once, search uses the space only when it is complete, a
retired passage leaves it, and another second model's vectors are dropped, not mixed."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from neo4j import Driver

from ingest.pipeline import ingest_corpus
from kg.embedders import USE_DIM, USE_NAME, UseEmbedder
from kg.reader import GraphReader, HitFilter
from kg.schema import EmbedderInfo, create_vector_indexes, drop_vector_indexes, migrate
from ontology.schema import VECTOR2_INDEXES, VECTOR_INDEXES
from search_api.expansion import Glossary
from search_api.retrieval import Retriever, SearchParams
from tests.conftest import count

pytestmark = pytest.mark.integration
ALIGNED = Path(__file__).resolve().parents[1] / "data" / "aligned_corpus"
TODAY = dt.date(2026, 6, 1)
WITH_SECOND = "MATCH (p:Passage {retired: false}) WHERE p.embedding2 IS NOT NULL RETURN count(p)"
CURRENT = "MATCH (p:Passage {retired: false}) RETURN count(p)"
FULL = "MATCH (m:GraphMeta {name: 'graph'}) RETURN m.embedder2_full"


@pytest.fixture(scope="module")
def second() -> UseEmbedder:
    return UseEmbedder()


def retriever(driver: Driver, embedder, second: UseEmbedder) -> Retriever:  # type: ignore[no-untyped-def]
    reader = GraphReader(driver, "neo4j")
    glossary = Glossary.from_rows(reader.glossary())
    return Retriever(reader, embedder, glossary, today=TODAY, second=second)


def full_model(driver: Driver) -> str | None:
    records, _, _ = driver.execute_query(FULL, database_="neo4j")
    return records[0][0] if records else None


def _second_index_finds_ticket_bots(driver: Driver, second: UseEmbedder) -> bool:
    """The second space's English index holds the vectors: a Japanese sentence finds the
    English-only statement that says the same thing first."""
    (query,) = second.embed_queries(["転売目的で座席を自動で確保するアカウントは閉鎖する"])
    reader = GraphReader(driver, "neo4j")
    hits = reader.vector([float(x) for x in query], "en", HitFilter(as_of=TODAY), 5, second=True)
    return bool(hits) and hits[0].unit == "ticket-bots#p1"


def test_ingest_writes_the_second_space_and_search_uses_it(
    clean_driver: Driver, embedder, second: UseEmbedder
) -> None:  # type: ignore[no-untyped-def]
    summary = ingest_corpus(ALIGNED, clean_driver, "neo4j", embedder, second=second)
    assert summary.written == 2
    n = count(clean_driver, CURRENT)
    assert n > 0 and count(clean_driver, WITH_SECOND) == n
    assert full_model(clean_driver) == USE_NAME
    assert _second_index_finds_ticket_bots(clean_driver, second)

    outcome = retriever(clean_driver, embedder, second).search(
        SearchParams(query="転売目的で座席を自動で確保するアカウント", limit=10)
    )
    assert "embed2" in outcome.timings_ms
    found = {r.unit.key: r for r in outcome.results}
    assert "dense2" in found["ticket-bots#p1"].retrievers


def test_an_older_graph_is_filled_in_once_and_searched_only_when_complete(
    clean_driver: Driver, embedder, second: UseEmbedder, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "aligned"
    shutil.copytree(ALIGNED, corpus)
    ingest_corpus(corpus, clean_driver, "neo4j", embedder)  # written without the second space
    assert count(clean_driver, WITH_SECOND) == 0 and full_model(clean_driver) is None
    params = SearchParams(query="コンサートのチケットを転売する出品", limit=10)
    before = retriever(clean_driver, embedder, second).search(params)
    assert "embed2" not in before.timings_ms  # incomplete: not searched
    assert all("dense2" not in r.retrievers for r in before.results)

    summary = ingest_corpus(corpus, clean_driver, "neo4j", embedder, second=second)
    assert summary.written == 0  # nothing changed but the second vectors
    assert summary.second_backfilled == count(clean_driver, CURRENT) > 0
    assert full_model(clean_driver) == USE_NAME
    again = ingest_corpus(corpus, clean_driver, "neo4j", embedder, second=second)
    assert again.second_backfilled == 0  # the graph says it is complete: no scan
    after = retriever(clean_driver, embedder, second).search(params)
    assert "embed2" in after.timings_ms

    # A document written without the second space makes the space incomplete again.
    bots = corpus / "ticket-bots.en.md"
    bots.write_text(bots.read_text("utf-8").replace("are closed", "are suspended"), "utf-8")
    written = ingest_corpus(corpus, clean_driver, "neo4j", embedder)
    assert written.written == 1 and full_model(clean_driver) is None
    # A retired document's passages leave the second space too.
    bots.unlink()
    ingest_corpus(corpus, clean_driver, "neo4j", embedder, second=second)
    retired = count(
        clean_driver,
        "MATCH (p:Passage {doc_id: 'ticket-bots'}) WHERE p.retired AND p.embedding2 IS NULL "
        "RETURN count(p)",
    )
    assert retired > 0
    assert count(clean_driver, WITH_SECOND) == count(clean_driver, CURRENT)


def test_another_second_model_drops_the_old_vectors_and_resizes_the_index(
    clean_driver: Driver, embedder, second: UseEmbedder
) -> None:  # type: ignore[no-untyped-def]
    ingest_corpus(ALIGNED, clean_driver, "neo4j", embedder, second=second)
    assert count(clean_driver, WITH_SECOND) > 0
    dims = (
        "SHOW VECTOR INDEXES YIELD name, options WHERE name IN $names "
        "RETURN min(options.indexConfig['vector.dimensions'])"
    )
    names = [i.name for i in VECTOR2_INDEXES.values()]
    try:
        migrate(clean_driver, "neo4j", EmbedderInfo(embedder.name, embedder.dim),
                EmbedderInfo("another-model", 8))  # fmt: skip
        assert count(clean_driver, WITH_SECOND) == 0
        assert full_model(clean_driver) is None
        assert count(clean_driver, dims, names=names) == 8
    finally:
        ingest_corpus(ALIGNED, clean_driver, "neo4j", embedder, second=second)
    assert count(clean_driver, dims, names=names) == USE_DIM
    assert count(clean_driver, WITH_SECOND) == count(clean_driver, CURRENT)


@pytest.mark.parametrize("second_too", [True, False], ids=["both spaces", "first space"])
def test_a_bulk_load_drops_the_vector_indexes_and_builds_them_again(
    clean_driver: Driver, embedder, second: UseEmbedder, second_too: bool
) -> None:  # type: ignore[no-untyped-def]
    """synthetic_corpus --defer-vector-index: both spaces' indexes leave while writing (each
    would index every row), and come back with their own sizes, searchable."""
    ingest_corpus(ALIGNED, clean_driver, "neo4j", embedder, second=second)
    shown = "SHOW VECTOR INDEXES YIELD name, options RETURN name, options.indexConfig AS c"
    first = {i.name for i in VECTOR_INDEXES.values()}
    second_names = {i.name for i in VECTOR2_INDEXES.values()}

    drop_vector_indexes(clean_driver, "neo4j", second=second_too)
    left = {r["name"] for r in clean_driver.execute_query(shown, database_="neo4j").records}
    assert left == (set() if second_too else second_names)

    create_vector_indexes(clean_driver, "neo4j", embedder.dim, USE_DIM if second_too else None)
    clean_driver.execute_query("CALL db.awaitIndexes(120)", database_="neo4j")
    records = clean_driver.execute_query(shown, database_="neo4j").records
    dims = {r["name"]: r["c"]["vector.dimensions"] for r in records}
    assert dims == {n: embedder.dim for n in first} | {n: USE_DIM for n in second_names}
    assert _second_index_finds_ticket_bots(clean_driver, second)
