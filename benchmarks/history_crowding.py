"""Does a graph's history crowd current documents out of search? Dev-set quality with and
without old versions in the indexes.

    python benchmarks/history_crowding.py \\
        --set ../shared/eval/dev/corpus ../shared/eval/dev/queries.jsonl \\
        --set ../shared/eval/dev-xl/corpus ../shared/eval/dev-xl/queries.jsonl --versions 3

Superseded versions stay in the vector and fulltext indexes, so that an as-of search can
find them; a search for today filters them out after the index has chosen its candidates
(the vector index's top `fetch` among all versions). For each set this script:

1. ingests the corpus into a wiped graph and evaluates the default mode (the baseline);
2. wipes again and ingests `--versions` older versions of every document first (the same
   files with version `0.0.k`, taking effect 90 days apart before the current one, the
   translations' `translation_of` following), then the corpus itself, so every passage in
   effect has that many superseded near-twins in the indexes: the worst case for crowding,
   since a twin's embedding equals its current passage's;
3. evaluates again and prints both, with the share of indexed passages in effect today.

Retired documents are not simulated: retiring a document takes its passages out of the
indexes (kg/write_queries.py, RETIRE_MISSING). Passage embeddings are memoised by text,
so the older versions cost no model time. Its own local instance: `history`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import _bench as b
import numpy as np

from ingest.pipeline import ingest_corpus
from kg.embedders import Embedder, Vectors, make_embedder, make_second_embedder
from kg.query_embedders import EmbedderWrapper
from sopkg.evaluation import build_retriever, evaluate, load_queries

INSTANCE = "history"
CORPUS = "history"
_VERSION = re.compile(r'^version:\s*"?([^"\n]+)"?\s*$', re.M)
_EFFECTIVE = re.compile(r"^effective:\s*(\d{4}-\d{2}-\d{2})\s*$", re.M)
_TRANSLATION_OF = re.compile(r"^translation_of:\s*(\w+)@\S+\s*$", re.M)

IN_EFFECT = """
MATCH (p:Passage) WHERE p.embedding IS NOT NULL
RETURN count(p) AS indexed,
       count(CASE WHEN p.valid_until IS NULL OR p.valid_until > $today THEN 1 END) AS in_effect
"""


class MemoEmbedder(EmbedderWrapper):
    """The configured embedder, remembering each passage text's vector."""

    def __init__(self, inner: Embedder) -> None:
        super().__init__(inner)
        self.memo: dict[str, np.ndarray] = {}

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self.inner.embed_queries(texts)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        todo = sorted({t for t in texts if t not in self.memo})
        if todo:
            self.memo.update(zip(todo, self.inner.embed_passages(todo), strict=True))
        return np.stack([self.memo[t] for t in texts]).astype(np.float32)


def older_version(text: str, k: int, versions: int) -> str:
    """A file as its k-th older version (1 = oldest) would have read."""
    effective = _EFFECTIVE.search(text)
    if effective is None:
        raise SystemExit("a file without an effective date")
    date = dt.date.fromisoformat(effective.group(1)) - dt.timedelta(days=90 * (versions - k + 1))
    text = _VERSION.sub(f'version: "0.0.{k}"', text, count=1)
    text = _EFFECTIVE.sub(f"effective: {date.isoformat()}", text, count=1)
    return _TRANSLATION_OF.sub(lambda m: f"translation_of: {m.group(1)}@0.0.{k}", text, count=1)


def write_older(corpus: Path, dest: Path, k: int, versions: int) -> Path:
    shutil.copytree(corpus, dest)
    for f in dest.rglob("*.md"):
        text = f.read_text(encoding="utf-8")
        if _EFFECTIVE.search(text):
            f.write_text(older_version(text, k, versions), encoding="utf-8")
    return dest


def run(
    driver: Any, database: str, embedder: Embedder, corpus: Path, queries: Path, versions: int
) -> dict[str, Any]:
    settings = b.bench_settings()
    today = settings.today or dt.date.today()
    judged = load_queries(queries)
    second = make_second_embedder(settings)
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="sopkg-history-") as tmp:
        for label, n in (("current only", 0), (f"{versions} older versions", versions)):
            b.wipe(driver, database)
            for k in range(1, n + 1):
                old = write_older(corpus, Path(tmp) / f"{label}-{k}", k, n)
                summary = ingest_corpus(
                    old, driver, database, embedder, corpus_name=CORPUS, second=second
                )
                if summary.errors:
                    raise SystemExit(f"older version {k}: {summary.errors[0]}")
            summary = ingest_corpus(
                corpus, driver, database, embedder, corpus_name=CORPUS, second=second
            )
            retriever = build_retriever(driver, database, embedder, settings)
            report = evaluate(retriever, judged, "hybrid")
            counts = driver.execute_query(IN_EFFECT, today=today, database_=database).records[0]
            overall = report["overall"]
            cross = report["by_kind"].get("crosslingual", {}).get("ndcg@10")
            out[label] = {
                "ndcg@10": overall["ndcg@10"], "recall@10": overall["recall@10"],
                "crosslingual_ndcg@10": cross, "indexed": counts["indexed"],
                "in_effect": counts["in_effect"],
            }  # fmt: skip
            b.log(f"{corpus.name} / {label}: {out[label]}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", nargs=2, action="append", type=Path, required=True,
                    metavar=("CORPUS", "QUERIES"))  # fmt: skip
    ap.add_argument("--versions", type=int, default=3, help="older versions per document")
    args = ap.parse_args()
    settings = b.bench_settings()
    _server, conn = b.start_instance(settings, INSTANCE, "1g", "512m")
    embedder = MemoEmbedder(make_embedder(settings))
    results = {}
    with conn.driver() as driver:
        for corpus, queries in args.set:
            results[str(corpus)] = run(
                driver, conn.database, embedder, corpus, queries, args.versions
            )
    print(
        "\nhybrid, current search (as of today)  nDCG@10  Recall@10  crossling.  indexed/in effect"
    )
    for corpus, rows in results.items():
        for label, r in rows.items():
            cross = "-" if r["crosslingual_ndcg@10"] is None else f"{r['crosslingual_ndcg@10']:.3f}"
            print(f"  {Path(corpus).parent.name:<10} {label:<24} {r['ndcg@10']:.3f}    "
                  f"{r['recall@10']:.3f}     {cross:<10}  {r['indexed']}/{r['in_effect']}")  # fmt: skip
    b.emit_json({"benchmark": "history_crowding", "versions": args.versions,
                 "results": results, "machine": b.machine()})  # fmt: skip


if __name__ == "__main__":
    main()
