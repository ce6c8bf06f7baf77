"""The first searches after Neo4j starts: how long the server takes to become fast.

Restarts the local instance (a cold JVM: its compiler has compiled nothing yet) with the
JVM options of `SOPKG_NEO4J_JAVA_OPTS`, then sends the queries one at a time, in-process,
as `query_latency.py --in-process` does (the same retriever, the queries' filters), and
prints the first search's time and the median of each block of searches. Compare the JVM's compilers on the same graph with e.g.

    for o in "-XX:TieredStopAtLevel=1" ""; do
      SOPKG_NEO4J_JAVA_OPTS="$o" python benchmarks/first_searches.py \\
          --queries ../shared/eval/dev/queries.jsonl --instance bench-w --heap 2g --pagecache 3g
    done

(docs/benchmarks.md, "The JVM's optimising compiler"). The graph is used as it is.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import _bench as b
from query_latency import in_process_sender, load_queries

from kg.embedders import make_embedder
from sopkg.evaluation import build_retriever


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--queries", type=Path, required=True, help="JSONL with a `text` field")
    ap.add_argument("--instance", default=b.SYNTHETIC_INSTANCE)
    ap.add_argument("--heap", default="2g")
    ap.add_argument("--pagecache", default="1g")
    ap.add_argument("--rounds", type=int, default=3, help="passes over the queries")
    ap.add_argument("--block", type=int, default=49, help="searches a median is taken over")
    args = ap.parse_args()

    settings = b.bench_settings()
    b.LocalNeo4j(settings, args.instance).stop()
    t = time.perf_counter()
    _, conn = b.start_instance(settings, args.instance, args.heap, args.pagecache)
    start_s = time.perf_counter() - t
    queries = load_queries(args.queries)
    embedder = make_embedder(settings)
    embedder.embed_queries(["warm up"])  # the model's own first call is not Neo4j's
    with conn.driver() as driver:
        send = in_process_sender(build_retriever(driver, conn.database, embedder, settings))()
        t_all = time.perf_counter()
        times = [send(q).ms for q in queries * args.rounds]
        wall = time.perf_counter() - t_all
    blocks = [b.median(times[i : i + args.block]) for i in range(0, len(times), args.block)]
    print(f"\nFirst searches after a start: JVM options {settings.neo4j_java_opts!r}, "
          f"instance {args.instance} (started in {start_s:.1f} s)")  # fmt: skip
    print(f"  first search {times[0]:.0f} ms; {len(times)} searches in {wall:.1f} s")
    print(f"  median of each {args.block}: " + ", ".join(f"{m:.0f}" for m in blocks) + " ms")
    b.emit_json(
        {"benchmark": "first_searches", "java_opts": settings.neo4j_java_opts,
         "instance": args.instance, "start_s": b.r3(start_s), "first_ms": b.r3(times[0]),
         "block": args.block, "block_medians_ms": [b.r3(m) for m in blocks],
         "wall_s": b.r3(wall), "machine": b.machine()}
    )  # fmt: skip


if __name__ == "__main__":
    main()
