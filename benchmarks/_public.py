"""What the public-set benchmarks (jaquad.py, tatoeba.py) share: run `sopkg eval`'s code over
one converted set, print its table and one JSON line."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from _bench import check_outputs

from kg.embedders import make_embedder
from kg.settings import get_settings
from sopkg.evaluation import EvalSet, fusion_config, run_eval, summary_table

MODES = ["hybrid", "fused", "lexical", "dense"]


def write_queries(path: Path, questions: Iterable[dict[str, Any]], section: str, kind: str) -> None:
    """The public set's questions (`id`, `text`, `lang`, `relevant` documents) as judged
    queries of `sopkg eval`, each relevant document judged on its one section."""
    judged = []
    for q in questions:
        relevant = [{"doc": r["doc"], "section": section, "grade": r["grade"]}
                    for r in q["relevant"]]  # fmt: skip
        judged.append(json.dumps({"id": q["id"], "text": q["text"], "lang": q["lang"],
                                  "kind": kind, "relevant": relevant}, ensure_ascii=False))  # fmt: skip
    path.write_text("\n".join(judged) + "\n", encoding="utf-8")


def add_eval_args(ap: argparse.ArgumentParser, out_help: str = "the full report as JSON") -> None:
    ap.add_argument("--mode", action="append", choices=MODES)
    ap.add_argument("--param", action="append", default=[], metavar="FIELD=VALUE")
    ap.add_argument("--out", type=Path, help=out_help)
    ap.add_argument("--runs", type=Path, metavar="DIR",
                    help="also the qrels and one TREC run a mode (sopkg eval --runs)")  # fmt: skip


def parse_eval_args(ap: argparse.ArgumentParser) -> argparse.Namespace:
    """The arguments, with `--out` and `--runs` checked before the run (as `sopkg eval`
    does): a public set takes many minutes, and an unwritable path would lose them."""
    args = ap.parse_args()
    check_outputs(ap, args.out, args.runs)
    return args


def write_report(path: Path | None, report: dict[str, Any]) -> None:
    if path:
        path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", "utf-8")


def evaluate(eset: EvalSet, args: argparse.Namespace, unit: str) -> dict[str, Any]:
    """Run the modes of `args` on `eset`, print the table, and return the report (the
    caller writes `--out`)."""
    settings = get_settings()
    report = run_eval(
        settings, make_embedder(settings), [eset], args.mode or ["hybrid", "lexical", "dense"],
        fusion=fusion_config(overrides=args.param), runs=args.runs,
    )  # fmt: skip
    s = report["sets"][0]
    first = s["modes"][next(iter(s["modes"]))]["overall"]
    print(summary_table(report))
    print(f"\n{s['ingest']['documents']} {unit}, {first['queries']} queries")
    print(json.dumps({unit: s["ingest"]["documents"], "load": _load(),
                      "modes": {m: r["overall"] for m, r in s["modes"].items()}}))  # fmt: skip
    return report


def _load() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
