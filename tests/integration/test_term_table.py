"""The learned term table on a real Neo4j: built at ingest from the aligned statements of
a small corpus whose glossary is empty, rebuilt when the corpus changes, and used by a
search that cannot cross languages without it."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from neo4j import Driver

from ingest.pipeline import ingest_corpus
from kg.reader import GraphReader
from search_api.expansion import Glossary
from search_api.fusion import FusionConfig
from search_api.retrieval import Retriever, SearchParams

pytestmark = pytest.mark.integration
ALIGNED = Path(__file__).resolve().parents[1] / "data" / "aligned_corpus"


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    return Path(shutil.copytree(ALIGNED, tmp_path / "aligned"))  # the test deletes a file


def retriever(driver: Driver, embedder, learned: float) -> Retriever:  # type: ignore[no-untyped-def]
    reader = GraphReader(driver, "neo4j")
    glossary = Glossary.from_rows(reader.glossary(), learned=reader.learned_terms())
    return Retriever(reader, embedder, glossary, today=dt.date(2026, 6, 1),
                     fusion=FusionConfig(learned=learned))  # fmt: skip


def test_term_table_is_learnt_at_ingest_and_carries_a_query_across(
    clean_driver: Driver, embedder, corpus: Path
) -> None:  # type: ignore[no-untyped-def]
    summary = ingest_corpus(corpus, clean_driver, "neo4j", embedder, corpus_name="aligned")
    assert summary.learned_terms
    rows = GraphReader(clean_driver, "neo4j").learned_terms()
    assert {"ja": "転売", "en": "resale"} in [{"ja": r["ja"], "en": r["en"]} for r in rows]
    assert GraphReader(clean_driver, "neo4j").glossary() == []  # nothing written by hand

    # A Japanese query about the English-only document: no glossary term, no Latin word.
    params = SearchParams(query="転売ボット", mode="hybrid", limit=10)
    with_table = retriever(clean_driver, embedder, learned=1.0).search(params)
    assert ("転売", "resale") in [(a, b) for a, b, _ in with_table.expansion.learned]
    crossed = [r for r in with_table.results if "lexical_cross" in r.retrievers]
    assert "ticket-bots#p1" in [r.unit.key for r in crossed]

    without = retriever(clean_driver, embedder, learned=0.0).search(params)
    assert not without.expansion.en_terms
    assert not [r for r in without.results if "lexical_cross" in r.retrievers]


def test_term_table_is_rebuilt_when_the_aligned_text_goes(
    clean_driver: Driver, embedder, corpus: Path
) -> None:  # type: ignore[no-untyped-def]
    ingest_corpus(corpus, clean_driver, "neo4j", embedder, corpus_name="aligned")
    again = ingest_corpus(corpus, clean_driver, "neo4j", embedder, corpus_name="aligned")
    assert again.learned_terms is None  # nothing changed: the table is kept as it is
    (corpus / "tickets-resale.ja.md").unlink()
    changed = ingest_corpus(corpus, clean_driver, "neo4j", embedder, corpus_name="aligned")
    assert changed.learned_terms == 0
    assert GraphReader(clean_driver, "neo4j").learned_terms() == []
