"""Search outcomes shared between identical searches (search_api.result_cache) on the real
graph: kept while the corpus stays as it was, never across an ingest or another day."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from neo4j import Driver

from ingest.pipeline import ingest_corpus
from kg.connection import Connection
from kg.embedders import Embedder
from search_api.deps import Runtime
from search_api.retrieval import SearchParams
from tests.conftest import settings_for

pytestmark = pytest.mark.integration
DATA = Path(__file__).resolve().parents[1] / "data"
JUNE = dt.date(2026, 6, 1)
PETS = SearchParams(query="a breeder posts puppies in a box")


def _docs(outcome_results: list[Any]) -> list[str]:
    return [r.unit.doc_id for r in outcome_results]


def test_a_repeated_search_is_shared_until_an_ingest_changes_the_corpus(
    clean_driver: Driver, neo4j_connection: Connection, embedder: Embedder
) -> None:
    conn = neo4j_connection
    runtime = Runtime(settings_for(conn, today=JUNE, corpus_check_seconds=0), embedder)
    try:
        ingest_corpus(DATA / "aligned_corpus", clean_driver, conn.database, embedder)
        first, shared = runtime.search(PETS)
        assert not shared and "pets-sales" not in _docs(first.results)
        again, shared = runtime.search(PETS)
        assert shared and again is first
        # Anything that could change the outcome is a different search.
        for other in (
            SearchParams(query=PETS.query, as_of=dt.date(2026, 1, 1)),
            SearchParams(query=PETS.query, limit=3),
            SearchParams(query=PETS.query, mode="lexical"),
        ):
            assert runtime.search(other)[1] is False
        # As `sopkg ingest` in another process would: only the corpus stamp tells.
        ingest_corpus(
            DATA / "examples_corpus", clean_driver, conn.database, embedder,
            corpus_name="examples",
        )  # fmt: skip
        after, shared = runtime.search(PETS)
        assert not shared
        assert _docs(after.results)[0] == "pets-sales"
        stats = runtime.results.stats() if runtime.results else None
        assert stats is not None and stats.hits == 1 and stats.cleared == 1
    finally:
        runtime.close()


@pytest.fixture()
def aligned_runtime(
    clean_driver: Driver, neo4j_connection: Connection, embedder: Embedder
) -> Iterator[Callable[..., Runtime]]:
    """Runtimes over the aligned corpus, with settings overridden as asked; closed after."""
    conn = neo4j_connection
    ingest_corpus(DATA / "aligned_corpus", clean_driver, conn.database, embedder)
    made: list[Runtime] = []

    def make(**overrides: Any) -> Runtime:
        made.append(Runtime(settings_for(conn, today=JUNE, **overrides), embedder))
        return made[-1]

    yield make
    for runtime in made:
        runtime.close()


def test_the_day_is_part_of_the_search(aligned_runtime: Callable[..., Runtime]) -> None:
    """A server running past midnight judges the same question against the new day."""
    runtime = aligned_runtime()
    runtime.search(PETS)
    runtime.settings.today = JUNE + dt.timedelta(days=1)
    assert runtime.search(PETS)[1] is False


def test_off_when_the_size_is_zero(aligned_runtime: Callable[..., Runtime]) -> None:
    runtime = aligned_runtime(result_cache_size=0)
    assert runtime.results is None
    first, _ = runtime.search(PETS)
    again, shared = runtime.search(PETS)
    assert not shared and again is not first
    assert _docs(again.results) == _docs(first.results)
