"""A snapshot of the passage vectors after an ingest: only the documents written or
retired since are read again from Neo4j, and the result holds exactly what reading the
whole graph gives (the same rows, vectors, dates and documents)."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from neo4j import Driver

from ingest.pipeline import ingest_corpus
from kg.reader import GraphReader, HitFilter
from kg.resident import FullLoad, Resident, ResidentVectors, load_resident, refresh_resident
from kg.writer import GraphWriter

pytestmark = pytest.mark.integration
SAMPLE = Path(__file__).resolve().parents[2] / "sample_corpus"
FILES = ["creators/ad-disclosure-jp.ja.md", "creators/ad-disclosure-jp.en.md",
         "creators/dangerous-challenges.ja.md", "creators/dangerous-challenges.en.md",
         "listings/prohibited-weapons-ph.en.md", "listings/reg-health-foods-jp.ja.md",
         "glossary.yaml"]  # fmt: skip
ADDED = ["listings/reg-cosmetics-my.ja.md", "listings/reg-cosmetics-my.en.md"]
LIMIT = 100_000


@pytest.fixture(autouse=True)
def small_corpus(monkeypatch: pytest.MonkeyPatch) -> None:
    """Most of these few documents change: refresh them all the same (a real corpus
    changes a small share at a time; past REFRESH_MAX_SHARE it is read whole)."""
    monkeypatch.setattr("kg.resident.REFRESH_MAX_SHARE", 1.0)


class Counting(GraphReader):
    """Notes which documents' passages were read, and whether the whole graph was."""

    def __init__(self, driver: Driver) -> None:
        super().__init__(driver, "neo4j")
        self.documents: list[str] = []
        self.pages = 0

    def resident_page(self, after: str, page: int, second: bool) -> list[dict[str, Any]]:
        self.pages += 1
        return super().resident_page(after, page, second)

    def resident_passages_of(self, doc_ids: Sequence[str], second: bool) -> list[dict[str, Any]]:
        self.documents.extend(doc_ids)
        return super().resident_passages_of(doc_ids, second)


def ingest(corpus: Path, driver: Driver, embedder, second) -> None:  # type: ignore[no-untyped-def]
    summary = ingest_corpus(corpus, driver, "neo4j", embedder, second=second)
    assert summary.errors == []


def copy(names: Sequence[str], corpus: Path) -> None:
    for name in names:
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SAMPLE / name, corpus / name)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def change(corpus: Path) -> None:
    """A new version of one document (both languages), one file edited in place, one
    document retired (its only file gone), one document added; one left as it was."""
    for lang in ("ja", "en"):
        path = corpus / f"creators/ad-disclosure-jp.{lang}.md"
        edit(path, 'version: "2.1"\neffective: 2026-05-01', 'version: "2.2"\neffective: 2026-07-01')
    edit(
        corpus / "creators/ad-disclosure-jp.en.md",
        "translation_of: ja@2.1",
        "translation_of: ja@2.2",
    )
    edit(
        corpus / "creators/dangerous-challenges.en.md",
        "in every market.",
        "in every market, whichever language the content is in.",
    )
    (corpus / "listings/prohibited-weapons-ph.en.md").unlink()
    copy(ADDED, corpus)


def contents(snap: ResidentVectors) -> dict[tuple[bool, str], dict[str, tuple[Any, ...]]]:
    """Each space's rows by passage key, independent of their order and numbering."""
    out: dict[tuple[bool, str], dict[str, tuple[Any, ...]]] = {}
    for key, space in snap.spaces.items():
        out[key] = {
            info.key: (
                info,
                snap.documents[int(space.doc[i])]["id"]
                if space.doc[i] < len(snap.documents)
                else None,
                int(space.effective[i]),
                int(space.until[i]),
                tuple(np.round(space.matrix[i], 6)),
            )
            for i, info in enumerate(space.info)
        }
    return out


def documents(snap: ResidentVectors) -> list[dict[str, Any]]:
    return sorted(snap.documents, key=lambda d: str(d["id"]))


@pytest.fixture()
def corpus(tmp_path: Path, clean_driver: Driver, embedder, second_embedder) -> Path:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "corpus"
    copy(FILES, corpus)
    ingest(corpus, clean_driver, embedder, second_embedder)
    return corpus


