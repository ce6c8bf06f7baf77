"""A synthetic graph of N passages for latency tests, built in minutes instead of hours.

    python benchmarks/synthetic_corpus.py                       # 100,000 passages
    python benchmarks/synthetic_corpus.py --passages 20000 --seed-corpus /path/to/corpus

Embedding 100,000 passages would take hours on a laptop CPU. Instead:

1. the seed corpus (default: sample_corpus) is parsed with `load_corpus` and
   `build_document`, each real passage is embedded once, and the seed documents are
   written as they are (corpus `seed`), so real queries still have real answers;
2. synthetic documents (corpus `synthetic`) are cloned from the seed documents' structure
   (versions in both languages, sections, statements, APPLIES_TO, translation pairs,
   links), with new ids, titles and markets. Each synthetic passage recombines the
   sentences of its template passage with those of another random real passage of the same
   language; its embedding is the L2-normalised sum of the two source embeddings plus a
   little Gaussian noise, and its fulltext fields come from `kg.analysis`
   (`en_search_field` of the combined text; `ja_search_field` of each of its sentences,
   heading and title, analysed once per build), as for real passages;
   Seed passages already embedded in the graph by the same model (an earlier run, or
   `ingest_throughput.py` on the same corpus) keep that embedding (`--no-reuse`: embed all);
3. the seed documents are written through `GraphWriter.write_document` (one transaction
   per document, as ingest does), the synthetic ones through `GraphWriter.write_new_documents`
   (`--batch-docs` documents per transaction, the same graph in far fewer round trips;
   `--writers N` transactions in flight at once),
   then `finish_corpus`, then the indexes are awaited.

N counts all passages in the graph (seed + synthetic). The graph lives on the local
`bench-synthetic` Neo4j instance (`--instance`), which is wiped first. The build is described on the `synthetic`
Corpus node (`root`), so `query_latency.py --synthetic N` can reuse a matching graph.
Prints how long each step took.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import random
import re
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import _bench as b
import numpy as np
from neo4j import Driver

from ingest.concepts import build_document
from ingest.corpus import load_corpus
from ingest.pipeline import embed_windows
from kg import write_queries as wq
from kg.analysis import en_search_field, ja_search_field
from kg.embedders import Embedder, make_embedder, make_second_embedder
from kg.records import DocumentRecord, PassageRecord, StatementRecord, VersionRecord
from kg.schema import (
    EmbedderInfo,
    create_vector_indexes,
    drop_vector_indexes,
    migrate,
    recorded_embedder,
)
from kg.writer import GraphWriter
from ontology.vocabulary import MARKETS

DEFAULT_SEED = Path(__file__).resolve().parents[1] / "sample_corpus"
SEED_CORPUS = "seed"
SYNTHETIC_CORPUS = "synthetic"
DEFAULT_NOISE = 0.1
_JA_SENTENCE = re.compile(r"(?<=[。！？])")
_EN_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True, eq=False)
class Source:
    """A real passage: its sentences and its embedding."""

    sentences: tuple[str, ...]
    embedding: np.ndarray
    embedding2: np.ndarray | None = None  # its vector in the second space, if built


def _sentences(text: str, lang: str) -> tuple[str, ...]:
    parts = _JA_SENTENCE.split(text) if lang == "ja" else _EN_SENTENCE.split(text)
    return tuple(p.strip() for p in parts if p.strip()) or (text,)


def describe(
    n_passages: int, seed: Path, rng_seed: int, noise: float, second: str | None = None
) -> str:
    """What the `synthetic` Corpus node's root says about the build (checked for reuse)."""
    out = f"synthetic n={n_passages} seed={seed.resolve()} rng={rng_seed} noise={noise}"
    return out + (f" second={second}" if second else "")


def existing_build(driver: Driver, database: str) -> str | None:
    recs, _, _ = driver.execute_query(
        "MATCH (c:Corpus {name: $name}) RETURN c.root AS root",
        name=SYNTHETIC_CORPUS,
        database_=database,
    )
    return recs[0]["root"] if recs else None


