"""Ingest throughput: cold ingest, unchanged re-ingest, and one changed file.

    python benchmarks/ingest_throughput.py sample_corpus
    python benchmarks/ingest_throughput.py /path/to/corpus --runs 5 --cold-runs 2

Into a fresh graph on the local `bench` Neo4j instance (wiped first: data, indexes and
constraints), from a temporary copy of CORPUS (the corpus itself is never modified):

1. cold: the whole corpus into the empty graph (embedding every passage);
2. unchanged: the same files again, `--runs` times (nothing should be written);
3. one changed file: one sentence appended to one file, `--runs` times (a new sentence
   each time, so each run really has one changed document to re-embed and re-write);
   first as a new `sopkg ingest` process sees it, then, when the pipeline keeps an
   in-process memo of embeddings (`ingest.pipeline._MEMO`), as a long-lived process
   that has ingested before sees it ("memo" column).

The embedding model is loaded before the first run and its load time is reported apart;
"cold" means an empty graph and an empty embedding memo (as in a new process), with the
model already loaded. The "write" phase is split by timing the writer's calls (migrate,
vocabulary, documents, finish); the embedder is wrapped to count the passages it really
embeds. Neither changes the product code. Prints a table, then one JSON line.
Timings are medians where runs repeat; the machine is shared, so read ratios, not digits.
"""

from __future__ import annotations

import argparse
import re
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _bench as b

import ingest.pipeline as pipeline
from ingest.corpus import markdown_files
from ingest.pipeline import IngestSummary, ingest_corpus
from kg.analysis import ja_search_field
from kg.embedders import Embedder, make_embedder, make_second_embedder
from kg.query_embedders import EmbedderWrapper
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


def _check(s: IngestSummary, what: str) -> None:
    if s.errors:
        b.log(f"{what}: {len(s.errors)} file error(s), first: {s.errors[0]}")


class CountingEmbedder(EmbedderWrapper):
    """The configured embedder, counting the passages it is really asked to embed (the
    pipeline may take some embeddings from its in-process memo instead)."""

    def __init__(self, inner: Embedder) -> None:
        super().__init__(inner)
        self.embedded = 0

    def embed_queries(self, texts: Sequence[str]) -> Any:
        return self.inner.embed_queries(texts)

    def embed_passages(self, texts: Sequence[str]) -> Any:
        self.embedded += len(texts)
        return self.inner.embed_passages(texts)


def forget_process_memo() -> bool:
    """Empty the pipeline's in-process embedding memo, if it has one, so that a run starts
    as a fresh `sopkg ingest` process would. True when there was a memo to empty."""
    memo = getattr(pipeline, "_MEMO", None)
    if memo is None:
        return False
    memo.clear()
    return True


@dataclass
class Run:
    summary: IngestSummary
    embedded: int  # passages actually embedded (not taken from a memo)

    @property
    def seconds(self) -> float:
        return self.summary.seconds


