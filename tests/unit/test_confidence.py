"""The answer-confidence signal, through fuse and rerank: a share of retriever families,
so it means the same in every mode and whatever the fusion's score scale."""

from __future__ import annotations

import pytest

from kg.reader import Hit
from search_api.fusion import FusionConfig, confidence, fuse, rerank
from search_api.retrieval import RETRIEVERS_BY_MODE


def _hits(lang: str, *units: str) -> list[Hit]:
    return [
        Hit(f"{u}@{lang}", 1.0 - i / 10, lang, u.split("#")[0], u, "policy")
        for i, u in enumerate(units)
    ]


CFG = FusionConfig()


@pytest.mark.parametrize(
    ("mode", "ranked", "agreement", "weak"),
    [
        # both families rank it first
        ("hybrid", {"lexical": _hits("en", "a#p1", "b#p1"), "dense": _hits("en", "a#p1")}, 1.0, False),
        # a one-language document found by dense retrieval alone: half the families agree
        ("hybrid", {"lexical": _hits("en", "b#p1", "b#p2", "b#p3", "b#p4"),
                    "dense": _hits("ja", "c#p1", "b#p9")}, 0.5, False),
        # a single-arm mode is judged against its one arm, not against a missing one
        ("lexical", {"lexical": _hits("en", "a#p1", "b#p1")}, 1.0, False),
        ("dense", {"dense": _hits("ja", "c#p1")}, 1.0, False),
    ],
)  # fmt: skip
def test_confidence_is_a_share_of_families(
    mode: str, ranked: dict[str, list[Hit]], agreement: float, weak: bool
) -> None:
    units = rerank(fuse(ranked, CFG), {}, CFG)
    sure = confidence(units, CFG, RETRIEVERS_BY_MODE[mode])
    assert sure is not None
    assert (sure.agreement, sure.weak) == (agreement, weak)
    assert sure.separation >= 1.0


def test_a_top_reached_through_the_graph_only_is_weak() -> None:
    # Every list ranks a#p1 4th or lower; the graph lifts a linked statement no list found.
    ranked = {
        "lexical": _hits("en", "b#p1", "c#p1", "d#p1", "a#p1"),
        "dense": _hits("en", "e#p1", "f#p1", "g#p1", "a#p1"),
    }
    cfg = FusionConfig(graph=5.0, document=0.0)
    units = rerank(fuse(ranked, cfg), {"a#p1": ["a#x1"]}, cfg)
    assert units[0].unit == "a#x1"
    sure = confidence(units, cfg, RETRIEVERS_BY_MODE["hybrid"])
    assert sure is not None and sure.agreement == 0.0 and sure.weak


def test_no_results_no_confidence() -> None:
    assert confidence([], CFG, RETRIEVERS_BY_MODE["hybrid"]) is None
