"""The graph's vocabulary kept on disk between starts, on a real Neo4j: read back while
the graph is as it was saved, read from the graph again once it changed (a new corpus
stamp, or passages written without one), and never saved for a graph without a stamp."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from neo4j import Driver

from ingest.pipeline import ingest_corpus
from kg.reader import GraphReader
from kg.vocabulary_store import KEPT, Terms, VocabularyStore

pytestmark = pytest.mark.integration
ALIGNED = Path(__file__).resolve().parents[1] / "data" / "aligned_corpus"
# Japanese only, with a word the aligned corpus does not have (モバイルバッテリー).
EXTRA = Path(__file__).resolve().parents[1] / "data" / "aligned_extra" / "venue-batteries.ja.md"


class CountingReader(GraphReader):
    """A real reader that counts its reads of the graph's vocabulary."""

    def __init__(self, driver: Driver) -> None:
        super().__init__(driver, "neo4j")
        self.reads = 0

    def vocabulary(self, page: int = 20_000, stop: threading.Event | None = None) -> Terms:
        self.reads += 1
        return super().vocabulary(page, stop)


def read(store: VocabularyStore, driver: Driver) -> tuple[Terms, int]:
    reader = CountingReader(driver)
    terms = store.read(reader)
    return terms, reader.reads


def files(store: VocabularyStore) -> list[Path]:
    return sorted(store.root.glob("*.json"))


def test_a_saved_vocabulary_is_read_back_until_the_corpus_changes(
    clean_driver: Driver, embedder, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "aligned"
    shutil.copytree(ALIGNED, corpus)
    ingest_corpus(corpus, clean_driver, "neo4j", embedder, corpus_name="aligned")
    store = VocabularyStore(tmp_path / "vocabulary")

    first, reads = read(store, clean_driver)
    assert reads == 1 and len(files(store)) == 1
    again, reads = read(store, clean_driver)
    assert reads == 0 and again == first == GraphReader(clean_driver, "neo4j").vocabulary()
    # An ingest that writes nothing (`sopkg up` runs one at every start) keeps the file.
    assert not ingest_corpus(corpus, clean_driver, "neo4j", embedder, corpus_name="aligned").changed
    assert read(store, clean_driver) == (first, 0)

    shutil.copy(EXTRA, corpus)
    ingest_corpus(corpus, clean_driver, "neo4j", embedder, corpus_name="aligned")
    after, reads = read(store, clean_driver)
    assert reads == 1
    assert "モバイルバッテリー" in after["ja"] and "モバイルバッテリー" not in first["ja"]
    assert read(store, clean_driver) == (after, 0)
    assert len(files(store)) == 2 <= KEPT


def test_passages_written_without_a_new_stamp_are_not_hidden_by_the_file(
    clean_driver: Driver, embedder, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    ingest_corpus(ALIGNED, clean_driver, "neo4j", embedder, corpus_name="aligned")
    store = VocabularyStore(tmp_path)
    read(store, clean_driver)
    # As an ingest killed midway leaves it: a passage written, the corpus stamp unchanged.
    clean_driver.execute_query(
        "MATCH (p:Passage {retired: false}) WITH p LIMIT 1 SET p.written = 'zz-later'",
        database_="neo4j",
    )
    assert read(store, clean_driver)[1] == 1


def test_a_damaged_file_is_read_again_and_replaced(
    clean_driver: Driver, embedder, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    ingest_corpus(ALIGNED, clean_driver, "neo4j", embedder, corpus_name="aligned")
    store = VocabularyStore(tmp_path)
    terms, _ = read(store, clean_driver)
    [saved] = files(store)
    saved.write_text('{"format": 1, "terms": [', encoding="utf-8")
    assert read(store, clean_driver) == (terms, 1)
    assert read(store, clean_driver) == (terms, 0)


def test_a_graph_without_a_stamp_is_read_but_never_saved(
    clean_driver: Driver, tmp_path: Path
) -> None:
    store = VocabularyStore(tmp_path)
    assert read(store, clean_driver) == ({"ja": set(), "en": set()}, 1)
    assert files(store) == []
