"""Long passages' windows: which texts are embedded (ingest.concepts), and how a snapshot
ranks a passage that has several vectors (kg.resident): by its best one, once."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from ingest.concepts import WINDOW_SENTENCES, WINDOW_STRIDE, sentences, window_texts
from kg.reader import HitFilter
from kg.resident import ResidentVectors, _LangBuilder

JA = "一文目です。二文目です！三文目ですか？四文目です。五文目です。"
EN = "First one. Second one! Third one? Fourth one. Fifth one."


@pytest.mark.parametrize("text", [JA, EN])
def test_sentences_give_the_text_back(text: str) -> None:
    parts = sentences(text)
    assert len(parts) == 5 and "".join(parts) == text


@pytest.mark.parametrize(
    "text",
    ["一文目です。二文目です。", "One. Two. Three.", "No sentence end at all", "3.5 kg. Two."],
)
def test_a_short_passage_has_no_windows(text: str) -> None:
    assert len(sentences(text)) <= WINDOW_SENTENCES
    assert window_texts("Title", "Overview", text) == []


def test_a_long_passage_is_embedded_in_overlapping_windows_with_its_setting() -> None:
    got = window_texts("Title", "Overview", EN, ["p1 text"])
    starts = range(0, 5, WINDOW_STRIDE)
    assert len(got) == len(starts) == 3
    assert got[0] == "Title / Overview: First one. Second one! Third one? (p1 text)"
    assert got[1] == "Title / Overview: Third one? Fourth one. Fifth one. (p1 text)"
    assert got[2] == "Title / Overview: Fifth one. (p1 text)"
    assert window_texts("題", "", JA)[1] == "題: 三文目ですか？四文目です。五文目です。"


def _row(key: str, vec: list[float], windows: list[list[float]] | None = None) -> dict[str, object]:
    return {
        "key": key, "lang": "en", "doc_id": key.split("#")[0], "statement_key": None,
        "align_key": "overview", "statement_kind": None, "section_kind": "overview",
        "effective": dt.date(2026, 1, 1), "valid_until": None, "embedding": vec,
        "embedding2": None, "windows": [x for w in windows for x in w] if windows else None,
    }  # fmt: skip


def _snapshot(rows: list[dict[str, object]]) -> ResidentVectors:
    docs = sorted({str(r["doc_id"]) for r in rows})
    builder = _LangBuilder("en")
    builder.add(rows, {d: i for i, d in enumerate(docs)})  # type: ignore[arg-type]
    documents = [{"id": d, "status": "active", "markets": ["ALL"], "topic": "t"} for d in docs]
    spaces = {(second, "en"): s for second, s in builder.build(len(docs)).items()}
    return ResidentVectors("stamp", documents, spaces)


def test_a_passage_ranks_by_its_best_vector_and_once() -> None:
    snap = _snapshot([
        _row("long#b1", [1.0, 0.0, 0.0], [[0.0, 1.0, 0.0], [0.0, 0.6, 0.8]]),
        _row("mid#b1", [0.0, 0.8, 0.6]),
        _row("far#b1", [1.0, 0.0, 0.0]),
    ])  # fmt: skip
    assert snap.passages == 3  # the windows are rows, not passages
    flt = HitFilter(as_of=dt.date(2026, 6, 1))
    hits = snap.vector([0.0, 1.0, 0.0], "en", flt, 3)
    # The long passage's own vector is far from the query; its first window is the query.
    assert [h.key for h in hits] == ["long#b1", "mid#b1", "far#b1"]
    assert hits[0].score == pytest.approx(1.0) and hits[1].score == pytest.approx(0.9)
    assert [h.key for h in snap.vector([0.0, 1.0, 0.0], "en", flt, 2)] == ["long#b1", "mid#b1"]
    inside = snap.document_passages({"en": [0.0, 0.0, 1.0]}, ["long", "mid"], dt.date(2026, 6, 1))
    assert [(h.key, round(h.score, 3)) for h in inside["en"]] == [("long#b1", 0.9), ("mid#b1", 0.8)]


def test_more_rows_are_read_when_windows_fill_the_first_ones() -> None:
    near = [[0.0, 1.0]] * 9  # nine windows nearer the query than any other passage
    rows = [_row("long#b1", [1.0, 0.0], near)] + [
        _row(f"d{i}#b1", [float(np.cos(a)), float(np.sin(a))])
        for i, a in enumerate(np.linspace(0.1, 1.2, 5))
    ]
    hits = _snapshot(rows).vector([0.0, 1.0], "en", HitFilter(as_of=dt.date(2026, 6, 1)), 3)
    assert [h.key for h in hits] == ["long#b1", "d4#b1", "d3#b1"]


def test_window_vectors_of_another_length_are_left_out() -> None:
    snap = _snapshot([_row("long#b1", [1.0, 0.0, 0.0], [[0.0, 1.0]])])
    assert snap.spaces[(False, "en")].matrix.shape == (1, 3)
