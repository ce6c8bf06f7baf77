"""The shipped sample corpus ingests into exactly the graph its files describe."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from neo4j import Driver

from ingest.corpus import load_corpus
from ingest.pipeline import ingest_corpus
from kg.reader import GraphReader
from kg.writer import GraphWriter
from search_api.expansion import Glossary
from search_api.fusion import FusionConfig
from search_api.gloss_vectors import GLOSS_VECTOR_SHARE, TermVectors
from search_api.retrieval import Retriever, SearchParams
from tests.conftest import CountingEmbedder, count

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_corpus"
EXPECTED: dict[str, Any] = json.loads(
    (ROOT / "tests" / "data" / "sample_corpus_expected.json").read_text(encoding="utf-8")
)


def test_sample_corpus_lints_clean_with_only_the_deliberate_warnings() -> None:
    corpus = load_corpus(SAMPLE)
    assert corpus.errors == []
    kinds = {i.rule for i in corpus.warnings}
    assert kinds <= {"missing-translation", "outdated-translation", "dangling-link",
                     "missing-applies-to"}  # fmt: skip


@pytest.fixture(scope="module")
def sample_graph(neo4j_driver: Driver, embedder) -> Driver:  # type: ignore[no-untyped-def]
    GraphWriter(neo4j_driver, "neo4j").wipe()
    summary = ingest_corpus(SAMPLE, neo4j_driver, "neo4j", embedder, corpus_name="sample")
    assert summary.errors == []
    return neo4j_driver


EXPECTED_COUNTS = [
    ("MATCH (d:Document {status: 'active'}) RETURN count(d)", EXPECTED["documents"]),
    ("MATCH (v:DocumentVersion {current: true}) RETURN count(v)", EXPECTED["files"]),
    ("MATCH (v:DocumentVersion {current: true, lang: 'en'}) RETURN count(v)",
     EXPECTED["files_by_lang"]["en"]),
    ("MATCH (v:DocumentVersion {current: true, lang: 'ja'}) RETURN count(v)",
     EXPECTED["files_by_lang"]["ja"]),
    ("MATCH (s:Policy {current: true}) RETURN count(s)", EXPECTED["statements_by_kind"]["policy"]),
    ("MATCH (s:Exception {current: true}) RETURN count(s)",
     EXPECTED["statements_by_kind"]["exception"]),
    ("MATCH (s:EnforcementAction {current: true}) RETURN count(s)",
     EXPECTED["statements_by_kind"]["enforcement"]),
    ("MATCH (s:EscalationStep {current: true}) RETURN count(s)",
     EXPECTED["statements_by_kind"]["escalation"]),
    ("MATCH (:Passage {current: true})-[r:STATES]->(:Statement) RETURN count(r)",
     EXPECTED["statement_passages"]),
    ("MATCH (:Statement)-[r:APPLIES_TO]->(:Statement) RETURN count(r)",
     EXPECTED["applies_to_edges"]),
    ("MATCH (:DocumentVersion)-[r:TRANSLATION_OF]->(:DocumentVersion) RETURN count(r)",
     EXPECTED["translation_pairs"]),
    ("MATCH (p:Passage {current: true})-[:REFERENCES]->(t) "
     "RETURN count(DISTINCT [p.doc_id, coalesce(t.id, t.target)])", EXPECTED["links"]),
    ("MATCH (p:Passage)-[:REFERENCES]->(x:DanglingReference) "
     "RETURN count(DISTINCT [p.doc_id, x.target])", len(EXPECTED["dangling_links"])),
    # Every passage (statement or prose) is embedded and has a fulltext field; the English
    # field is empty only for Japanese text without Latin words.
    ("MATCH (p:Passage {current: true}) WHERE p.embedding IS NULL OR p.search_ja IS NULL "
     "OR (p.search_en IS NULL AND p.lang = 'en') RETURN count(p)", 0),
    # Each applies_to of the files is an edge: count them from the statements' own lists.
    ("MATCH (s:Statement {current: true}) RETURN sum(size(s.applies_to))",
     EXPECTED["applies_to_edges"]),
]  # fmt: skip


@pytest.mark.parametrize(("query", "expected"), EXPECTED_COUNTS)
def test_sample_graph_counts(sample_graph: Driver, query: str, expected: int) -> None:
    assert count(sample_graph, query) == expected


def test_dangling_links_are_the_expected_ones(sample_graph: Driver) -> None:
    recs, _, _ = sample_graph.execute_query(
        "MATCH (p:Passage)-[:REFERENCES]->(x:DanglingReference) "
        "RETURN DISTINCT p.doc_id AS doc, x.target AS target ORDER BY doc, target"
    )
    assert [r.data() for r in recs] == EXPECTED["dangling_links"]


def test_statement_passages_match_the_parsed_files(sample_graph: Driver) -> None:
    corpus = load_corpus(SAMPLE)
    parsed = sum(len(f.items()) for f in corpus.files)
    assert parsed == EXPECTED["statement_passages"]


@pytest.mark.parametrize(("include_superseded", "shown"), [(False, False), (True, True)])
def test_a_superseded_document_is_searched_only_when_asked_for(
    sample_graph: Driver, embedder, include_superseded: bool, shown: bool
) -> None:  # type: ignore[no-untyped-def]
    # seller-verification-sea (active) supersedes seller-onboarding-sea: the retrieval reads
    # leave the old one out through the corpus facts, not a per-hit graph check.
    reader = GraphReader(sample_graph, "neo4j")
    retriever = Retriever(reader, embedder, Glossary.from_rows(reader.glossary()))
    assert retriever.facts.superseded == {"seller-onboarding-sea": ("seller-verification-sea",)}
    params = SearchParams(
        query="national ID card and a selfie for individual sellers", limit=20,
        include_superseded=include_superseded,
    )  # fmt: skip
    docs = {r.unit.doc_id for r in retriever.search(params).results}
    assert "seller-verification-sea" in docs
    assert ("seller-onboarding-sea" in docs) is shown
    # Before its successor took effect (2026-05-01) the old document was the one in effect:
    # a search as of then finds it without being asked to.
    before = replace(params, as_of=dt.date(2026, 3, 1), include_superseded=False)
    docs = {r.unit.doc_id for r in retriever.search(before).results}
    assert "seller-onboarding-sea" in docs and "seller-verification-sea" not in docs


@pytest.mark.parametrize(
    ("query", "lang"),
    [("fake scarcity during a live stream", "en"), ("ライブ配信での偽の在庫表示", "ja")],
)
def test_the_shared_text_is_the_glossed_one_and_searches_both_languages(
    sample_graph: Driver,
    embedder,  # type: ignore[no-untyped-def]
    query: str,
    lang: str,
) -> None:
    reader = GraphReader(sample_graph, "neo4j")
    glossary = Glossary.from_rows(reader.glossary())
    params = SearchParams(query=query, limit=10)
    qvecs = {}
    calls = {}
    for shared in (False, True):
        counting = CountingEmbedder(embedder)
        retriever = Retriever(reader, counting, glossary, fusion=FusionConfig(shared_text=shared))
        qlang, expansion, _, qvecs[shared] = retriever.retrieve(params, {})
        calls[shared] = counting
    other = "ja" if lang == "en" else "en"
    words = expansion.gloss_words(other)
    assert qlang == lang and words
    glossed = f"{query} ({' '.join(words)})"
    assert sorted(calls[False].calls[0]) == sorted([query, glossed])
    # One model pass: the glossed text alone, whose vector searches both languages.
    assert calls[True].calls == [[glossed]]
    assert np.allclose(qvecs[True][lang], qvecs[True][other], atol=1e-6)
    assert np.allclose(qvecs[True][other], qvecs[False][other], atol=1e-6)
    assert not np.allclose(qvecs[True][lang], qvecs[False][lang], atol=1e-3)
    # A search in one language that is the query's own has no glossed text to share.
    counting = CountingEmbedder(embedder)
    retriever = Retriever(reader, counting, glossary, fusion=FusionConfig(shared_text=True))
    retriever.retrieve(SearchParams(query=query, limit=10, language=lang), {})
    assert counting.calls == [[query]]


def test_glossary_vectors_spare_the_second_pass_and_lean_toward_the_glossed_text(
    sample_graph: Driver,
    embedder,  # type: ignore[no-untyped-def]
) -> None:
    reader = GraphReader(sample_graph, "neo4j")
    glossary = Glossary.from_rows(reader.glossary())
    params = SearchParams(query="fake scarcity during a live stream", limit=10)
    qvecs = {}
    calls = {}
    for share in (0.0, GLOSS_VECTOR_SHARE):
        counting = CountingEmbedder(embedder)
        retriever = Retriever(reader, counting, glossary, fusion=FusionConfig(gloss_vectors=share))
        qlang, expansion, _, qvecs[share] = retriever.retrieve(params, {})
        calls[share] = counting
    words = expansion.gloss_words("ja")
    assert qlang == "en" and words
    # The text path embeds the query and the query with the Japanese words in one call.
    assert calls[0.0].calls == [[params.query, f"{params.query} ({' '.join(words)})"]]
    assert calls[0.0].passage_calls == []
    # The vector path embeds the query alone, and the words as passages.
    assert calls[GLOSS_VECTOR_SHARE].calls == [[params.query]]
    assert calls[GLOSS_VECTOR_SHARE].passage_calls == [list(dict.fromkeys(words))]
    text, plain = np.asarray(qvecs[0.0]["ja"]), np.asarray(qvecs[0.0]["en"])
    vector = np.asarray(qvecs[GLOSS_VECTOR_SHARE]["ja"])
    assert np.allclose(qvecs[GLOSS_VECTOR_SHARE]["en"], plain, atol=1e-6)
    # The sum stands in for the embedded text: nearer to it than the query alone.
    assert float(vector @ text) > float(plain @ text)
    # A server makes a retriever per search and hands each its one TermVectors, empty
    # before the first: the words are embedded once for all of them.
    counting = CountingEmbedder(embedder)
    shared = TermVectors(counting)
    fusion = FusionConfig(gloss_vectors=GLOSS_VECTOR_SHARE)
    for _ in range(2):
        Retriever(reader, counting, glossary, fusion=fusion, terms=shared).retrieve(params, {})
    assert counting.passage_calls == [list(dict.fromkeys(words))]
    assert len(shared) == len(set(words))
