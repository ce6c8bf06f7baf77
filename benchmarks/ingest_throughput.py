"""Ingest throughput: cold ingest, unchanged re-ingest, and one changed file.

    python benchmarks/ingest_throughput.py sample_corpus
    python benchmarks/ingest_throughput.py /path/to/corpus --runs 5 --cold-runs 2

Into a fresh graph on the local `bench` Neo4j instance (wiped first: data, indexes and
constraints), from a temporary copy of CORPUS (the corpus itself is never modified):

1. cold: the whole corpus into the empty graph (embedding every passage);
2. unchanged: the same files again, `--runs` times (nothing should be written);
3. one changed file: one sentence appended to one file, `--runs` times (a new sentence
   each time, so each run really has one changed document to re-embed and re-write).

The embedding model is loaded before the first run and its load time is reported apart,
so "cold" means an empty graph, not a cold process. Prints a table, then one JSON line.
Timings are medians where runs repeat; the machine is shared, so read ratios, not digits.
"""

from __future__ import annotations

import argparse
import re
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import _bench as b

import ingest.pipeline as pipeline
from ingest.corpus import markdown_files
from ingest.pipeline import IngestSummary, ingest_corpus
from kg.analysis import ja_search_field
from kg.embedders import make_embedder
from kg.writer import GraphWriter

CORPUS_NAME = "bench"
PHASES = ("parse", "analyse", "check", "embed", "write")
PHASE_HELP = {
    "parse": "read + parse + corpus checks (load_corpus)",
    "analyse": "build_document: records + fugashi/English search fields",
    "check": "changed_versions: one read query per document",
    "embed": "passage embeddings (only changed documents)",
    "write": "migrate + vocabulary + document transactions + finish_corpus",
}
WRITE_PARTS = ("migrate", "vocabulary", "documents", "finish")
WRITE_HELP = {
    "migrate": "  write: schema DDL + awaitIndexes",
    "vocabulary": "  write: corpus, taxonomy, markets, glossary",
    "documents": "  write: GraphWriter.write_document, all documents",
    "finish": "  write: retire missing, relink references/supersedes",
    "per_document_median": "  write: one document transaction (median)",
}
_JA = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


