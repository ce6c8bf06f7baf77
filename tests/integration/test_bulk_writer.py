"""The bulk writer (many new documents per transaction, for synthetic benchmark graphs and
first loads) gives the very graph that writing each document in its own transaction gives."""

from __future__ import annotations

from pathlib import Path

import pytest
from neo4j import Driver

from ingest.concepts import build_document
from ingest.corpus import load_corpus
from kg.digest import GraphDigest, graph_digest
from kg.records import DocumentRecord
from kg.schema import EmbedderInfo, migrate
from kg.writer import GraphWriter

SAMPLE = Path(__file__).resolve().parents[2] / "sample_corpus"
CORPUS = "sample"


def write(driver: Driver, bulk: bool, link_apart: bool = False) -> list[DocumentRecord]:
    corpus = load_corpus(SAMPLE)
    docs = [build_document(files, CORPUS) for files in corpus.documents().values()]
    writer = GraphWriter(driver, "neo4j")
    writer.wipe()
    migrate(driver, "neo4j", EmbedderInfo("none", 8))
    writer.sync_vocabulary(CORPUS, str(SAMPLE), corpus.taxonomy, corpus.glossary)
    if bulk:
        for i in range(0, len(docs), 7):  # batches that cut through the corpus
            writer.write_new_documents(docs[i : i + 7], link=not link_apart)
            if link_apart:  # as parallel writers do: shared-node links in their own step
                writer.link_new_documents(docs[i : i + 7])
    else:
        for d in docs:
            writer.write_document(d, d.versions, corpus.broken)
    writer.finish_corpus(CORPUS, [d.id for d in docs], corpus.broken)
    return docs


@pytest.fixture(scope="module")
def one_by_one(neo4j_driver: Driver) -> GraphDigest:
    """The graph of writing each document in its own transaction, as ingest does."""
    docs = write(neo4j_driver, bulk=False)
    digest = graph_digest(neo4j_driver, "neo4j")
    assert len(docs) > 7 and digest.passages > 100  # several batches, a real corpus
    return digest


@pytest.mark.parametrize("link_apart", [False, True], ids=["one-transaction", "links-apart"])
def test_bulk_written_graph_equals_the_one_document_at_a_time_graph(
    neo4j_driver: Driver, one_by_one: GraphDigest, link_apart: bool
) -> None:
    write(neo4j_driver, bulk=True, link_apart=link_apart)  # wipes first
    bulk = graph_digest(neo4j_driver, "neo4j")
    assert bulk.labels == one_by_one.labels
    assert bulk.relationships == one_by_one.relationships
    assert bulk.documents == one_by_one.documents
    assert bulk == one_by_one
