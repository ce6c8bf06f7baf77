"""`sopkg eval --against REPORT`: is a change better on each judged set, or on a few queries?

A mean nDCG@10 that moves by 0.005 on 60 queries can be one query moving by 0.3 while ten
others get a little worse: a change fitted to that query, not a better method. The
comparison pairs the two runs query by query (same set, same mode, same query ids) and
reports, per set and mode:

- the mean difference of each metric, and by query kind for nDCG@10;
- wins, losses and ties (a tie is a difference below half the reports' rounding step);
- a paired sign-flip randomisation test of the mean nDCG@10 difference (two-sided): exact
  over every sign pattern when at most `EXACT_UP_TO` queries moved, otherwise
  `DRAWS` seeded draws, so the same two reports always give the same p;
- the largest single gain and loss (None when no query moved that way), and the mean
  difference without the one query that helped the sign of the mean most:
  `rests_on_one_query` when leaving that query out makes the mean's sign flip or vanish.

The reports are `sopkg eval --per-query` JSON; nothing here runs a search.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Mapping, Sequence
from statistics import mean
from typing import Any

import numpy as np

from kg.errors import InvalidInput

METRICS = ("ndcg@10", "recall@10", "mrr@10")
# Per-query figures are rounded to 4 decimals in a report: below this, two runs agree.
TIE = 0.5e-4
EXACT_UP_TO = 16
DRAWS = 20_000
_SEED = 20261201


def check_comparable(base: Mapping[str, Any]) -> None:
    """Fail before any work when `base` cannot be compared against (no per-query figures)."""
    sets = base.get("sets")
    if not isinstance(sets, list) or not sets:
        raise InvalidInput("--against", "not a `sopkg eval` report (no `sets`)")
    for s in sets:
        modes = s.get("modes") if isinstance(s, dict) else None
        if not isinstance(modes, dict) or not isinstance(s.get("name"), str):
            raise InvalidInput(
                "--against", "not a `sopkg eval` report (a set without name or modes)"
            )
        for mode, r in modes.items():
            rows = r.get("per_query") if isinstance(r, dict) else None
            if rows is None:
                raise InvalidInput(
                    "--against",
                    f"set {s['name']!r}, mode {mode}: no per-query figures; make the "
                    "report with `sopkg eval --per-query --out FILE`",
                )
            if not isinstance(rows, list) or not all(_is_row(x) for x in rows):
                raise InvalidInput(
                    "--against", f"set {s['name']!r}, mode {mode}: malformed per-query figures"
                )


def _is_row(row: object) -> bool:
    return (
        isinstance(row, dict)
        and isinstance(row.get("id"), str)
        and all(isinstance(row.get(m), int | float) for m in METRICS)
    )


def compare_reports(base: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """Paired comparison of `new` against `base`, for every set and mode both have.

    Sets are matched by name and must hold the same query ids (else InvalidInput: the two
    runs did not judge the same queries, and a difference of means would mislead)."""
    check_comparable(base)
    base_sets = {s["name"]: s for s in base["sets"]}
    out_sets = []
    for s in new["sets"]:
        old = base_sets.get(s["name"])
        if old is None:
            continue
        modes = {}
        for mode, r in s["modes"].items():
            if mode in old["modes"]:
                modes[mode] = compare_rows(
                    old["modes"][mode]["per_query"], r["per_query"], s["name"], mode
                )
        out_sets.append({"name": s["name"], "modes": modes})
    if not out_sets:
        raise InvalidInput("--against", "the report has none of this run's judged sets")
    return {"fusion_before": base.get("fusion"), "sets": out_sets}


def compare_modes(report: Mapping[str, Any], mode: str) -> dict[str, Any]:
    """`mode` paired with each other mode of the same run, per set: is the default above its
    single arms by more than chance? (The reports' per-query figures are needed.)"""
    out = []
    for s in report["sets"]:
        runs = s["modes"]
        if mode not in runs:
            continue
        pairs = {
            f"{mode} vs {other}": compare_rows(
                runs[other]["per_query"], runs[mode]["per_query"], s["name"], mode
            )
            for other in runs
            if other != mode
        }
        if pairs:
            out.append({"name": s["name"], "modes": pairs})
    return {"sets": out}


def compare_rows(
    before: Sequence[Mapping[str, Any]],
    after: Sequence[Mapping[str, Any]],
    set_name: str = "",
    mode: str = "",
) -> dict[str, Any]:
    old = {r["id"]: r for r in before}
    new = {r["id"]: r for r in after}
    if set(old) != set(new):
        only = sorted(set(old) ^ set(new))[:5]
        raise InvalidInput(
            "--against",
            f"set {set_name!r}, mode {mode}: not the same judged queries (e.g. {only})",
        )
    ids = sorted(new)
    if not ids:
        raise InvalidInput("--against", f"set {set_name!r}, mode {mode}: no judged queries")
    diffs = {m: {i: float(new[i][m]) - float(old[i][m]) for i in ids} for m in METRICS}
    nd = diffs["ndcg@10"]
    moved = [d for d in nd.values() if abs(d) > TIE]
    by_kind: dict[str, list[float]] = defaultdict(list)
    for i in ids:
        by_kind[str(new[i].get("kind", ""))].append(nd[i])
    gain_id = max(ids, key=lambda i: nd[i])
    loss_id = min(ids, key=lambda i: nd[i])
    delta = mean(nd.values())
    # The query that pushed the mean furthest in its own direction, left out.
    lead_id = gain_id if delta >= 0 else loss_id
    without = mean(nd[i] for i in ids if i != lead_id) if len(ids) > 1 else 0.0
    return {
        "queries": len(ids),
        "delta": {m: round(mean(diffs[m].values()), 4) for m in METRICS},
        "delta_by_kind": {k: round(mean(v), 4) for k, v in sorted(by_kind.items())},
        "wins": sum(d > TIE for d in nd.values()),
        "losses": sum(d < -TIE for d in nd.values()),
        "ties": len(ids) - len(moved),
        "p_value": round(sign_flip_p(moved, len(ids)), 4),
        "largest_gain": _moved(gain_id, nd[gain_id]) if nd[gain_id] > TIE else None,
        "largest_loss": _moved(loss_id, nd[loss_id]) if nd[loss_id] < -TIE else None,
        "delta_without_lead": round(without, 4),
        "rests_on_one_query": abs(delta) > TIE and (without * delta <= 0 or abs(without) <= TIE),
    }


def _moved(query_id: str, diff: float) -> dict[str, Any]:
    return {"id": query_id, "ndcg@10": round(diff, 4)}


def sign_flip_p(moved: Sequence[float], n: int) -> float:
    """Two-sided p of the mean paired difference under random signs (queries that did not
    move contribute zero either way, so only `moved` is flipped; `n` is the divisor)."""
    if not moved or n == 0:
        return 1.0
    observed = abs(sum(moved)) / n
    exact = len(moved) <= EXACT_UP_TO
    if exact:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=len(moved))))
    else:
        signs = np.random.default_rng(_SEED).choice(np.array([1.0, -1.0]), (DRAWS, len(moved)))
    # Floating sums of the same values in another order differ in the last bits.
    extreme = int(np.count_nonzero(np.abs(signs @ np.asarray(moved)) / n >= observed - 1e-12))
    # Among random draws the observed signs count once: a Monte Carlo p is never 0.
    return extreme / len(signs) if exact else (extreme + 1) / (DRAWS + 1)


def comparison_table(comparison: Mapping[str, Any]) -> str:
    """The comparison as Markdown: one row per set and mode."""
    head = ["set", "mode", "Δ nDCG@10", "Δ Recall@10", "wins / losses / ties", "p",
            "Δ without the lead query", "largest gain", "largest loss"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for s in comparison["sets"]:
        for mode, c in s["modes"].items():
            flag = " (rests on one query)" if c["rests_on_one_query"] else ""
            cells = [
                s["name"], mode, f"{c['delta']['ndcg@10']:+.4f}",
                f"{c['delta']['recall@10']:+.4f}", f"{c['wins']} / {c['losses']} / {c['ties']}",
                f"{c['p_value']:.3f}", f"{c['delta_without_lead']:+.4f}{flag}",
                _cell(c["largest_gain"]), _cell(c["largest_loss"]),
            ]  # fmt: skip
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(moved: Mapping[str, Any] | None) -> str:
    return "-" if moved is None else f"{moved['id']} {moved['ndcg@10']:+.3f}"
