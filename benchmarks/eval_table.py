"""Print a `sopkg eval --out FILE` report as the Markdown tables of docs/evaluation.md.

usage: python3 benchmarks/eval_table.py REPORT.json
"""

from __future__ import annotations

import json
import sys


def main(path: str) -> None:
    report = json.load(open(path, encoding="utf-8"))
    modes = report["modes"]
    print("| mode | nDCG@10 | Recall@10 | MRR@10 | results in query language | p50 ms | p95 ms |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, m in modes.items():
        o, lat = m["overall"], m["latency_ms"]
        print(f"| {name} | {o['ndcg@10']:.3f} | {o['recall@10']:.3f} | {o['mrr@10']:.3f} | "
              f"{o['query_language_share']:.2f} | {lat['p50']} | {lat['p95']} |")  # fmt: skip
    kinds = sorted(next(iter(modes.values()))["by_kind"])
    langs = sorted(next(iter(modes.values()))["by_language"])
    print()
    print("nDCG@10 by query kind and language:")
    print()
    print("| mode | " + " | ".join(kinds + [f"lang {x}" for x in langs]) + " |")
    print("| --- |" + " --- |" * (len(kinds) + len(langs)))
    for name, m in modes.items():
        cells = [f"{m['by_kind'][k]['ndcg@10']:.3f}" for k in kinds]
        cells += [f"{m['by_language'][x]['ndcg@10']:.3f}" for x in langs]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1])
