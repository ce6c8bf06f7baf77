"""`sopkg eval`: judged queries against a corpus, through the same retriever as the API.

The corpus is ingested into the local `eval` Neo4j instance (never the user's graph),
incrementally, under the corpus name `eval`, so a second run over the same files only
re-runs the queries, and another corpus retires the previous one's documents.
"""

from __future__ import annotations

import json
import math
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import mean
from typing import Any

from ingest.pipeline import IngestSummary, ingest_corpus
from ingest.progress import Progress, ProgressEvent
from kg.connection import Connection, local_connection
from kg.embedders import Embedder
from kg.local_neo4j import LocalNeo4j
from kg.reader import GraphReader
from kg.settings import Settings
from kg.writer import GraphWriter
from search_api.expansion import Glossary
from search_api.models import SearchResult
from search_api.retrieval import Mode, Retriever, SearchParams

EVAL_CORPUS = "eval"


@dataclass(frozen=True)
class Judged:
    id: str
    text: str
    lang: str
    kind: str
    filters: dict[str, Any]
    grades: dict[tuple[str, str, str], int]  # (doc, "item"|"section", id) -> grade


def load_queries(path: Path) -> list[Judged]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        q = json.loads(line)
        grades = {}
        for r in q["relevant"]:
            unit = ("item", r["item"]) if "item" in r else ("section", r["section"])
            grades[(r["doc"], *unit)] = int(r.get("grade", 1))
        out.append(
            Judged(q["id"], q["text"], q.get("lang", ""), q.get("kind", ""),
                   q.get("filters") or {}, grades)
        )  # fmt: skip
    return out


def result_unit(r: SearchResult) -> tuple[str, str, str]:
    u = r.unit
    if u.type == "statement":
        return (u.doc_id, "item", u.item_id or u.key.split("#", 1)[1])
    return (u.doc_id, "section", u.section)


def ndcg(
    ranked: Sequence[tuple[str, str, str]], grades: dict[tuple[str, str, str], int], k: int
) -> float:
    # Linear gain, as trec_eval and pyserini compute it.
    dcg = sum(grades.get(u, 0) / math.log2(i + 2) for i, u in enumerate(ranked[:k]))
    ideal = sorted(grades.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall(
    ranked: Sequence[tuple[str, str, str]], grades: dict[tuple[str, str, str], int], k: int
) -> float:
    relevant = {u for u, g in grades.items() if g > 0}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


def mrr(
    ranked: Sequence[tuple[str, str, str]], grades: dict[tuple[str, str, str], int], k: int
) -> float:
    for i, u in enumerate(ranked[:k]):
        if grades.get(u, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


def _aggregate(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    rows = list(rows)
    return {
        "queries": len(rows),
        "ndcg@10": round(mean(r["ndcg@10"] for r in rows), 4),
        "recall@10": round(mean(r["recall@10"] for r in rows), 4),
        "mrr@10": round(mean(r["mrr@10"] for r in rows), 4),
        "query_language_share": round(mean(r["lang_share"] for r in rows), 4),
    }


def evaluate(
    retriever: Retriever,
    queries: Sequence[Judged],
    mode: Mode,
    k: int = 10,
    progress: Progress | None = None,
) -> dict[str, Any]:
    per_query: list[dict[str, Any]] = []
    latencies = []
    for n, q in enumerate(queries, start=1):
        params = SearchParams(
            query=q.text,
            market=q.filters.get("market"),
            topic=q.filters.get("topic"),
            language=q.filters.get("language"),
            limit=k,
            mode=mode,
        )
        t = time.perf_counter()
        out = retriever.search(params)
        latencies.append((time.perf_counter() - t) * 1000)
        ranked = [result_unit(r) for r in out.results]
        in_lang = [r.lang == out.query_lang for r in out.results]
        per_query.append({
            "id": q.id, "lang": q.lang, "kind": q.kind,
            "ndcg@10": ndcg(ranked, q.grades, k),
            "recall@10": recall(ranked, q.grades, k),
            "mrr@10": mrr(ranked, q.grades, k),
            "lang_share": sum(in_lang) / len(in_lang) if in_lang else 0.0,
        })  # fmt: skip
        if progress:
            progress(ProgressEvent(f"eval {mode}", n, len(queries), "queries", q.id))
    by_lang: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in per_query:
        by_lang[r["lang"]].append(r)
        by_kind[r["kind"]].append(r)
    latencies.sort()
    return {
        "mode": mode,
        "overall": _aggregate(per_query),
        "by_language": {k_: _aggregate(v) for k_, v in sorted(by_lang.items())},
        "by_kind": {k_: _aggregate(v) for k_, v in sorted(by_kind.items())},
        "latency_ms": {
            "p50": round(latencies[len(latencies) // 2], 1),
            "p95": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))], 1),
        },
        "per_query": [
            {k_: (round(v, 4) if isinstance(v, float) else v) for k_, v in r.items()}
            for r in per_query
        ],
    }


def wipe_graph(driver: Any, database: str) -> None:
    GraphWriter(driver, database).wipe()


def eval_connection(settings: Settings) -> Connection:
    server = LocalNeo4j(settings, "eval", heap="1g", pagecache="512m")
    server.start()
    return local_connection(server)


def build_retriever(
    conn_driver: Any, database: str, embedder: Embedder, settings: Settings
) -> Retriever:
    reader = GraphReader(conn_driver, database)
    glossary = Glossary.from_rows(reader.glossary())
    return Retriever(reader, embedder, glossary, today=settings.today,
                     due_within_days=settings.due_within_days)  # fmt: skip


def run_eval(
    settings: Settings,
    embedder: Embedder,
    corpus: Path,
    queries_path: Path,
    modes: Sequence[Mode],
    with_per_query: bool = False,
    fresh: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]:
    conn = eval_connection(settings)
    queries = load_queries(queries_path)
    with conn.driver() as driver:
        if fresh:
            wipe_graph(driver, conn.database)
        summary: IngestSummary = ingest_corpus(
            corpus, driver, conn.database, embedder, corpus_name=EVAL_CORPUS,
            batch=settings.embed_batch, progress=progress,
        )  # fmt: skip
        retriever = build_retriever(driver, conn.database, embedder, settings)
        reports = [evaluate(retriever, queries, m, progress=progress) for m in modes]
    if not with_per_query:
        for r in reports:
            r.pop("per_query")
    return {
        "corpus": str(corpus),
        "queries": str(queries_path),
        "embedder": embedder.name,
        "ingest": {k: v for k, v in summary.as_json().items() if k != "errors"}
        | {"errors": len(summary.errors)},
        "modes": {r["mode"]: r for r in reports},
    }
