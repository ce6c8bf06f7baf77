"""Cross-lingual feedback through translation twins on a real Neo4j: a Japanese query
reaches an English-only document through the English twins of the Japanese statements it
found, where its own words (and an empty glossary, and no term table) cannot."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
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
LEXICAL = {"lexical", "lexical_cross"}


def retriever(driver: Driver, embedder, twin: float) -> Retriever:  # type: ignore[no-untyped-def]
    reader = GraphReader(driver, "neo4j")
    cfg = FusionConfig()
    cfg = replace(cfg, weights={**cfg.weights, "twin": twin})
    return Retriever(reader, embedder, Glossary.from_rows(reader.glossary()),
                     today=dt.date(2026, 6, 1), fusion=cfg)  # fmt: skip


def test_twins_of_the_found_statements_reach_a_document_in_the_other_language_only(
    clean_driver: Driver, embedder
) -> None:  # type: ignore[no-untyped-def]
    ingest_corpus(ALIGNED, clean_driver, "neo4j", embedder, corpus_name="aligned")
    reader = GraphReader(clean_driver, "neo4j")
    assert reader.glossary() == []
    # The Japanese statement has its English twin in the graph, with an embedding.
    today = dt.date(2026, 6, 1)
    (ja_p2,) = [h.key for h in reader.statement_passages(["tickets-resale#p2"], today, "ja")]
    found = reader.twin_feedback([ja_p2], today)
    assert [(t.seed, t.lang) for t in found] == [(ja_p2, "en")]
    assert "resale" in found[0].text and len(found[0].embedding) == embedder.dim

    params = SearchParams(query="コンサートのチケットを転売する出品", mode="hybrid", limit=10)
    without = {r.unit.key: r for r in retriever(clean_driver, embedder, 0.0).search(params).results}
    # ticket-bots exists in English only: no word of the Japanese query reaches it.
    assert LEXICAL.isdisjoint(without["ticket-bots#p1"].retrievers)

    outcome = retriever(clean_driver, embedder, 1.0).search(params)
    assert "twin" in outcome.timings_ms
    on = {r.unit.key: r for r in outcome.results}
    bots = on["ticket-bots#p1"]
    assert "twin_lexical" in bots.retrievers  # the twins' "resale" found it
    assert LEXICAL.isdisjoint(bots.retrievers)
    assert bots.score > without["ticket-bots#p1"].score
    # Dense mode is a single arm: no feedback.
    dense = retriever(clean_driver, embedder, 1.0).search(replace(params, mode="dense"))
    assert all(set(r.retrievers) == {"dense", "focus"} & set(r.retrievers) for r in dense.results)
