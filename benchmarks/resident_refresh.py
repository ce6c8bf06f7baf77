"""The passage vectors a server holds, brought up to date after an ingest: the whole graph
read (as on a first start) against the refresh that reads only the documents written or
retired since (kg.resident.refresh_resident), on a benchmark graph.

usage: python benchmarks/resident_refresh.py --instance bench-synthetic [--heap 2g]
           [--pagecache 1g] [--rounds 2]

A probe document (one of the sample corpus's, under another id, in both languages) goes
through the product's ingest into its own corpus on that graph: added, edited, then
retired, `--rounds` times; after each ingest the snapshot is refreshed and timed. At the
end the refreshed snapshot is compared with a whole read of the graph (same passages,
same vectors). The probe stays in the graph as one retired document.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import _bench as b
import numpy as np

from ingest.pipeline import ingest_corpus
from kg.embedders import make_embedder, make_second_embedder
from kg.reader import GraphReader
from kg.resident import FullLoad, ResidentVectors, load_resident, refresh_resident
from search_api.memory import release_free_memory

PROBE_ID = "resident-refresh-probe"
SOURCE = b._ROOT / "sample_corpus" / "creators" / "ad-disclosure-jp"
LIMIT = 10_000_000


def write_probe(corpus: Path, step: str, n: int) -> None:
    """The probe as the step leaves it: added, edited (its overview changed), or gone."""
    folder = corpus / "probe"
    folder.mkdir(parents=True, exist_ok=True)
    for lang in ("ja", "en"):
        path = folder / f"{PROBE_ID}.{lang}.md"
        if step == "retire":
            path.unlink(missing_ok=True)
            continue
        text = Path(f"{SOURCE}.{lang}.md").read_text(encoding="utf-8")
        text = text.replace("id: ad-disclosure-jp", f"id: {PROBE_ID}", 1)
        if step == "edit":
            marker = "## Overview {#overview}\n" if lang == "en" else "## 概要 {#overview}\n"
            text = text.replace(marker, f"{marker}(revision {n}) ", 1)
        path.write_text(text, encoding="utf-8")


def same_rows(a: ResidentVectors, c: ResidentVectors) -> bool:
    def rows(snap: ResidentVectors) -> dict[Any, Any]:
        return {
            (key, info.key): np.round(space.matrix[i], 5).tobytes()
            for key, space in snap.spaces.items()
            for i, info in enumerate(space.info)
        }

    return rows(a) == rows(c)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--instance", default=b.SYNTHETIC_INSTANCE)
    ap.add_argument("--heap", default="2g")
    ap.add_argument("--pagecache", default="1g")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    settings = b.bench_settings()
    _, conn = b.start_instance(settings, args.instance, args.heap, args.pagecache)
    embedder, second_embedder = make_embedder(settings), make_second_embedder(settings)
    with conn.driver() as driver, tempfile.TemporaryDirectory() as tmp:
        # The server's reader for these loads has the report timeout (search_api.deps).
        reader = GraphReader(driver, conn.database, timeout=settings.report_timeout_seconds)
        second = reader.corpus_facts().second_space is not None
        t = time.perf_counter()
        snap = load_resident(reader, second, LIMIT)
        whole_s = time.perf_counter() - t
        assert snap is not None, "the corpus changed during the read: run again"
        release_free_memory()  # as the server does after each load (search_api.deps)
        b.log(f"whole read: {snap.passages} passages, {snap.nbytes >> 20} MB in {whole_s:.1f} s")
        corpus = Path(tmp) / "resident-refresh-probe"
        steps: dict[str, list[float]] = {"add": [], "edit": [], "retire": []}
        ingests: list[float] = []
        for n in range(args.rounds):
            for step in steps:
                write_probe(corpus, step, n)
                t = time.perf_counter()
                summary = ingest_corpus(
                    corpus, driver, conn.database, embedder, second=second_embedder
                )
                ingests.append(time.perf_counter() - t)
                assert summary.errors == [], summary.errors
                t = time.perf_counter()
                try:
                    fresh = refresh_resident(snap, reader, second, LIMIT)
                except FullLoad as e:
                    raise SystemExit(f"the server would read the whole graph here: {e}") from e
                steps[step].append(time.perf_counter() - t)
                release_free_memory()
                assert fresh is not None, "the corpus changed during the refresh: run again"
                snap = fresh
                b.log(f"round {n + 1}, {step}: refreshed in {steps[step][-1]:.2f} s")
        t = time.perf_counter()
        whole = load_resident(reader, second, LIMIT)
        again_s = time.perf_counter() - t
        assert whole is not None
        same = same_rows(snap, whole)
    medians = {step: statistics.median(v) for step, v in steps.items()}
    print(
        f"\nResident refresh on {args.instance}: {snap.passages} passages, {snap.nbytes >> 20} MB of vectors"
    )
    print(f"  whole read:            {whole_s:8.2f} s (again at the end: {again_s:.2f} s)")
    for step, med in medians.items():
        print(f"  refresh after {step:7s} {med:8.2f} s median of {len(steps[step])} "
              f"({whole_s / med:.0f}x faster than the whole read)")  # fmt: skip
    print(f"  probe ingest (for scale): median {statistics.median(ingests):.1f} s")
    print(f"  refreshed snapshot equals a whole read: {same}")
    b.emit_json({
        "benchmark": "resident_refresh", "instance": args.instance, "passages": snap.passages,
        "vector_mb": snap.nbytes >> 20, "whole_read_s": whole_s, "whole_read_again_s": again_s,
        "refresh_s": steps, "refresh_median_s": medians,
        "ingest_median_s": statistics.median(ingests), "equal": same, "machine": b.machine(),
    })  # fmt: skip


if __name__ == "__main__":
    main()