def _median(runs: list[Run], key: str) -> float:
    return b.median([r.summary.timings.get(key, 0.0) for r in runs])


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
    embedder = CountingEmbedder(make_embedder(settings))
    second = make_second_embedder(settings)
    t = time.perf_counter()
    embedder.inner.embed_passages(["warm-up"])  # loads the model
    ja_search_field("準備")  # loads the fugashi dictionary
    load_s = time.perf_counter() - t
    machine_before = b.machine()
    has_memo = False

    with tempfile.TemporaryDirectory(prefix="sopkg-bench-") as tmp, conn.driver() as driver:
        root = Path(tmp) / args.corpus.resolve().name
        shutil.copytree(args.corpus, root)

        def ingest(fresh_process: bool) -> Run:
            nonlocal has_memo
            if fresh_process:
                has_memo = forget_process_memo() or has_memo
            embedder.embedded = 0
            with split.measuring():
                s = ingest_corpus(root, driver, conn.database, embedder,  # type: ignore[arg-type]
                                  corpus_name=CORPUS_NAME, batch=settings.embed_batch,
                                  second=second)  # fmt: skip
            s.timings.update({f"write.{k}": v for k, v in split.spent.items()})
            if split.doc_writes:
                s.timings["write.per_document_median"] = b.median(split.doc_writes)
            return Run(s, embedder.embedded)

        cold: list[Run] = []
        for i in range(args.cold_runs):
            b.wipe(driver, conn.database)
            cold.append(ingest(fresh_process=True))
            _check(cold[-1].summary, "cold")
            b.log(f"cold {i + 1}/{args.cold_runs}: {cold[-1].seconds:.2f} s, "
                  f"{cold[-1].embedded} passages embedded")  # fmt: skip
        counts = b.graph_counts(driver, conn.database)

        unchanged: list[Run] = []
        for i in range(args.runs):
            unchanged.append(ingest(fresh_process=True))
            if unchanged[-1].summary.written:
                b.log(f"warning: an unchanged re-ingest wrote "
                      f"{unchanged[-1].summary.written} document(s)")  # fmt: skip
            b.log(f"unchanged {i + 1}/{args.runs}: {unchanged[-1].seconds:.3f} s")

        # One changed file, as a new `sopkg ingest` process sees it (no memo), then as a
        # long-lived process (the API's ingest route) sees it, its memo warm.
        changed: dict[str, list[Run]] = {"fresh": [], "memo": []}
        edited = ""
        n_edit = 0
        for mode in ("fresh", "memo"):
            if mode == "memo" and not has_memo:
                break
            for i in range(args.runs):
                n_edit += 1
                edited = _edit_one_file(root, n_edit)
                changed[mode].append(ingest(fresh_process=mode == "fresh"))
                r = changed[mode][-1]
                b.log(f"one changed file ({mode}) {i + 1}/{args.runs}: {r.seconds:.3f} s, "
                      f"{r.summary.written} written, {r.embedded} passages embedded")  # fmt: skip

    if args.stop:
        server.stop()

    columns: dict[str, list[Run]] = {"cold": cold, "unchanged": unchanged,
                                     "1 changed": changed["fresh"]}  # fmt: skip
    if changed["memo"]:
        columns["1 changed, memo"] = changed["memo"]
    med = {c: {p: _median(runs, p) for p in PHASES} for c, runs in columns.items()}
    wmed = {c: {k: _median(runs, f"write.{k}") for k in [*WRITE_PARTS, "per_document_median"]}
            for c, runs in columns.items()}  # fmt: skip
    secs = {c: b.median([r.seconds for r in runs]) for c, runs in columns.items()}
    embedded = {c: b.median([r.embedded for r in runs]) for c, runs in columns.items()}
    first = cold[0].summary
    docs = first.documents
    cold_s = secs["cold"]
    un_s = secs["unchanged"]
    per100 = un_s / docs * 100 if docs else float("nan")

    def shares(c: str) -> dict[str, float]:
        total = sum(med[c].values()) or 1.0
        return {p: v / total for p, v in med[c].items()}

    print(f"\nIngest throughput: {args.corpus} ({embedder.name}, instance {args.instance})")
    print(f"  {docs} documents, {first.files} files, {first.passages} passages, "
          f"{first.statements} statements; graph: {counts['sections']} sections, "
          f"{counts['relationships']} relationships")  # fmt: skip
    print(f"  model + dictionary load (before the runs): {load_s:.2f} s")
    print(f"  machine: {machine_before['cpus']} cpus, load average "
          f"{machine_before['loadavg_1m']} at start, {b.machine()['loadavg_1m']} at end; "
          f"medians of {len(cold)} cold run(s) and {args.runs} of each other kind\n")  # fmt: skip
    sh = {c: shares(c) for c in ("cold", "unchanged")}
    head = f"  {'seconds':<15}{'cold':>9}{'share':>7}{'unchanged':>11}{'share':>7}"
    head += "".join(f"{c:>17}" for c in list(columns)[2:])
    print(head + "   what")
    for p in PHASES:
        line = (f"  {p:<15}{med['cold'][p]:>9.3f}{sh['cold'][p]:>7.1%}"
                f"{med['unchanged'][p]:>11.3f}{sh['unchanged'][p]:>7.1%}")  # fmt: skip
        line += "".join(f"{med[c][p]:>17.3f}" for c in list(columns)[2:])
        print(line + f"   {PHASE_HELP[p]}")
    for k in [*WRITE_PARTS, "per_document_median"]:
        label = "1 doc, median" if k == "per_document_median" else k
        line = f"    {label:<13}{wmed['cold'][k]:>9.3f}{'':>7}{wmed['unchanged'][k]:>11.3f}{'':>7}"
        line += "".join(f"{wmed[c][k]:>17.3f}" for c in list(columns)[2:])
        print(line + f"   {WRITE_HELP[k]}")
    line = f"  {'total':<15}{cold_s:>9.3f}{'':>7}{un_s:>11.3f}{'':>7}"
    print(line + "".join(f"{secs[c]:>17.3f}" for c in list(columns)[2:]))
    line = f"  {'embedded':<15}{embedded['cold']:>9.0f}{'':>7}{embedded['unchanged']:>11.0f}{'':>7}"
    print(line + "".join(f"{embedded[c]:>17.0f}" for c in list(columns)[2:])
          + "   passages actually embedded")  # fmt: skip

    print(f"\n  cold ingest:         {cold_s:8.2f} s  ({first.passages / cold_s:.1f} passages/s; "
          f"embedding {embedded['cold'] / max(med['cold']['embed'], 1e-9):.1f} passages/s)")  # fmt: skip
    print(f"  unchanged re-ingest: {un_s:8.3f} s  = {per100:.3f} s per 100 documents "
          f"(target: well under 1 s)")  # fmt: skip
    print(f"  one changed file:    {secs['1 changed']:8.3f} s  ({edited}, a new process: "
          f"{embedded['1 changed']:.0f} passages embedded)")  # fmt: skip
    if "1 changed, memo" in secs:
        print(f"  one changed, memo:   {secs['1 changed, memo']:8.3f} s  (the same, in a "
              f"process that ingested before: {embedded['1 changed, memo']:.0f} embedded)")  # fmt: skip
    print()

    def r3(d: dict[str, float]) -> dict[str, float]:
        return {k: b.r3(v) for k, v in d.items()}

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
        "cold_runs_s": [b.r3(r.seconds) for r in cold],
        "passages_per_s": round(first.passages / cold_s, 1),
        "cold_phases_s": r3(med["cold"]),
        "cold_phase_shares": {k: round(v, 3) for k, v in sh["cold"].items()},
        "unchanged_median_s": b.r3(un_s),
        "unchanged_runs_s": [b.r3(r.seconds) for r in unchanged],
        "unchanged_s_per_100_docs": b.r3(per100),
        "unchanged_phases_s": r3(med["unchanged"]),
        "unchanged_phase_shares": {k: round(v, 3) for k, v in sh["unchanged"].items()},
        "one_changed_median_s": b.r3(secs["1 changed"]),
        "one_changed_runs_s": [b.r3(r.seconds) for r in changed["fresh"]],
        "one_changed_phases_s": r3(med["1 changed"]),
        "one_changed_embedded": embedded["1 changed"],
        "one_changed_memo_median_s": b.r3(secs["1 changed, memo"]) if changed["memo"] else None,
        "one_changed_memo_embedded": embedded.get("1 changed, memo"),
        "write_split_s": {c: r3(v) for c, v in wmed.items()},
        "machine": machine_before | {"loadavg_1m_end": b.machine()["loadavg_1m"]},
    }
    b.emit_json(payload)


if __name__ == "__main__":
    main()
