"""Rows of a passage (or query log entry) deleted while a query ran (read-committed reads)
come back with null properties; the reader drops them instead of handing `None` ids to the ranking (found by
the soak: a search racing an ingest failed with 500). A card read that saw two writes of one
document (old text beside new, found by the fault test) is noticed and never shown mixed."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from kg.coverage import log_entries
from kg.reader import (
    _CARD_FIELDS,
    _centred,
    _hits,
    _neighbour_rows,
    latest_write_only,
    straddles_a_write,
)


def row(key: str | None, doc_id: str | None) -> dict[str, Any]:
    return {"key": key, "score": 0.5, "lang": "en", "doc_id": doc_id,
            "statement_key": None, "align_key": "s1"}  # fmt: skip


def test_rows_of_deleted_passages_are_dropped() -> None:
    hits = _hits([row("d#p1", "d"), row(None, None), row("d#p2", None)])
    assert [h.key for h in hits] == ["d#p1"]
    assert sorted({h.doc_id for h in hits}) == ["d"]  # what the blind-family check sorts


def test_centred_rows_of_deleted_passages_are_dropped_too() -> None:
    # Neo4j's scores of p1 = (0, 1, 0) and p2 = (0, 0, 1) against the query (1, 0, 0) and
    # the mean m = (0.3, 0.3, 0): (1 + cos) / 2. Both are as far from the query; p1 is
    # nearer the mean, so centred it falls behind p2.
    m = np.array([0.3, 0.3, 0.0])
    to_mean = {"d#p1": (1 + 0.3 / np.linalg.norm(m)) / 2, "d#p2": 0.5}
    gone = {**row(None, None), "score": None, "lang": None, "to_mean": None}
    rows = [{**row(k, "d"), "to_mean": t} for k, t in to_mean.items()] + [gone]
    centred = _centred(rows, {"en": [1.0, 0.0, 0.0]}, {"en": list(m)})
    assert [h.key for h in _hits(centred)] == ["d#p2", "d#p1"]
    q = np.array([1.0, 0.0, 0.0]) - m
    for r, p in zip(centred, ([0.0, 0.0, 1.0], [0.0, 1.0, 0.0]), strict=True):
        c = (np.asarray(p) - m) @ q / (np.linalg.norm(np.asarray(p) - m) * np.linalg.norm(q))
        assert r["score"] == pytest.approx((1 + c) / 2)


def test_query_log_entries_deleted_while_read_are_dropped() -> None:
    # The trim deleting the oldest entries while a coverage report reads the log.
    entries = [{"id": "q2", "at": "2026-11-30T07:00:00Z", "query": "コピー品"}, {"at": None}]
    assert [e.id for e in log_entries(entries)] == ["q2"]


def card(key: str | None, doc_id: str | None, written: str | None) -> dict[str, Any]:
    fields = dict.fromkeys(_CARD_FIELDS, "x")
    return fields | {"key": key, "doc_id": doc_id, "written": written}


@pytest.mark.parametrize(
    ("rows", "straddles"),
    [
        ([card("a#1", "a", "w1"), card("a#2", "a", "w1"), card("b#1", "b", "w0")], False),
        ([card("a#1", "a", None), card("a#2", "a", None)], False),  # written before stamps
        ([card("a#1", "a", "w1"), card("a#2", "a", "w2")], True),  # old text beside new
        ([card("a#1", "a", None), card("a#2", "a", "w2")], True),
        ([card("a#1", "a", "w1"), card(None, None, None)], True),  # deleted under the read
        ([], False),
    ],
)
def test_a_card_read_that_saw_two_writes_of_a_document_is_noticed(
    rows: list[dict[str, Any]], straddles: bool
) -> None:
    assert straddles_a_write(rows) is straddles


def test_only_the_latest_write_of_each_document_is_shown() -> None:
    rows = [card("a#1", "a", "0002-x"), card("a#2", "a", "0001-y"), card("a#3", "a", None),
            card("b#1", "b", "0001-z")]  # fmt: skip
    assert [r["key"] for r in latest_write_only(rows)] == ["a#1", "b#1"]


def test_statement_links_become_current_neighbours_both_ways() -> None:
    # d#1 applies to d#2 and to the retired d#old; e#9 (retired) applies to d#2.
    links = [["d#1", True, "d#2", True], ["d#1", True, "d#old", False],
             ["e#9", False, "d#2", True]]  # fmt: skip
    rows = {r["key"]: r["neighbours"] for r in _neighbour_rows(links)}
    assert rows == {"d#1": ["d#2"], "d#2": ["d#1"], "e#9": ["d#2"], "d#old": ["d#1"]}