def test_a_refresh_reads_only_what_changed_and_equals_a_whole_read(
    corpus: Path,
    clean_driver: Driver,
    embedder,
    second_embedder,  # type: ignore[no-untyped-def]
) -> None:
    graph = GraphReader(clean_driver, "neo4j")
    before = load_resident(graph, second=True, max_passages=LIMIT)
    assert before is not None and before.origin is not None
    change(corpus)
    ingest(corpus, clean_driver, embedder, second_embedder)
    counting = Counting(clean_driver)
    refreshed = refresh_resident(before, counting, second=True, max_passages=LIMIT)
    whole = load_resident(graph, second=True, max_passages=LIMIT)
    assert refreshed is not None and whole is not None
    assert counting.pages == 0
    assert sorted(counting.documents) == [
        "ad-disclosure-jp",
        "dangerous-challenges",
        "reg-cosmetics-my",
    ]
    assert refreshed.stamp == whole.stamp != before.stamp
    assert documents(refreshed) == documents(whole)
    assert contents(refreshed) == contents(whole)
    assert refreshed.origin == whole.origin
    # The old version stays for as-of search, closed on the new one's date.
    old = {i.key for i in before.spaces[(False, "en")].info if i.doc_id == "ad-disclosure-jp"}
    rows = contents(refreshed)[(False, "en")]
    assert old <= rows.keys()
    assert {rows[k][3] for k in old} == {dt.date(2026, 7, 1).toordinal()}
    # And it searches as the whole read does, filters included.
    query = embedder.embed_queries(["cosmetics whitening claims in Malaysia"])[0]
    for flt in (
        HitFilter(as_of=dt.date(2026, 8, 1)),
        HitFilter(as_of=dt.date(2026, 6, 1), markets=("JP",)),
    ):
        assert [h.key for h in refreshed.vector(query, "en", flt, 10)] == [
            h.key for h in whole.vector(query, "en", flt, 10)
        ]
    # A Japanese-only document edited: the English spaces are kept as they are, not copied.
    edit(
        corpus / "listings/reg-health-foods-jp.ja.md",
        "## 概要 {#overview}\n",
        "## 概要 {#overview}\n改訂。",
    )
    ingest(corpus, clean_driver, embedder, second_embedder)
    again = refresh_resident(refreshed, graph, second=True, max_passages=LIMIT)
    whole = load_resident(graph, second=True, max_passages=LIMIT)
    assert again is not None and whole is not None and contents(again) == contents(whole)
    for second in (False, True):
        assert again.spaces[(second, "en")] is refreshed.spaces[(second, "en")]
        assert again.spaces[(second, "ja")] is not refreshed.spaces[(second, "ja")]


@pytest.mark.parametrize("cause", ["vectors", "most", "unrecorded"])
def test_a_refresh_that_cannot_be_trusted_or_saves_nothing_reads_everything(
    cause: str,
    corpus: Path,
    clean_driver: Driver,
    embedder,
    second_embedder,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    graph = GraphReader(clean_driver, "neo4j")
    before = load_resident(graph, second=True, max_passages=LIMIT)
    assert before is not None
    if cause == "vectors":  # the second space's flag dropped and set again: its vectors may be new
        writer = GraphWriter(clean_driver, "neo4j")
        model = graph.corpus_facts().second_space
        writer.mark_embedder2_full(None)
        writer.mark_embedder2_full(model)
    elif cause == "most":
        monkeypatch.setattr("kg.resident.REFRESH_MAX_SHARE", 0.0)
        change(corpus)
        ingest(corpus, clean_driver, embedder, second_embedder)
    else:
        before = ResidentVectors(before.stamp, before.documents, before.spaces, True, None)
    with pytest.raises(FullLoad):
        refresh_resident(before, graph, second=True, max_passages=LIMIT)


def test_a_servers_snapshot_follows_an_ingest_by_reading_the_changed_documents(
    corpus: Path,
    clean_driver: Driver,
    embedder,
    second_embedder,  # type: ignore[no-untyped-def]
) -> None:
    counting = Counting(clean_driver)
    resident = Resident(LIMIT, lambda: counting)
    try:
        first = wait_for_snapshot(resident, counting, second=True)
        pages = counting.pages
        assert pages > 0 and counting.documents == []
        change(corpus)
        ingest(corpus, clean_driver, embedder, second_embedder)
        second = wait_for_snapshot(resident, counting, second=True)
        assert second.stamp != first.stamp
        assert counting.pages == pages  # no whole read
        assert "reg-cosmetics-my" in counting.documents
        whole = load_resident(GraphReader(clean_driver, "neo4j"), second=True, max_passages=LIMIT)
        assert whole is not None and contents(second) == contents(whole)
    finally:
        resident.close()


def wait_for_snapshot(resident: Resident, reader: GraphReader, second: bool) -> ResidentVectors:
    stamp = reader.corpus_stamp()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        snap = resident.for_stamp(stamp, second)
        if snap is not None:
            return snap
        time.sleep(0.05)
    raise AssertionError("no snapshot within 60 s")