class Generator:
    def __init__(self, seeds: Sequence[DocumentRecord], rng_seed: int, noise: float) -> None:
        self.seeds = list(seeds)
        self.rng = random.Random(rng_seed)
        self.np_rng = np.random.default_rng(rng_seed)
        self.noise = noise
        self.pool: dict[str, list[Source]] = {"ja": [], "en": []}
        self.by_key: dict[str, Source] = {}
        for d in self.seeds:
            for v in d.versions:
                for p in v.passages:
                    assert p.embedding is not None
                    src = Source(
                        _sentences(p.text, p.lang),
                        np.asarray(p.embedding, np.float32),
                        None if p.embedding2 is None else np.asarray(p.embedding2, np.float32),
                    )
                    self.pool.setdefault(p.lang, []).append(src)
                    self.by_key[p.key] = src
        self.analyse_s = 0.0
        self._ja_fields: dict[str, str] = {}

    def _ja_field(self, part: str) -> str:
        field = self._ja_fields.get(part)
        if field is None:
            field = self._ja_fields[part] = ja_search_field(part)
        return field

    def _mix(self, template: PassageRecord, title: str, heading: str) -> PassageRecord:
        a = self.by_key[template.key]
        pool = self.pool[template.lang]
        other = pool[self.rng.randrange(len(pool))]
        if other is a and len(pool) > 1:
            other = pool[(pool.index(a) + 1) % len(pool)]  # identity: eq=False
        # The first half of the template's sentences, then the second half of the other's.
        sentences = a.sentences[: math.ceil(len(a.sentences) / 2)]
        sentences += other.sentences[len(other.sentences) // 2 :]
        joiner = "" if template.lang == "ja" else " "
        text = joiner.join(sentences)
        vec = self._merge(a.embedding, other.embedding)
        vec2 = (
            None
            if a.embedding2 is None or other.embedding2 is None
            else [float(x) for x in self._merge(a.embedding2, other.embedding2)]
        )
        t = time.perf_counter()
        # The Japanese field is the analysis of each sentence, heading and title, each
        # analysed once for the whole build (a million passages reuse a few thousand).
        ja = " ".join(filter(None, map(self._ja_field, (*sentences, heading, title)))) or None
        en = en_search_field(f"{text}\n{heading}\n{title}") or None
        self.analyse_s += time.perf_counter() - t
        embed_text = f"{title} / {heading}: {text}" if heading else f"{title}: {text}"
        return replace(
            template, text=text, search_ja=ja, search_en=en, embed_text=embed_text,
            embedding=[float(x) for x in vec], embedding2=vec2,
            window_texts=None, windows=None,  # a mix of two texts: no windows derived for it
        )  # fmt: skip

    def _merge(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The unit sum of two sources' vectors plus a little Gaussian noise."""
        vec = a + b
        vec = vec + self.np_rng.normal(0.0, self.noise / math.sqrt(len(vec)), len(vec))
        return vec / max(float(np.linalg.norm(vec)), 1e-12)

    def document(self, j: int) -> DocumentRecord:
        """Synthetic document j, cloned from seed document j mod len(seeds)."""
        d = self.seeds[j % len(self.seeds)]
        new_id = f"syn{j:06d}-{d.id}"

        def rekey(key: str) -> str:
            return new_id + key[len(d.id) :] if key.startswith(d.id) else key

        markets = sorted(self.rng.sample(MARKETS, self.rng.randint(1, 3)))
        versions = []
        for v in d.versions:
            if v.lang == "ja":
                title = f"{v.title}（{'・'.join(markets)}版 {j}）"
            else:
                title = f"{v.title}: {', '.join(markets)} edition {j}"
            vkey = rekey(v.key)
            sections = [replace(s, key=rekey(s.key), version_key=vkey) for s in v.sections]
            passages = []
            for p in v.passages:
                heading = p.heading_path[1] if len(p.heading_path) > 1 else ""
                mixed = self._mix(p, title, heading)
                passages.append(
                    replace(
                        mixed,
                        key=rekey(p.key),
                        doc_id=new_id,
                        version_key=vkey,
                        section_key=rekey(p.section_key),
                        statement_key=rekey(p.statement_key) if p.statement_key else None,
                        heading_path=[title, *p.heading_path[1:]],
                        source_path=f"synthetic/{new_id}.{v.lang}.md",
                    )
                )
            digest = hashlib.sha256("".join(p.text for p in passages).encode()).hexdigest()
            versions.append(
                VersionRecord(
                    key=vkey,
                    doc_id=new_id,
                    lang=v.lang,
                    title=title,
                    version=v.version,
                    effective=v.effective,
                    review_by=v.review_by,
                    translation_of_lang=v.translation_of_lang,
                    translation_of_version=v.translation_of_version,
                    source_path=f"synthetic/{new_id}.{v.lang}.md",
                    content_hash=digest,
                    sections=sections,
                    passages=passages,
                    derivation=v.derivation,
                )  # fmt: skip
            )
        statements = [
            StatementRecord(
                key=rekey(s.key),
                doc_id=new_id,
                item_id=s.item_id,
                kind=s.kind,
                severity=s.severity,
                applies_to=[rekey(t) for t in s.applies_to],
            )  # fmt: skip
            for s in d.statements
        ]
        return DocumentRecord(
            id=new_id,
            corpus=SYNTHETIC_CORPUS,
            topic=d.topic,
            markets=markets,
            owner=d.owner,
            regulations=d.regulations,
            supersedes=None,  # never supersede the real documents (they would leave search)
            source_lang=d.source_lang,
            versions=versions,
            statements=statements,
            version_pairs=[(rekey(a), rekey(c)) for a, c in d.version_pairs],
            section_pairs=[(rekey(a), rekey(c)) for a, c in d.section_pairs],
            passage_pairs=[(rekey(a), rekey(c)) for a, c in d.passage_pairs],
        )


def reuse_embeddings(
    driver: Driver, database: str, embedder: Embedder, passages: Sequence[PassageRecord]
) -> int:
    """Give `passages` the embeddings that identical passages (same text embedded by the
    same model) already have in the graph, e.g. from an earlier run; returns how many."""
    if recorded_embedder(driver, database) != EmbedderInfo(embedder.name, embedder.dim):
        return 0
    texts = sorted({p.embed_text for p in passages})
    recs, _, _ = driver.execute_query(
        "MATCH (p:Passage) WHERE p.embed_text IN $texts AND p.embedding IS NOT NULL "
        "RETURN p.embed_text AS text, p.embedding AS embedding",
        texts=texts,
        database_=database,
    )
    known = {r["text"]: list(r["embedding"]) for r in recs}
    found = 0
    for p in passages:
        if p.embed_text in known:
            p.embedding = known[p.embed_text]
            found += 1
    return found


def _passages(doc: DocumentRecord) -> int:
    return sum(len(v.passages) for v in doc.versions)


def build(
    driver: Driver,
    database: str,
    embedder: Embedder,
    *,
    n_passages: int,
    seed: Path,
    rng_seed: int = 7,
    noise: float = DEFAULT_NOISE,
    batch_docs: int = 50,
    writers: int = 1,
    embed_batch: int = 32,
    reuse: bool = True,
    defer_vector_index: bool = False,
    second: Embedder | None = None,
) -> dict[str, Any]:
    """Wipe the graph and build it; returns the figures (seconds, counts). With `second`,
    every passage gets its second-space vector too (merged from its sources', as the first)."""
    fig: dict[str, Any] = {}
    t_all = time.perf_counter()

    # --- the seed corpus, as ingest would write it ------------------------------------
    t = time.perf_counter()
    corpus = load_corpus(seed)
    if corpus.errors:
        b.log(f"seed corpus: {len(corpus.errors)} error(s), first: {corpus.errors[0]}")
    seeds = [build_document(files, SEED_CORPUS) for files in corpus.documents().values()]
    fig["seed_parse_s"] = time.perf_counter() - t
    if not seeds:
        raise SystemExit(f"{seed}: no document in the seed corpus")
    all_passages = [p for d in seeds for v in d.versions for p in v.passages]
    seed_passages = len(all_passages)
    t = time.perf_counter()
    reused = reuse_embeddings(driver, database, embedder, all_passages) if reuse else 0
    fig["seed_reused_embeddings"] = reused
    fig["seed_reuse_s"] = time.perf_counter() - t

    t = time.perf_counter()
    b.wipe(driver, database)
    fig["wipe_s"] = time.perf_counter() - t

    t = time.perf_counter()
    todo = [p for p in all_passages if p.embedding is None]
    for i in range(0, len(todo), embed_batch):
        chunk = todo[i : i + embed_batch]
        for p, vec in zip(
            chunk, embedder.embed_passages([p.embed_text for p in chunk]), strict=True
        ):
            p.embedding = [float(x) for x in vec]
    embed_windows(all_passages, embedder, embed_batch)
    if second is not None:
        for i in range(0, len(all_passages), embed_batch):
            chunk = all_passages[i : i + embed_batch]
            vectors = second.embed_passages([p.embed_text for p in chunk])
            for p, vec in zip(chunk, vectors, strict=True):
                p.embedding2 = [float(x) for x in vec]
    fig["seed_embed_s"] = time.perf_counter() - t
    fig["seed_embedded"] = len(todo)
    b.log(f"seed: {len(seeds)} documents, {seed_passages} passages: {len(todo)} embedded in "
          f"{fig['seed_embed_s']:.1f} s, {reused} embeddings reused from the graph")  # fmt: skip

    t = time.perf_counter()
    second_info = None if second is None else EmbedderInfo(second.name, second.dim)
    migrate(driver, database, EmbedderInfo(embedder.name, embedder.dim), second_info)
    writer = GraphWriter(driver, database)
    writer.sync_vocabulary(SEED_CORPUS, str(seed.resolve()), corpus.taxonomy, corpus.glossary)
    for d in seeds:
        writer.write_document(d, d.versions, corpus.broken)
    writer.finish_corpus(SEED_CORPUS, [d.id for d in seeds], corpus.broken)
    fig["seed_write_s"] = time.perf_counter() - t

    # --- synthetic documents, written in batches ------------------------------------
    if defer_vector_index:
        # A bulk load: vectors are indexed once at the end rather than row by row in every
        # transaction (HNSW insertion is what limits the write rate on two cores).
        drop_vector_indexes(driver, database, second=second is not None)
    gen = Generator(seeds, rng_seed, noise)
    target = max(0, n_passages - seed_passages)
    made = docs = 0
    gen_s = 0.0
    ids: list[str] = []
    last_log = t_write = time.perf_counter()
    # `writers` transactions in flight at once: one writer leaves Neo4j on one core (its
    # per-transaction work), while the generator here needs little. Several writers leave
    # the links to shared nodes (corpus, topic, owner...) to one linking thread, since
    # those nodes' locks are held to commit and would make the writers queue.
    apart = writers > 1
    with ThreadPoolExecutor(max_workers=writers) as pool, ThreadPoolExecutor(1) as linker:
        pending: dict[Future[None], list[DocumentRecord]] = {}
        links: list[Future[None]] = []

        def drain(until: int) -> None:
            while len(pending) > until:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for f in done:
                    f.result()  # a failed batch stops the build
                    written = pending.pop(f)
                    if apart:
                        links.append(linker.submit(writer.link_new_documents, written))

        while made < target:
            t = time.perf_counter()
            batch: list[DocumentRecord] = []
            while made < target and len(batch) < batch_docs:
                doc = gen.document(docs)
                batch.append(doc)
                made += _passages(doc)
                docs += 1
            gen_s += time.perf_counter() - t
            drain(writers - 1)
            pending[pool.submit(writer.write_new_documents, batch, not apart)] = batch
            ids.extend(doc.id for doc in batch)
            if time.perf_counter() - last_log > 15 or made >= target:
                last_log = time.perf_counter()
                rate = made / (last_log - t_write)
                b.log(f"synthetic: {made}/{target} passages, {docs} documents "
                      f"(writing {rate:.0f} passages/s)")  # fmt: skip
        drain(0)
        for f in links:
            f.result()
    write_s = time.perf_counter() - t_write
    fig["synthetic_generate_s"] = gen_s
    fig["synthetic_analyse_s"] = gen.analyse_s
    fig["synthetic_write_s"] = write_s

    t = time.perf_counter()
    writer.finish_corpus(SYNTHETIC_CORPUS, ids, [])
    with driver.session(database=database) as s:
        s.run(
            wq.UPSERT_CORPUS,
            name=SYNTHETIC_CORPUS,
            root=describe(n_passages, seed, rng_seed, noise, second and second.name),
        ).consume()
    writer.mark_embedder2_full(None if second is None else second.name)
    writer.stamp_corpus()  # as an ingest does: running servers see a new corpus
    fig["synthetic_finish_s"] = time.perf_counter() - t
    t = time.perf_counter()
    if defer_vector_index:
        create_vector_indexes(
            driver, database, embedder.dim, None if second is None else second.dim
        )
    driver.execute_query("CALL db.awaitIndexes(7200)", database_=database)
    fig["await_indexes_s"] = time.perf_counter() - t
    fig["total_s"] = time.perf_counter() - t_all

    fig |= {
        "seed_documents": len(seeds),
        "seed_passages": seed_passages,
        "synthetic_documents": docs,
        "synthetic_passages": made,
        "writers": writers,
    }
    return fig


def print_report(fig: dict[str, Any], counts: dict[str, int], store_mb: float | None) -> None:
    rows = [
        ("wipe the graph", fig["wipe_s"], ""),
        ("seed: parse + build records", fig["seed_parse_s"], ""),
        ("seed: reuse identical passages' embeddings", fig["seed_reuse_s"],
         f"{fig['seed_reused_embeddings']} reused"),
        ("seed: embed the other real passages", fig["seed_embed_s"],
         f"{fig['seed_embedded']} embedded"
         + (f", {fig['seed_embedded'] / fig['seed_embed_s']:.1f} passages/s"
            if fig["seed_embedded"] else "")),
        ("seed: write (migrate, vocabulary, documents)", fig["seed_write_s"], ""),
        ("synthetic: generate (incl. analysis)", fig["synthetic_generate_s"],
         f"analysis {fig['synthetic_analyse_s']:.1f} s"),
        (f"synthetic: written by {fig['writers']} writer(s), wall", fig["synthetic_write_s"],
         f"{fig['synthetic_passages'] / max(fig['synthetic_write_s'], 1e-9):.0f} passages/s, "
         f"{fig['synthetic_write_s'] / max(fig['synthetic_documents'], 1) * 1000:.0f} ms/document"),
        ("synthetic: finish_corpus + corpus note", fig["synthetic_finish_s"], ""),
        ("await indexes (populate deferred vector indexes)", fig["await_indexes_s"], ""),
        ("total", fig["total_s"], ""),
    ]  # fmt: skip
    print(f"\nSynthetic graph: {fig['seed_documents']} seed documents ({fig['seed_passages']} "
          f"passages) + {fig['synthetic_documents']} synthetic documents "
          f"({fig['synthetic_passages']} passages)")  # fmt: skip
    for label, secs, note in rows:
        print(f"  {label:<46}{secs:>9.1f} s   {note}")
    print(f"  graph: {counts}")
    if store_mb is not None:
        print(f"  store on disk: {store_mb:.0f} MB")
    print()


def store_size_mb(home: Path) -> float | None:
    data = home / "data"
    if not data.exists():
        return None
    return sum(p.stat().st_size for p in data.rglob("*") if p.is_file()) / 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--passages",
        type=int,
        default=100_000,
        help="passages in the graph, seed included (default 100000)",
    )
    ap.add_argument(
        "--seed-corpus",
        type=Path,
        default=DEFAULT_SEED,
        help="real corpus to recombine (default: sample_corpus)",
    )
    ap.add_argument("--rng-seed", type=int, default=7)
    ap.add_argument(
        "--noise",
        type=float,
        default=DEFAULT_NOISE,
        help="norm of the Gaussian noise added to each summed embedding",
    )
    ap.add_argument("--batch-docs", type=int, default=50, help="documents generated per batch")
    ap.add_argument("--writers", type=int, default=1, help="write transactions in flight at once")
    ap.add_argument(
        "--no-reuse",
        action="store_true",
        help="embed every seed passage, even those already embedded in the graph",
    )
    ap.add_argument(
        "--defer-vector-index",
        action="store_true",
        help="drop the vector indexes while writing the synthetic documents, build them after",
    )
    ap.add_argument("--instance", default=b.SYNTHETIC_INSTANCE)
    ap.add_argument("--heap", default="2g")
    ap.add_argument("--pagecache", default="1g")
    args = ap.parse_args()  # fmt: skip

    settings = b.bench_settings()
    server, conn = b.start_instance(settings, args.instance, args.heap, args.pagecache)
    embedder = make_embedder(settings)
    with conn.driver() as driver:
        fig = build(
            driver, conn.database, embedder, n_passages=args.passages, seed=args.seed_corpus,
            rng_seed=args.rng_seed, noise=args.noise, batch_docs=args.batch_docs,
            writers=args.writers, embed_batch=settings.embed_batch, reuse=not args.no_reuse,
            defer_vector_index=args.defer_vector_index, second=make_second_embedder(settings),
        )  # fmt: skip
        counts = b.graph_counts(driver, conn.database)
    store = store_size_mb(server.home)
    print_report(fig, counts, store)
    b.emit_json(
        {"benchmark": "synthetic_corpus", "seed_corpus": str(args.seed_corpus),
         "target_passages": args.passages, "embedder": embedder.name}
        | {k: (b.r3(v) if isinstance(v, float) else v) for k, v in fig.items()}
        | {"graph": counts, "store_mb": round(store, 1) if store else None,
           "machine": b.machine()}
    )  # fmt: skip


if __name__ == "__main__":
    main()
