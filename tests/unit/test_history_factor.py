"""kg.corpus_facts in memory: how much history the indexes hold on a date, what a
retrieval read asks its index for because of it, and which documents are replaced then."""

from __future__ import annotations

import datetime as dt

import pytest

from kg.corpus_facts import CorpusFacts
from kg.reader import HitFilter


def facts(versions_per_doc: int, docs: int = 2) -> CorpusFacts:
    """`docs` documents, each with versions taking effect a year apart from 2020 on."""
    rows = []
    for d in range(docs):
        for v in range(versions_per_doc):
            nxt = dt.date(2021 + v, 1, 1) if v < versions_per_doc - 1 else None
            rows.append({"doc_id": f"d{d}", "lang": "en", "effective": dt.date(2020 + v, 1, 1),
                         "valid_until": nxt})  # fmt: skip
    return CorpusFacts.from_rows(rows, [], [])


@pytest.mark.parametrize(
    ("versions", "as_of", "factor"),
    [
        (1, dt.date(2026, 6, 1), 1.0),  # no history
        (4, dt.date(2026, 6, 1), 4.0),  # three old versions indexed per current one
        (4, dt.date(2019, 1, 1), 1.0),  # nothing in effect yet: nothing to make room for
        (30, dt.date(2060, 1, 1), 10.0),  # capped
    ],
)
def test_history_factor(versions: int, as_of: dt.date, factor: float) -> None:
    assert facts(versions).history_factor(as_of) == factor


def test_the_indexes_are_asked_for_more_candidates_as_history_grows() -> None:
    june = dt.date(2026, 6, 1)
    plain = HitFilter(as_of=june, history=facts(1).history_factor(june))
    aged = HitFilter(as_of=june, history=facts(4).history_factor(june))
    assert plain.fetch(50, filtered=False) == 100
    assert aged.fetch(50, filtered=False) == 400
    assert aged.fetch(50, filtered=True) == 800


@pytest.mark.parametrize(
    ("as_of", "hidden"),
    [
        (dt.date(2026, 3, 1), set()),  # its successor is not in effect yet: it still applies
        (dt.date(2026, 5, 1), {"old"}),  # the day the successor takes effect
        (dt.date(2027, 1, 1), {"old"}),
    ],
)
def test_a_superseded_document_is_hidden_once_its_successor_is_in_effect(
    as_of: dt.date, hidden: set[str]
) -> None:
    versions = [
        {"doc_id": "old", "lang": "en", "effective": dt.date(2025, 2, 1), "valid_until": None},
        {"doc_id": "new", "lang": "ja", "effective": dt.date(2026, 5, 1), "valid_until": None},
    ]
    facts = CorpusFacts.from_rows(versions, [], [], [{"doc_id": "old", "by": ["new"]}])
    assert facts.superseded_on(as_of) == hidden