class WriteSplit:
    """Splits the pipeline's "write" phase by timing the calls it is made of (schema
    migration, vocabulary sync, one transaction per document, corpus finish). The product
    code is not changed: its functions are wrapped for the duration of the benchmark."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self.doc_writes: list[float] = []

    @contextmanager
    def measuring(self) -> Iterator[None]:
        self.spent = defaultdict(float)
        self.doc_writes = []
        yield

    def _wrap(self, owner: Any, name: str, label: str) -> None:
        orig: Callable[..., Any] = getattr(owner, name)

        def timed(*a: Any, **kw: Any) -> Any:
            t = time.perf_counter()
            try:
                return orig(*a, **kw)
            finally:
                dt = time.perf_counter() - t
                self.spent[label] += dt
                if label == "documents":
                    self.doc_writes.append(dt)

        setattr(owner, name, timed)

    def install(self) -> None:
        self._wrap(pipeline, "migrate", "migrate")
        self._wrap(GraphWriter, "sync_vocabulary", "vocabulary")
        self._wrap(GraphWriter, "write_document", "documents")
        self._wrap(GraphWriter, "finish_corpus", "finish")


def _edit_one_file(root: Path, n: int) -> str:
    """Append a new sentence to the first prose paragraph or list item of the first SOP
    file; returns its relative path. The sentence differs per `n`, so the hash changes."""
    path = markdown_files(root)[0]
    lines = path.read_text(encoding="utf-8").split("\n")
    in_front = lines[0].strip() == "---"
    for i, line in enumerate(lines):
        if i == 0 and in_front:
            continue
        if in_front:
            if line.strip() == "---":
                in_front = False
            continue
        text = line.strip()
        if not text or text.startswith(("#", "|", "```", ">")):
            continue
        if _JA.search(text):
            lines[i] = line.rstrip() + f"ベンチマーク用の追記その{n}です。"
        else:
            lines[i] = line.rstrip() + f" Benchmark edit number {n} adds this sentence."
        path.write_text("\n".join(lines), encoding="utf-8")
        return path.relative_to(root).as_posix()
    raise SystemExit(f"{path}: no paragraph or list item to edit")


def _phases(s: IngestSummary) -> dict[str, float]:
    return {p: s.timings.get(p, 0.0) for p in PHASES}


def _median_phases(runs: list[IngestSummary]) -> dict[str, float]:
    return {p: b.median([_phases(r)[p] for r in runs]) for p in PHASES}


def _median_write_parts(runs: list[IngestSummary]) -> dict[str, float]:
    keys = [*WRITE_PARTS, "per_document_median"]
    return {k: b.median([r.timings.get(f"write.{k}", 0.0) for r in runs]) for k in keys}


def _check(s: IngestSummary, what: str) -> None:
    if s.errors:
        b.log(f"{what}: {len(s.errors)} file error(s), first: {s.errors[0]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpus", type=Path, help="a corpus folder (SOP *.md files)")
    ap.add_argument("--runs", type=int, default=5, help="repeats of the warm runs (median)")
    ap.add_argument(
        "--cold-runs",
        type=int,
        default=1,
        help="cold ingests, each into a freshly wiped graph (median)",
    )
    ap.add_argument("--instance", default=b.DEFAULT_INSTANCE, help="local Neo4j instance")
    ap.add_argument("--heap", default="2g")
    ap.add_argument("--pagecache", default="1g")
    ap.add_argument("--stop", action="store_true", help="stop the instance at the end")
    args = ap.parse_args()
    if not args.corpus.is_dir():
        raise SystemExit(f"{args.corpus}: not a folder")

    settings = b.bench_settings()
    split = WriteSplit()
    split.install()
    server, conn = b.start_instance(settings, args.instance, args.heap, args.pagecache)
    embedder = make_embedder(settings)
    t = time.perf_counter()
    embedder.embed_passages(["warm-up"])  # loads the model
    ja_search_field("準備")  # loads the fugashi dictionary
    load_s = time.perf_counter() - t
    machine_before = b.machine()

    with tempfile.TemporaryDirectory(prefix="sopkg-bench-") as tmp, conn.driver() as driver:
        root = Path(tmp) / args.corpus.resolve().name
        shutil.copytree(args.corpus, root)

        def ingest() -> IngestSummary:
            with split.measuring():
                s = ingest_corpus(root, driver, conn.database, embedder,
                                  corpus_name=CORPUS_NAME, batch=settings.embed_batch)  # fmt: skip
            s.timings.update({f"write.{k}": v for k, v in split.spent.items()})
            if split.doc_writes:
                s.timings["write.per_document_median"] = b.median(split.doc_writes)
            return s

        cold: list[IngestSummary] = []
        for i in range(args.cold_runs):
            b.wipe(driver, conn.database)
            cold.append(ingest())
            _check(cold[-1], "cold")
            b.log(f"cold {i + 1}/{args.cold_runs}: {cold[-1].seconds:.2f} s, "
                  f"{cold[-1].passages} passages")  # fmt: skip
        counts = b.graph_counts(driver, conn.database)

        unchanged: list[IngestSummary] = []
        for i in range(args.runs):
            unchanged.append(ingest())
            s = unchanged[-1]
            if s.written:
                b.log(f"warning: an unchanged re-ingest wrote {s.written} document(s)")
            b.log(f"unchanged {i + 1}/{args.runs}: {s.seconds:.3f} s")

        changed: list[IngestSummary] = []
        edited = ""
        for i in range(args.runs):
            edited = _edit_one_file(root, i + 1)
            changed.append(ingest())
            s = changed[-1]
            b.log(f"one changed file {i + 1}/{args.runs}: {s.seconds:.3f} s, "
                  f"{s.written} written, {s.passages} passages")  # fmt: skip

    if args.stop:
        server.stop()

    first = cold[0]
    cold_s = b.median([c.seconds for c in cold])
    cold_ph = _median_phases(cold)
    cold_total_ph = sum(cold_ph.values()) or 1.0
    un_s = b.median([u.seconds for u in unchanged])
    un_ph = _median_phases(unchanged)
    ch_s = b.median([c.seconds for c in changed])
    ch_ph = _median_phases(changed)
    docs = first.documents
    per100 = un_s / docs * 100 if docs else float("nan")

    print(f"\nIngest throughput: {args.corpus} ({embedder.name}, instance {args.instance})")
    print(f"  {docs} documents, {first.files} files, {first.passages} passages, "
          f"{first.statements} statements; graph: {counts['sections']} sections, "
          f"{counts['relationships']} relationships")  # fmt: skip
    print(f"  model + dictionary load (before the runs): {load_s:.2f} s")
    print(
        f"  machine: {machine_before['cpus']} cpus, load average "
        f"{machine_before['loadavg_1m']} at start, {b.machine()['loadavg_1m']} at end\n"
    )
    un_total_ph = sum(un_ph.values()) or 1.0
    print(f"  {'phase':<15}{'cold s':>9}{'share':>7}{'unchanged s':>13}{'share':>7}"
          f"{'1 changed s':>13}   what")  # fmt: skip
    for p in PHASES:
        print(f"  {p:<15}{cold_ph[p]:>9.3f}{cold_ph[p] / cold_total_ph:>7.1%}"
              f"{un_ph[p]:>13.3f}{un_ph[p] / un_total_ph:>7.1%}{ch_ph[p]:>13.3f}"
              f"   {PHASE_HELP[p]}")  # fmt: skip
    wp = {"cold": _median_write_parts(cold), "unchanged": _median_write_parts(unchanged),
          "one_changed": _median_write_parts(changed)}  # fmt: skip
    for k in [*WRITE_PARTS, "per_document_median"]:
        label = "1 doc, median" if k == "per_document_median" else k
        print(f"    {label:<13}{wp['cold'][k]:>9.3f}{'':>7}"
              f"{wp['unchanged'][k]:>13.3f}{'':>7}{wp['one_changed'][k]:>13.3f}"
              f"   {WRITE_HELP[k]}")  # fmt: skip
    print(f"  {'total':<15}{cold_s:>9.3f}{'':>7}{un_s:>13.3f}{'':>7}{ch_s:>13.3f}")
    print(f"\n  cold ingest:        {cold_s:8.2f} s  ({first.passages / cold_s:.1f} passages/s, "
          f"median of {len(cold)})")  # fmt: skip
    print(f"  unchanged re-ingest:{un_s:8.3f} s  median of {len(unchanged)} "
          f"= {per100:.3f} s per 100 documents (target: well under 1 s)")  # fmt: skip
    print(f"  one changed file:   {ch_s:8.3f} s  median of {len(changed)} ({edited}; "
          f"{changed[-1].passages} passages re-embedded)\n")  # fmt: skip

    payload: dict[str, Any] = {
        "benchmark": "ingest_throughput",
        "corpus": str(args.corpus),
        "embedder": embedder.name,
        "documents": docs,
        "files": first.files,
        "passages": first.passages,
        "statements": first.statements,
        "graph": counts,
        "model_load_s": b.r3(load_s),
        "cold_s": b.r3(cold_s),
        "cold_runs_s": [b.r3(c.seconds) for c in cold],
        "passages_per_s": round(first.passages / cold_s, 1),
        "cold_phases_s": {p: b.r3(v) for p, v in cold_ph.items()},
        "cold_phase_shares": {p: round(v / cold_total_ph, 3) for p, v in cold_ph.items()},
        "unchanged_median_s": b.r3(un_s),
        "unchanged_runs_s": [b.r3(u.seconds) for u in unchanged],
        "unchanged_s_per_100_docs": b.r3(per100),
        "unchanged_phases_s": {p: b.r3(v) for p, v in un_ph.items()},
        "unchanged_phase_shares": {p: round(v / un_total_ph, 3) for p, v in un_ph.items()},
        "one_changed_median_s": b.r3(ch_s),
        "one_changed_runs_s": [b.r3(c.seconds) for c in changed],
        "one_changed_phases_s": {p: b.r3(v) for p, v in ch_ph.items()},
        "one_changed_passages": changed[-1].passages,
        "write_split_s": {run: {k: b.r3(v) for k, v in parts.items()} for run, parts in wp.items()},
        "machine": machine_before | {"loadavg_1m_end": b.machine()["loadavg_1m"]},
    }
    b.emit_json(payload)


if __name__ == "__main__":
    main()
