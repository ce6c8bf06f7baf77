"""Rows of a passage (or query log entry) deleted while a query ran (read-committed reads)
come back with null properties; the reader drops them instead of handing `None` ids to the ranking (found by
the soak: a search racing an ingest failed with 500)."""

from __future__ import annotations

from typing import Any

from kg.coverage import log_entries
from kg.reader import _hits


def row(key: str | None, doc_id: str | None) -> dict[str, Any]:
    return {"key": key, "score": 0.5, "lang": "en", "doc_id": doc_id,
            "statement_key": None, "align_key": "s1"}  # fmt: skip


def test_rows_of_deleted_passages_are_dropped() -> None:
    hits = _hits([row("d#p1", "d"), row(None, None), row("d#p2", None)])
    assert [h.key for h in hits] == ["d#p1"]
    assert sorted({h.doc_id for h in hits}) == ["d"]  # what the blind-family check sorts


def test_query_log_entries_deleted_while_read_are_dropped() -> None:
    # The trim deleting the oldest entries while a coverage report reads the log.
    entries = [{"id": "q2", "at": "2026-11-30T07:00:00Z", "query": "コピー品"}, {"at": None}]
    assert [e.id for e in log_entries(entries)] == ["q2"]
