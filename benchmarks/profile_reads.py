"""The plans behind the search latency: PROFILE every read query a search makes.

    python benchmarks/profile_reads.py --instance bench-synthetic --queries queries.jsonl
    python benchmarks/profile_reads.py --instance bench-1m --queries queries.jsonl --n 5

Runs the first `--n` queries of the JSONL file through `Retriever.search` on the graph of a
local benchmark instance as it is (nothing is written), twice: the first pass warms the
plans and the pages, the second records each read's Cypher and parameters. Every named
read query (`kg.read_queries`) is then run again once per recorded call with PROFILE, and
the script prints, per query: the median server time, rows and database hits, and the plan
of its slowest call as an operator tree (rows and db hits per operator). Ends with one
JSON line. Figures only, nothing asserted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _bench as b  # noqa: E402
from query_latency import load_queries  # noqa: E402

Call = tuple[str, str, dict[str, Any]]  # (name, cypher, parameters)


def record_reads(calls: list[Call]) -> None:
    """Wrap `GraphReader._read` (this process only) to keep each read's Cypher and params."""
    from kg.reader import GraphReader

    names = b.read_query_names()
    orig = GraphReader._read

    def recorded(reader: Any, cypher: str, **params: Any) -> Any:
        if cypher in names:
            calls.append((names[cypher], cypher, params))
        return orig(reader, cypher, **params)

    GraphReader._read = recorded  # type: ignore[method-assign,assignment]


def tree(op: dict[str, Any], depth: int = 0) -> list[str]:
    details = op.get("args", {}).get("Details", "")
    line = (f"{'  ' * depth}{op['operatorType'].split('@')[0]}"
            f"  rows {op.get('rows', 0)}  db hits {op.get('dbHits', 0)}")  # fmt: skip
    if details:
        line += f"  [{str(details)[:90]}]"
    out = [line]
    for child in op.get("children", []):
        out.extend(tree(child, depth + 1))
    return out


def total_hits(op: dict[str, Any]) -> int:
    return int(op.get("dbHits", 0)) + sum(total_hits(c) for c in op.get("children", []))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--queries", type=Path, required=True)
    ap.add_argument("--instance", default=b.SYNTHETIC_INSTANCE)
    ap.add_argument("--n", type=int, default=4, help="queries searched (from the top)")
    ap.add_argument("--heap", default="2g")
    ap.add_argument("--pagecache", default="1g")
    args = ap.parse_args()

    from kg.embedders import make_embedder
    from search_api.retrieval import SearchParams
    from sopkg.evaluation import build_retriever

    settings = b.bench_settings()
    _, conn = b.start_instance(settings, args.instance, args.heap, args.pagecache)
    queries = load_queries(args.queries)[: args.n]
    calls: list[Call] = []
    with conn.driver() as driver:
        counts = b.graph_counts(driver, conn.database)
        retriever = build_retriever(driver, conn.database, make_embedder(settings), settings)
        for q in queries:  # warm: plans compiled, pages read
            retriever.search(SearchParams(query=q.text))
        record_reads(calls)
        for q in queries:
            retriever.search(SearchParams(query=q.text))
        profiles: dict[str, list[dict[str, Any]]] = {}
        with driver.session(database=conn.database, default_access_mode="READ") as s:
            for name, cypher, params in calls:
                summary = s.run("PROFILE " + cypher, params).consume()
                profiles.setdefault(name, []).append({
                    "ms": (summary.result_available_after or 0)
                    + (summary.result_consumed_after or 0),
                    "db_hits": total_hits(summary.profile or {}),
                    "rows": int((summary.profile or {}).get("rows", 0)),
                    "plan": summary.profile or {},
                })  # fmt: skip

    print(f"\nPROFILE of the reads of {len(queries)} searches on `{args.instance}`: "
          f"{counts['passages']} passages, {counts['documents']} documents")  # fmt: skip
    out: dict[str, Any] = {}
    for name, runs in sorted(profiles.items(), key=lambda kv: -sum(r["ms"] for r in kv[1])):
        slowest = max(runs, key=lambda r: r["ms"])
        out[name] = {
            "calls": len(runs),
            "ms_median": statistics.median(r["ms"] for r in runs),
            "db_hits_median": statistics.median(r["db_hits"] for r in runs),
            "rows_median": statistics.median(r["rows"] for r in runs),
        }
        print(f"\n{name}: {len(runs)} calls, server time median {out[name]['ms_median']} ms, "
              f"db hits median {out[name]['db_hits_median']}, rows median "
              f"{out[name]['rows_median']}; the slowest call's plan ({slowest['ms']} ms):")  # fmt: skip
        print("\n".join("    " + line for line in tree(slowest["plan"])))
    b.emit_json({"benchmark": "profile_reads", "instance": args.instance,
                 "counts": counts, "queries": len(queries), "reads": out,
                 "machine": b.machine()})  # fmt: skip


if __name__ == "__main__":
    main()
