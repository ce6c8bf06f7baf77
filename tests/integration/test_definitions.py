"""A definitions section is read with its document's statements, on a real Neo4j: passages
carry their section kind from the graph, and the definitions section of the document that
answers gets a share of its best statement's score (`FusionConfig.definitions`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from neo4j import Driver

from ingest.pipeline import ingest_corpus
from kg.reader import GraphReader, HitFilter
from search_api.expansion import Glossary
from search_api.fusion import FusionConfig
from search_api.retrieval import Retriever, SearchParams

pytestmark = pytest.mark.integration
CORPUS = Path(__file__).resolve().parents[1] / "data" / "definitions_corpus"
TODAY = dt.date(2026, 6, 1)
QUERY = SearchParams(query="can a private person sell a puppy", limit=20)


def scores(driver: Driver, embedder, definitions: float) -> dict[str, float]:  # type: ignore[no-untyped-def]
    reader = GraphReader(driver, "neo4j")
    retriever = Retriever(reader, embedder, Glossary.from_rows(reader.glossary()), today=TODAY,
                          fusion=FusionConfig(definitions=definitions))  # fmt: skip
    return {r.unit.key: r.score for r in retriever.search(QUERY).results}


def test_the_answering_documents_definitions_follow_its_statement(
    clean_driver: Driver, embedder
) -> None:  # type: ignore[no-untyped-def]
    ingest_corpus(CORPUS, clean_driver, "neo4j", embedder, corpus_name="definitions")
    reader = GraphReader(clean_driver, "neo4j")
    hits = reader.fulltext("passage_en", "dealer OR raw", HitFilter(as_of=TODAY), 10)
    assert {h.section_kind for h in hits} == {"definitions", "policy"}
    assert all((h.section_kind == "policy") == (h.statement_key is not None) for h in hits)

    off = scores(clean_driver, embedder, 0.0)
    on = scores(clean_driver, embedder, 0.5)
    assert FusionConfig().definitions > 0
    best = max(on[u] for u in on if u.startswith("pets-sales#p"))
    assert best == pytest.approx(max(off[u] for u in off if u.startswith("pets-sales#p")))
    # pets-sales answers: its definitions gain half its best statement's score. Results carry
    # scores rounded to 6 decimals, so the three figures agree to within their rounding.
    assert on["pets-sales#definitions"] == pytest.approx(
        off["pets-sales#definitions"] + best / 2, abs=2e-6
    )
    assert on["pets-sales#p2"] == pytest.approx(off["pets-sales#p2"])  # statements keep theirs
    rank = list(on)
    assert rank.index("pets-sales#definitions") < rank.index("pets-food#definitions")
