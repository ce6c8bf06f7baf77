"""The resident vectors' own rules, on a hand-built snapshot: the filter of VECTOR_SEARCH
(status, markets, topic subtree, hidden documents, dates, language), exact top-k by the
index's score, and a document's passages. Equality with Neo4j's indexes on a real graph
is tests/integration/test_resident_graph.py."""

from __future__ import annotations

import datetime as dt
import os
import sys
import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from kg import resident
from kg.reader import HitFilter
from kg.resident import OPEN_END, PassageInfo, ResidentVectors, Space

DAY = dt.date(2026, 6, 1)
DOCS = [
    {"id": "a", "status": "active", "markets": ["JP"], "topic": "creators/live"},
    {"id": "b", "status": "active", "markets": ["ALL"], "topic": "creators"},
    {"id": "c", "status": "active", "markets": ["TH"], "topic": "creatorsx"},
    {"id": "d", "status": "retired", "markets": ["JP"], "topic": "creators"},
]


def snapshot() -> ResidentVectors:
    """Six English passages on a circle, angle i * 10 degrees from the query direction
    (so passage 0 is nearest), with their documents, dates and one of a missing document."""
    rows = [  # doc number, effective, valid until
        (0, DAY, None),
        (1, DAY, None),
        (2, DAY, None),
        (3, DAY, None),
        (0, DAY - dt.timedelta(days=30), DAY),  # an old version: not in effect on DAY
        (4, DAY, None),  # its document row is missing
    ]
    angles = np.radians([10.0 * i for i in range(len(rows))])
    matrix = np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32) * 3.0
    space = Space(
        "en",
        matrix / np.linalg.norm(matrix, axis=1, keepdims=True),
        np.array([r[0] for r in rows], np.int32),
        np.array([r[1].toordinal() for r in rows], np.int32),
        np.array([r[2].toordinal() if r[2] else OPEN_END for r in rows], np.int32),
        tuple(
            PassageInfo(
                f"p{i}", DOCS[r[0]]["id"] if r[0] < 4 else "gone", None, f"s{i}", None, "policy"
            )
            for i, r in enumerate(rows)
        ),  # fmt: skip
    )
    return ResidentVectors("stamp", DOCS, {(False, "en"): space})


QUERY = [1.0, 0.0]


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (HitFilter(as_of=DAY), ["p0", "p1", "p2"]),  # d retired, p4 old, p5 no document
        (HitFilter(as_of=DAY - dt.timedelta(days=1)), ["p4"]),  # only the old version
        (HitFilter(as_of=DAY, markets=["JP", "ALL"]), ["p0", "p1"]),
        (HitFilter(as_of=DAY, markets=["TH"]), ["p2"]),
        (HitFilter(as_of=DAY, topic="creators"), ["p0", "p1"]),  # not "creatorsx"
        (HitFilter(as_of=DAY, hidden_docs=("a",)), ["p1", "p2"]),
        (HitFilter(as_of=DAY, lang="ja"), []),
    ],
)
def test_the_filter_is_the_vector_index_filter(flt: HitFilter, expected: list[str]) -> None:
    hits = snapshot().vector(QUERY, "en", flt, 10)
    assert [h.key for h in hits] == expected


def test_top_k_is_exact_and_scored_as_the_index_scores() -> None:
    hits = snapshot().vector([2.0, 0.0], "en", HitFilter(as_of=DAY), 2)
    assert [h.key for h in hits] == ["p0", "p1"]
    # Neo4j's cosine score: (1 + cos) / 2, whatever the vectors' lengths.
    assert hits[0].score == pytest.approx(1.0)
    assert hits[1].score == pytest.approx((1 + np.cos(np.radians(10))) / 2)
    assert hits[1].markets == ("ALL",) and hits[1].section_kind == "policy"


@pytest.mark.parametrize(
    "query", [[0.0, 0.0], [1.0, 0.0, 0.0]], ids=["zero vector", "other dimension"]
)
def test_a_query_it_cannot_score_finds_nothing(query: list[float]) -> None:
    assert snapshot().vector(query, "en", HitFilter(as_of=DAY), 5) == []


def test_a_space_it_does_not_hold_finds_nothing() -> None:
    assert snapshot().vector(QUERY, "en", HitFilter(as_of=DAY), 5, second=True) == []
    assert snapshot().vector(QUERY, "ja", HitFilter(as_of=DAY), 5) == []


