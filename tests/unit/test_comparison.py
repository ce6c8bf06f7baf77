"""The paired comparison behind `sopkg eval --against` (sopkg.comparison)."""

from __future__ import annotations

from typing import Any

import pytest

from kg.errors import InvalidInput
from sopkg.comparison import (
    DRAWS,
    EXACT_UP_TO,
    check_comparable,
    compare_modes,
    compare_reports,
    compare_rows,
    comparison_table,
    sign_flip_p,
)


def _rows(ndcgs: list[float], kind: str = "question") -> list[dict[str, Any]]:
    return [
        {"id": f"q{i:02d}", "kind": kind, "ndcg@10": v, "recall@10": v, "mrr@10": v}
        for i, v in enumerate(ndcgs)
    ]


def _report(ndcgs: list[float], name: str = "dev") -> dict[str, Any]:
    return {
        "fusion": {"k": 20},
        "sets": [{"name": name, "modes": {"hybrid": {"per_query": _rows(ndcgs)}}}],
    }


def test_a_gain_carried_by_one_query_is_flagged() -> None:
    before = [0.5] * 10
    after = [1.0] + [0.45] * 9  # +0.5 once, -0.05 nine times: mean +0.005
    c = compare_rows(_rows(before), _rows(after))
    assert c["delta"]["ndcg@10"] == pytest.approx(0.005)
    assert (c["wins"], c["losses"], c["ties"]) == (1, 9, 0)
    assert c["largest_gain"] == {"id": "q00", "ndcg@10": 0.5}
    assert c["delta_without_lead"] == pytest.approx(-0.05)
    assert c["rests_on_one_query"] is True
    assert c["p_value"] > 0.5


def test_a_gain_shared_by_many_queries_is_not_flagged_and_is_significant() -> None:
    c = compare_rows(_rows([0.5] * 10), _rows([0.55] * 10))
    assert (c["wins"], c["losses"], c["ties"]) == (10, 0, 0)
    assert c["rests_on_one_query"] is False
    # Exact: of the 2**10 sign patterns only all-plus and all-minus are as extreme.
    assert c["p_value"] == round(2 / 2**10, 4)


def test_differences_below_the_reports_rounding_are_ties() -> None:
    c = compare_rows(_rows([0.5, 0.5, 0.5]), _rows([0.50004, 0.5, 0.4]))
    assert (c["wins"], c["losses"], c["ties"]) == (0, 1, 2)
    assert c["delta_by_kind"] == {"question": pytest.approx(-0.0333, abs=1e-4)}


def test_unchanged_runs_compare_as_all_ties() -> None:
    c = compare_rows(_rows([0.2, 0.9]), _rows([0.2, 0.9]))
    assert (c["wins"], c["losses"], c["ties"], c["p_value"]) == (0, 0, 2, 1.0)
    assert c["rests_on_one_query"] is False
    assert c["largest_gain"] is None and c["largest_loss"] is None


def test_many_moved_queries_use_seeded_draws_the_same_way_each_time() -> None:
    moved = [0.01 * ((-1) ** i) + 0.004 for i in range(EXACT_UP_TO + 14)]
    p = sign_flip_p(moved, 40)
    assert p == sign_flip_p(moved, 40)
    assert 1 / (DRAWS + 1) <= p <= 1.0
    # All in one direction: only the extreme patterns reach it.
    assert sign_flip_p([0.01] * 30, 30) == pytest.approx(1 / (DRAWS + 1))


def test_reports_are_matched_by_set_name_and_query_ids() -> None:
    out = compare_reports(_report([0.5, 0.5]), _report([0.6, 0.5]))
    assert out["fusion_before"] == {"k": 20}
    assert out["sets"][0]["modes"]["hybrid"]["wins"] == 1
    table = comparison_table(out)
    assert "| dev | hybrid | +0.0500 |" in table and "1 / 0 / 1" in table
    assert table.endswith("| q00 +0.100 | - |")
    with pytest.raises(InvalidInput, match="not the same judged queries"):
        compare_reports(_report([0.5, 0.5]), _report([0.5, 0.5, 0.5]))
    with pytest.raises(InvalidInput, match="no judged queries"):
        compare_rows([], [])
    with pytest.raises(InvalidInput, match="none of this run's judged sets"):
        compare_reports(_report([0.5]), _report([0.5], name="dev-xl"))


@pytest.mark.parametrize(
    ("report", "message"),
    [
        ({}, "not a `sopkg eval` report"),
        ({"sets": []}, "not a `sopkg eval` report"),
        ({"sets": [{"name": "dev", "modes": {"hybrid": {"overall": {}}}}]}, "--per-query"),
        ({"sets": ["dev"]}, "a set without name or modes"),
        (
            {"sets": [{"name": "dev", "modes": {"hybrid": {"per_query": [{"id": "q1"}]}}}]},
            "malformed per-query figures",
        ),
        (
            {"sets": [{"name": "dev", "modes": {"hybrid": {"per_query": "all"}}}]},
            "malformed per-query figures",
        ),
    ],
)
def test_a_report_without_per_query_figures_is_refused(
    report: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        check_comparable(report)


def test_hybrid_is_paired_with_each_other_mode_of_the_same_run() -> None:
    report = {
        "sets": [{"name": "dev", "modes": {
            "hybrid": {"per_query": _rows([0.9, 0.8, 0.7])},
            "lexical": {"per_query": _rows([0.9, 0.5, 0.7])},
            "dense": {"per_query": _rows([1.0, 0.8, 0.9])},
        }}],
    }  # fmt: skip
    pairs = compare_modes(report, "hybrid")["sets"][0]["modes"]
    assert set(pairs) == {"hybrid vs lexical", "hybrid vs dense"}
    assert (pairs["hybrid vs lexical"]["wins"], pairs["hybrid vs lexical"]["losses"]) == (1, 0)
    assert pairs["hybrid vs dense"]["delta"]["ndcg@10"] == pytest.approx(-0.1)
    assert compare_modes({"sets": [{"name": "x", "modes": {"dense": {}}}]}, "hybrid") == {
        "sets": []
    }
