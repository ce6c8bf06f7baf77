"""Resident vectors against Neo4j's vector indexes on a real graph (the sample corpus):
the same passages in the same order with the same scores, filtered the same way; the
same search results through the whole retrieval; and a server's snapshot that follows
the corpus stamp and stays out of memory past its limit."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest
from neo4j import Driver

from ingest.pipeline import ingest_corpus
from kg.reader import GraphReader, Hit, HitFilter
from kg.resident import Resident, ResidentVectors, TooManyPassages, load_resident
from kg.resident_store import ResidentStore
from kg.writer import GraphWriter, write_stamp
from search_api.expansion import Glossary
from search_api.retrieval import Retriever, SearchParams
from tests.conftest import count

pytestmark = pytest.mark.integration
T = TypeVar("T")
SAMPLE = Path(__file__).resolve().parents[2] / "sample_corpus"
TODAY = dt.date(2026, 6, 1)
QUERIES = [
    "未成年の出演者がいるライブ配信",
    "counterfeit brand goods reported by the rights holder",
]
# Neo4j's indexes score quantized vectors (vector.quantization.enabled, on by default):
# measured up to 2e-3 from the exact score here.
TIE = 5e-3
CURRENT = "MATCH (p:Passage {retired: false}) WHERE p.embedding IS NOT NULL RETURN count(p)"


# A third of the sample corpus (the whole took two minutes to embed twice): a topic's
# documents, the superseded document and its successor, and one document in each language
# only, with the glossary.
PART = ["creators", "sellers/seller-onboarding-sea.en.md", "sellers/seller-onboarding-sea.ja.md",
        "sellers/seller-verification-sea.en.md", "sellers/seller-verification-sea.ja.md",
        "listings/reg-health-foods-jp.ja.md", "listings/prohibited-weapons-ph.en.md",
        "glossary.yaml"]  # fmt: skip


@pytest.fixture(scope="module")
def graph(neo4j_driver: Driver, embedder, second_embedder, tmp_path_factory) -> GraphReader:  # type: ignore[no-untyped-def]
    corpus = tmp_path_factory.mktemp("sample_part")
    for part in PART:
        (corpus / part).parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if (SAMPLE / part).is_dir() else shutil.copy)(SAMPLE / part, corpus / part)
    GraphWriter(neo4j_driver, "neo4j").wipe()
    summary = ingest_corpus(corpus, neo4j_driver, "neo4j", embedder, second=second_embedder)
    assert summary.errors == []
    return GraphReader(neo4j_driver, "neo4j")


@pytest.fixture(scope="module")
def resident(graph: GraphReader) -> ResidentVectors:
    snap = load_resident(graph, second=True, max_passages=100_000)
    assert snap is not None
    return snap


def same_order(a: list[Hit], b: list[Hit]) -> bool:
    """The same passages, in the same order but for scores within TIE of each other."""
    if {h.key for h in a} != {h.key for h in b}:
        return False
    score = {h.key: h.score for h in b}
    return all(score[x.key] >= score[y.key] - TIE for x, y in zip(a, a[1:], strict=False))


FILTERS = {
    "none": HitFilter(as_of=TODAY),
    "market": HitFilter(as_of=TODAY, markets=["TH", "ALL"]),
    "topic": HitFilter(as_of=TODAY, topic="creators"),
    "language": HitFilter(as_of=TODAY, lang="en"),
    "long ago": HitFilter(as_of=dt.date(2020, 1, 1)),
}


@pytest.mark.parametrize("second", [False, True], ids=["first space", "second space"])
@pytest.mark.parametrize("name", list(FILTERS))
@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_same_hits_as_the_vector_index(
    graph: GraphReader, resident: ResidentVectors, embedder, second_embedder,  # type: ignore[no-untyped-def]
    second: bool, name: str, lang: str,
) -> None:  # fmt: skip
    model = second_embedder if second else embedder
    flt = FILTERS[name]
    hidden = tuple(sorted(graph.corpus_facts().superseded_on(TODAY)))
    assert hidden, "the sample corpus has a superseded document"
    flt = HitFilter(flt.as_of, flt.markets, flt.topic, flt.lang, hidden)
    for query in QUERIES:
        vec = [float(x) for x in model.embed_queries([query])[0]]
        indexed = graph.vector(vec, lang, flt, 10, second)
        held = resident.vector(vec, lang, flt, 10, second)
        # The index filters after it chooses (2-4 x k candidates), so it may find fewer, and
        # scores quantized vectors (TIE): near ties at its end may differ.
        assert len(held) >= len(indexed)
        by_key = {h.key: h for h in held}
        for h in indexed:
            if h.key not in by_key:
                assert h.score <= held[-1].score + TIE
                continue
            assert by_key[h.key].score == pytest.approx(h.score, abs=TIE)
            assert replace(by_key[h.key], score=h.score) == h  # every other field the same
        assert all(x.score >= y.score for x, y in zip(held, held[1:], strict=False))
        if name == "long ago":
            assert held == []


@pytest.mark.parametrize("centred", [False, True], ids=["plain", "centred"])
def test_the_same_document_passages(
    graph: GraphReader, resident: ResidentVectors, embedder, centred: bool
) -> None:  # type: ignore[no-untyped-def]
    vecs = {
        lang: [float(x) for x in embedder.embed_queries([QUERIES[0]])[0]] for lang in ("ja", "en")
    }
    docs = sorted({h.doc_id for h in resident.vector(vecs["ja"], "ja", HitFilter(TODAY), 5)})
    means = graph.corpus_facts().language_means if centred else None
    indexed = graph.document_passages(vecs, docs, TODAY, means)
    held = resident.document_passages(vecs, docs, TODAY, means)
    assert indexed.keys() == held.keys() and any(indexed.values())
    for lang in indexed:
        assert same_order(held[lang], indexed[lang])
        by_key = {h.key: h.score for h in held[lang]}
        assert all(by_key[h.key] == pytest.approx(h.score, abs=TIE) for h in indexed[lang])
    if centred:  # the mean taken out moves the scores: not the plain cosine under a new name
        plain = resident.document_passages(vecs, docs, TODAY)
        moved = [abs(a.score - b.score) for lang in plain for a, b in
                 zip(sorted(plain[lang], key=lambda h: h.key),
                     sorted(held[lang], key=lambda h: h.key), strict=True)]  # fmt: skip
        assert max(moved) > 0.05


def test_the_language_means_are_the_means_of_the_passage_vectors(
    graph: GraphReader, resident: ResidentVectors
) -> None:
    means = graph.corpus_facts().language_means
    assert set(means) == {"ja", "en"}
    for lang, mean in means.items():
        space = resident.spaces[(False, lang)]
        rows = space.matrix[[not p.window for p in space.info]]
        assert np.allclose(mean, rows.mean(axis=0), atol=1e-5)
    # Fewer passages than there are: the mean of those read, still near the whole's.
    few = graph.language_means(limit=20)
    assert not np.allclose(few["en"], means["en"], atol=1e-5)
    assert (
        float(np.dot(few["en"], means["en"]))
        / (np.linalg.norm(few["en"]) * np.linalg.norm(means["en"]))
        > 0.95
    )


def test_a_sampled_language_mean_stands_for_the_whole_corpus(
    graph: GraphReader, resident: ResidentVectors
) -> None:
    # A quarter of the passages, read spread over the store: their mean is as near the
    # whole's as a random quarter's. The passages of the documents stored first (one topic)
    # missed it by three to four times the random ones' 95th percentile here.
    rng = np.random.default_rng(0)
    for lang in ("ja", "en"):
        space = resident.spaces[(False, lang)]
        rows = space.matrix[[not p.window for p in space.info]]
        whole, k = rows.mean(axis=0), len(rows) // 4
        sampled = np.asarray(graph.language_means(limit=k)[lang])
        at_random = [
            np.linalg.norm(rows[rng.choice(len(rows), k, replace=False)].mean(axis=0) - whole)
            for _ in range(200)
        ]
        assert np.linalg.norm(sampled - whole) <= np.percentile(at_random, 95), lang


def test_a_search_answers_the_same_from_memory(
    graph: GraphReader,
    resident: ResidentVectors,
    embedder,
    second_embedder,  # type: ignore[no-untyped-def]
) -> None:
    glossary = Glossary.from_rows(graph.glossary(), learned=graph.learned_terms())
    plain = Retriever(graph, embedder, glossary, today=TODAY, second=second_embedder)
    held = Retriever(graph, embedder, glossary, today=TODAY, second=second_embedder,
                     vectors=resident)  # fmt: skip
    for query in QUERIES:
        a, b = plain.search(SearchParams(query=query)), held.search(SearchParams(query=query))
        # The same results, but for near ties that the index's quantized scores decide.
        assert len(a.results) == len(b.results) > 0
        for x, y in zip(a.results, b.results, strict=True):
            assert abs(x.score - y.score) <= TIE, (x.unit.key, y.unit.key)
            assert x.unit.key == y.unit.key or abs(x.score - y.score) <= TIE / 5
        assert "dense2" in b.results[0].retrievers


def test_every_current_passage_is_held(graph: GraphReader, resident: ResidentVectors) -> None:
    assert resident.passages == count(graph.driver, CURRENT) > 0
    assert resident.stamp == graph.corpus_stamp() and resident.second


def wait_for(get: Callable[[], T | None], seconds: float = 60) -> T:
    deadline = time.monotonic() + seconds
    while (got := get()) is None:
        assert time.monotonic() < deadline, "the snapshot was not loaded"
        time.sleep(0.1)
    return got


def test_a_servers_snapshot_follows_the_corpus_stamp(graph: GraphReader) -> None:
    holder = Resident(100_000, lambda: graph)
    stamp = graph.corpus_stamp()
    assert holder.for_stamp(stamp, second=False) is None  # loading in the background
    assert holder.describe().startswith("loading")
    snap = wait_for(lambda: holder.for_stamp(stamp, second=False))
    assert snap.stamp == stamp and not snap.second and holder.describe().endswith("in memory")
    new = GraphWriter(graph.driver, "neo4j").stamp_corpus()  # what every ingest that writes does
    assert holder.for_stamp(new, second=False) is None  # the old one is not searched
    assert wait_for(lambda: holder.for_stamp(new, second=False)).stamp == new
    holder.close()
    assert holder.for_stamp(new, second=False) is None


def test_a_graph_past_the_limit_stays_in_neo4j(graph: GraphReader) -> None:
    with pytest.raises(TooManyPassages):
        load_resident(graph, second=False, max_passages=10, page=4)
    holder = Resident(10, lambda: graph)
    stamp = graph.corpus_stamp()
    assert holder.for_stamp(stamp, second=False) is None
    deadline = time.monotonic() + 30
    while not holder.describe().startswith("more than 10"):
        assert time.monotonic() < deadline, holder.describe()
        time.sleep(0.1)
    assert holder.for_stamp(stamp, second=False) is None  # and it is not tried again
    assert not holder.describe().startswith("loading")


class Readers:
    """Readers of `graph` that note who read pages of vectors from it, in order."""

    def __init__(self, graph: GraphReader) -> None:
        self.graph = graph
        self.pages: list[str] = []

    def __call__(self, who: str) -> Callable[[], GraphReader]:
        pages = self.pages

        class Counting(GraphReader):
            def resident_page(self, after: str, page: int, second: bool) -> list[dict[str, Any]]:
                pages.append(who)
                return super().resident_page(after, page, second)

        counting = Counting(self.graph.driver, "neo4j")
        return lambda: counting

    def reads(self) -> list[str]:
        return list(dict.fromkeys(self.pages))


def is_mapped(snap: ResidentVectors) -> bool:
    """Whether `snap`'s vectors are mapped from the store's files."""
    return all(isinstance(s.matrix, np.memmap) for s in snap.spaces.values())


def test_a_restart_maps_the_saved_snapshot_back_without_reading_the_graph(
    graph: GraphReader,
    embedder,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    reader = Readers(graph)
    reads = reader.reads
    store = ResidentStore(tmp_path)
    stamp = graph.corpus_stamp()
    first = Resident(100_000, reader("first"), store=store)
    assert first.for_stamp(stamp, second=True) is None
    held = wait_for(lambda: first.for_stamp(stamp, second=True))
    fingerprint = graph.passage_fingerprint()
    wait_for(lambda: store.load(stamp, second=True, fingerprint=fingerprint), 30)  # saved after use
    first.close()

    again = Resident(100_000, reader("restart"), store=store)
    assert again.for_stamp(stamp, second=True) is None
    back = wait_for(lambda: again.for_stamp(stamp, second=True))
    assert reads() == ["first"]  # the restart read the store, not the graph
    assert back.passages == held.passages == count(graph.driver, CURRENT)
    vec = [float(x) for x in embedder.embed_queries([QUERIES[0]])[0]]
    for lang in ("ja", "en"):
        assert back.vector(vec, lang, FILTERS["market"], 10) == held.vector(
            vec, lang, FILTERS["market"], 10
        )

    # A server allowed fewer passages than the snapshot holds does not take it from disk.
    small = Resident(held.passages - 1, reader("small"), store=store)
    small.for_stamp(stamp, second=True)
    deadline = time.monotonic() + 30
    while not small.describe().startswith("more than"):
        assert time.monotonic() < deadline, small.describe()
        time.sleep(0.1)
    assert reads() == ["first", "small"]

    # A document written since without a new stamp (an ingest killed before its end): the
    # passages' fingerprint moved, so the restart reads the graph.
    key, was = graph.driver.execute_query(
        "MATCH (p:Passage {retired: false}) WITH p, p.written AS was ORDER BY p.key LIMIT 1 "
        "SET p.written = $now RETURN p.key, was",  # test setup, not product Cypher
        now=write_stamp(), database_="neo4j",
    ).records[0]  # fmt: skip
    try:
        killed = Resident(100_000, reader("killed"), store=store)
        killed.for_stamp(stamp, second=True)
        wait_for(lambda: killed.for_stamp(stamp, second=True))
        assert reads() == ["first", "small", "killed"]
        killed.close()
    finally:
        graph.driver.execute_query(
            "MATCH (p:Passage {key: $key}) SET p.written = $was", key=key, was=was,
            database_="neo4j",
        )  # fmt: skip

    # A new corpus stamp (an ingest that changed no document) is brought up to date from
    # the snapshot held, without reading the graph's pages (tests/integration/
    # test_resident_refresh.py), and saved.
    new = GraphWriter(graph.driver, "neo4j").stamp_corpus()
    assert again.for_stamp(new, second=True) is None
    assert wait_for(lambda: again.for_stamp(new, second=True)).stamp == new
    assert reads() == ["first", "small", "killed"]
    fingerprint = graph.passage_fingerprint()
    assert wait_for(lambda: store.load(new, second=True, fingerprint=fingerprint), 30)
    again.close()


def test_workers_sharing_a_store_read_the_graph_once_and_map_one_copy(
    graph: GraphReader,
    embedder,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    """`sopkg serve --workers N` on a first start: one worker reads the graph and saves,
    the others wait for the save and map it (the reader keeps the copy it read)."""
    reader = Readers(graph)
    store = ResidentStore(tmp_path)
    stamp = graph.corpus_stamp()
    workers = [Resident(100_000, reader(f"worker {i}"), store=store) for i in range(3)]

    def all_held() -> list[ResidentVectors] | None:
        snaps = [w.for_stamp(stamp, second=True) for w in workers]
        return None if None in snaps else [s for s in snaps if s is not None]

    try:
        for w in workers:
            assert w.for_stamp(stamp, second=True) is None  # all start loading at once
        snaps = wait_for(all_held)
        assert len(reader.reads()) == 1, reader.reads()  # one worker read the graph
        assert sum(is_mapped(s) for s in snaps) == 2  # the others map its save
        assert {s.passages for s in snaps} == {count(graph.driver, CURRENT)}
        vec = [float(x) for x in embedder.embed_queries([QUERIES[1]])[0]]
        for lang in ("ja", "en"):
            hits = [s.vector(vec, lang, FILTERS["market"], 10) for s in snaps]
            assert hits[0] and all(h == hits[0] for h in hits)
    finally:
        for w in workers:
            w.close()