def test_document_passages_are_a_documents_in_effect_by_similarity() -> None:
    out = snapshot().document_passages({"en": QUERY, "ja": QUERY}, ["b", "a", "a"], DAY)
    assert [h.key for h in out["en"]] == ["p0", "p1"]
    assert out["ja"] == []
    past = snapshot().document_passages({"en": QUERY}, ["a"], DAY - dt.timedelta(days=1))
    assert [h.key for h in past["en"]] == ["p4"]


def test_document_passages_centred_take_the_mean_out_of_both_sides() -> None:
    # Passages 0 and 1 (0 and 10 degrees) against a query at 4 degrees: passage 0 is
    # nearer; with a mean near passage 0 taken out, the part of the query that sets it
    # apart from the mean points nearer passage 1.
    query = [float(np.cos(np.radians(4.0))), float(np.sin(np.radians(4.0)))]
    mean = [0.9, 0.0]
    plain = snapshot().document_passages({"en": query}, ["a", "b"], DAY)
    centred = snapshot().document_passages({"en": query}, ["a", "b"], DAY, {"en": mean})
    assert [h.key for h in plain["en"]] == ["p0", "p1"]
    assert [h.key for h in centred["en"]] == ["p1", "p0"]
    q = np.asarray(query) - mean
    for h in centred["en"]:
        angle = np.radians(10.0 * int(h.key[1:]))
        p = np.array([np.cos(angle), np.sin(angle)]) - mean
        cos = p @ q / (np.linalg.norm(p) * np.linalg.norm(q))
        assert h.score == pytest.approx((1 + cos) / 2, abs=1e-5)  # float32 rows
    # A language without a mean, or a mean of another length, is scored plainly.
    assert snapshot().document_passages({"en": query}, ["a", "b"], DAY, {"ja": mean}) == plain
    assert snapshot().document_passages({"en": query}, ["a", "b"], DAY, {"en": [1.0]}) == plain


def test_holding_vectors_keeps_blas_on_one_thread() -> None:
    # A spinning second BLAS thread cost a third of a search's CPU (kg.resident.one_blas_thread).
    def blas_threads() -> set[int]:
        return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}

    with threadpool_limits(limits=2, user_api="blas"):
        assert blas_threads() == {2}
        snapshot()
        assert blas_threads() == {1}


def large_space(monkeypatch: pytest.MonkeyPatch, n: int = 4_000) -> tuple[Space, Space]:
    """The same n passages (documents a and b, in effect on DAY) with and without the coarse
    first pass, its thresholds scaled down to n: vectors near an 8-dimensional subspace of
    64, as embeddings lie near a few principal axes."""
    monkeypatch.setattr(resident, "COARSE_MIN_ROWS", 1_000)
    monkeypatch.setattr(resident, "COARSE_DIMS", 16)
    monkeypatch.setattr(resident, "COARSE_CANDIDATES", 200)
    monkeypatch.setattr(resident, "COARSE_PER_HIT", 4)
    monkeypatch.setattr(resident, "COARSE_SAMPLE", 1_000)
    rng = np.random.default_rng(7)
    matrix = rng.standard_normal((n, 8)) @ rng.standard_normal((8, 64))
    matrix += 0.3 * rng.standard_normal((n, 64))
    matrix = (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)
    fields = (
        np.array([i % 2 for i in range(n)], np.int32),
        np.full(n, DAY.toordinal(), np.int32),
        np.full(n, OPEN_END, np.int32),
        tuple(PassageInfo(f"p{i}", "ab"[i % 2], None, f"s{i}", None, "policy") for i in range(n)),
    )
    coarse = resident.coarse_view(matrix)
    assert coarse is not None and coarse.rows.shape == (n, 16)
    return Space("en", matrix, *fields, coarse), Space("en", matrix, *fields)


@pytest.mark.parametrize("markets", [None, ["TH", "ALL"]], ids=["all rows", "half the rows"])
def test_the_coarse_pass_finds_the_exact_top_k(
    monkeypatch: pytest.MonkeyPatch, markets: list[str] | None
) -> None:
    two_pass, exact = large_space(monkeypatch)
    rng = np.random.default_rng(11)
    flt = HitFilter(as_of=DAY, markets=markets)
    for _ in range(20):
        query = [float(x) for x in rng.standard_normal(64)]
        found = [
            [(h.key, round(h.score, 6)) for h in ResidentVectors("s", DOCS, {(False, "en"): sp})
             .vector(query, "en", flt, 20)]
            for sp in (two_pass, exact)
        ]  # fmt: skip
        assert found[0] == found[1] and len(found[0]) == 20


