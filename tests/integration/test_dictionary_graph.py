"""The general dictionary on a real Neo4j: the graph's vocabulary read back, a Japanese
query that reaches an English-only statement lexically through JMdict when neither the
(empty) glossary nor any Latin word could carry it, and an English phrase that names a
Japanese-only statement's word when its words one by one do not."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from neo4j import Driver

from ingest.pipeline import ingest_corpus
from kg.reader import GraphReader
from search_api.expansion import corpus_glossary
from search_api.fusion import FusionConfig
from search_api.retrieval import Retriever, SearchParams

pytestmark = pytest.mark.integration
ALIGNED = Path(__file__).resolve().parents[1] / "data" / "aligned_corpus"
# ticket-bots is written in English only: "Accounts that use scripts to grab seats for
# resale are closed."
QUERY = SearchParams(query="スクリプトで座席を押さえる", mode="hybrid", limit=10)


def retriever(driver: Driver, embedder, dictionary: str) -> Retriever:  # type: ignore[no-untyped-def]
    reader = GraphReader(driver, "neo4j")
    return Retriever(reader, embedder, corpus_glossary(reader, dictionary),
                     today=dt.date(2026, 6, 1), fusion=FusionConfig(dictionary=1.0))  # fmt: skip


def test_the_vocabulary_is_the_passages_terms(clean_driver: Driver, embedder) -> None:  # type: ignore[no-untyped-def]
    ingest_corpus(ALIGNED, clean_driver, "neo4j", embedder, corpus_name="aligned")
    vocab = GraphReader(clean_driver, "neo4j").vocabulary()
    assert {"seat", "script", "resale", "account"} <= vocab["en"]  # plurals folded
    assert "転売" in vocab["ja"]
    assert "the" not in vocab["en"] and "座席" not in vocab["ja"]
    # Read a passage at a time (a page boundary after every passage), the same vocabulary.
    assert GraphReader(clean_driver, "neo4j").vocabulary(page=1) == vocab


def test_a_japanese_query_reaches_an_english_only_statement_through_the_dictionary(
    clean_driver: Driver, embedder
) -> None:  # type: ignore[no-untyped-def]
    ingest_corpus(ALIGNED, clean_driver, "neo4j", embedder, corpus_name="aligned")
    assert GraphReader(clean_driver, "neo4j").glossary() == []

    found = retriever(clean_driver, embedder, "jmdict").search(QUERY)
    pairs = {(t, w) for t, w, _ in found.expansion.dictionary}
    assert {("座席", "seat"), ("スクリプト", "script")} <= pairs
    crossed = [r.unit.key for r in found.results if "lexical_cross" in r.retrievers]
    assert crossed[0] == "ticket-bots#p1"

    without = retriever(clean_driver, embedder, "none").search(QUERY)
    assert without.expansion.dictionary == [] and not without.expansion.en_terms
    assert not [r for r in without.results if "lexical_cross" in r.retrievers]


# Japanese only: "モバイルバッテリーを特典に付けたチケットの出品は削除する。" "power bank" is
# JMdict's gloss of モバイルバッテリー; "power" and "bank" alone are 力 and 銀行.
BATTERIES = Path(__file__).resolve().parents[1] / "data" / "aligned_extra" / "venue-batteries.ja.md"


def test_an_english_phrase_reaches_a_japanese_only_statement_through_the_dictionary(
    clean_driver: Driver, embedder, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "aligned"
    shutil.copytree(ALIGNED, corpus)
    shutil.copy(BATTERIES, corpus)
    ingest_corpus(corpus, clean_driver, "neo4j", embedder, corpus_name="aligned")
    query = SearchParams(query="power bank", mode="hybrid", limit=10)

    found = retriever(clean_driver, embedder, "jmdict").search(query)
    assert {(t, w) for t, w, _ in found.expansion.dictionary} == {
        ("power bank", "モバイルバッテリー")
    }
    crossed = [r.unit.key for r in found.results if "lexical_cross" in r.retrievers]
    assert crossed == ["venue-batteries#p1"]

    without = retriever(clean_driver, embedder, "none").search(query)
    assert not [r for r in without.results if "lexical_cross" in r.retrievers]