def loaded_spaces(n: int) -> dict[bool, Space]:
    """One language's spaces as a load builds them from pages read (both spaces)."""
    rng = np.random.default_rng(3)
    page = [
        {"key": f"p{i}", "doc_id": "a", "statement_key": None, "align_key": f"s{i}",
         "statement_kind": None, "section_kind": "policy", "effective": DAY,
         "valid_until": None, "embedding": [float(x) for x in rng.standard_normal(32)],
         "embedding2": [float(x) for x in rng.standard_normal(24)]}
        for i in range(n)
    ]  # fmt: skip
    builder = resident._LangBuilder("en")
    builder.add(page, {"a": 0})
    return builder.build(unknown_doc=4)


def test_a_load_gives_a_large_space_its_first_pass_and_a_small_one_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(resident, "COARSE_MIN_ROWS", 300)
    monkeypatch.setattr(resident, "COARSE_DIMS", 8)
    small, large = loaded_spaces(299), loaded_spaces(300)
    assert small[False].coarse is None and small[True].coarse is None
    for space, dim in ((False, 32), (True, 24)):
        coarse = large[space].coarse
        assert coarse is not None
        assert coarse.basis.shape == (dim, 8) and coarse.rows.shape == (300, 8)
        # The axes are orthonormal, and a row's coordinates are its projection on them.
        assert np.allclose(coarse.basis.T @ coarse.basis, np.eye(8), atol=1e-5)
        assert np.allclose(coarse.rows, large[space].matrix @ coarse.basis, atol=1e-5)


def test_a_refreshed_large_space_gets_its_first_pass_for_every_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Document a's 2,000 rows replaced by 300 read again, the documents renumbered (b, a):
    the merged space's first pass covers every row, and finds what exact search finds."""
    two_pass, _ = large_space(monkeypatch)
    previous = ResidentVectors("s1", DOCS[:2], {(False, "en"): two_pass})
    rng = np.random.default_rng(13)
    mixed = two_pass.matrix[rng.choice(4_000, 300)] + two_pass.matrix[rng.choice(4_000, 300)]
    page = [
        {"key": f"new{i}", "doc_id": "a", "statement_key": None, "align_key": f"n{i}",
         "statement_kind": None, "section_kind": "policy", "effective": DAY,
         "valid_until": None, "embedding": [float(x) for x in row], "embedding2": None}
        for i, row in enumerate(mixed)
    ]  # fmt: skip
    documents = [DOCS[1], DOCS[0]]
    builder = resident._LangBuilder("en")
    builder.add(page, {"b": 0, "a": 1})
    fresh = builder.build(unknown_doc=2, coarse=False)[False]
    renumber = np.array([1, 0, 2], np.int32)  # a -> 1, b -> 0, no document -> 2
    kept = resident._kept(two_pass, previous, {"a"}, renumber)
    merged = resident._merged(kept, fresh)
    assert merged is not None and merged.coarse is not None
    assert np.allclose(merged.coarse.rows, merged.matrix @ merged.coarse.basis, atol=1e-5)
    assert {i.doc_id for i in merged.info[:2_000]} == {"b"} and len(merged.info) == 2_300
    assert [documents[d]["id"] for d in merged.doc] == ["b"] * 2_000 + ["a"] * 300
    exact = Space(merged.lang, merged.matrix, merged.doc, merged.effective, merged.until,
                  merged.info)  # fmt: skip
    seen = set()
    for _ in range(10):
        query = [float(x) for x in rng.standard_normal(64)]
        found = [
            [h.key for h in ResidentVectors("s2", documents, {(False, "en"): sp})
             .vector(query, "en", HitFilter(as_of=DAY), 20)]
            for sp in (merged, exact)
        ]  # fmt: skip
        assert found[0] == found[1]
        seen.update(found[0])
    assert any(k.startswith("new") for k in seen)  # rows read again are found too


def test_the_memory_reported_counts_the_first_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    two_pass, exact = large_space(monkeypatch)
    assert two_pass.coarse is not None
    held = ResidentVectors("s", DOCS, {(False, "en"): two_pass}).nbytes
    assert held == exact.matrix.nbytes + two_pass.coarse.rows.nbytes + two_pass.coarse.basis.nbytes


def test_the_lowest_priority_is_the_calling_threads_only() -> None:
    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    # Linux's nice is per thread; elsewhere the call leaves every priority as it was.
    expected = 19 if sys.platform == "linux" else before
    seen: list[int] = []

    def background() -> None:
        resident.lowest_cpu_priority()
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    worker = threading.Thread(target=background)
    worker.start()
    worker.join(10)
    assert seen == [expected]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before  # not the process
