"""`sopkg eval`: judged queries against a corpus, through the same retriever as the API.

Several judged sets run in one call, each reported alone and then macro-averaged, so a
change tuned on one set is confirmed on another in the same command. Each set's corpus is
ingested into its own local Neo4j instance (`eval-<name>-<hash>`, never the user's graph),
incrementally, under the corpus name `eval`, so a second run over the same files only
re-runs the queries. Fusion settings come from a file and `FIELD=VALUE` flags.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import mean
from typing import Any

import yaml

from ingest.corpus import load_corpus
from ingest.pipeline import IngestSummary, ingest_corpus
from ingest.progress import Progress, ProgressEvent
from kg.connection import Connection, local_connection
from kg.embedders import Embedder, make_second_embedder
from kg.errors import InvalidInput
from kg.local_neo4j import LocalNeo4j
from kg.reader import GraphReader
from kg.resident import hold
from kg.settings import Settings
from kg.vocabulary_store import vocabulary_store
from kg.writer import GraphWriter
from search_api.expansion import corpus_glossary
from search_api.fusion import FusionConfig
from search_api.models import SearchResult
from search_api.retrieval import Mode, Retriever, SearchParams
from sopkg.comparison import check_comparable, compare_modes, compare_reports, comparison_table
from sopkg.environment import environment, environment_changes
from sopkg.trec import file_stems, unit_id, write_set

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
    """The judged queries of a JSON Lines file (`id`, `text`, `relevant`: [{`doc`, `item`
    or `section`, `grade`}], optional `lang`, `kind`, `filters`); InvalidInput naming the
    line of the first entry that is not one."""
    out = []
    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                out.append(_judged(json.loads(line)))
            except (ValueError, TypeError, KeyError) as e:
                why = f"no {e}" if isinstance(e, KeyError) else str(e)
                raise InvalidInput("queries", f"{path}:{no}: not a judged query: {why}") from e
    return out


def _judged(q: Any) -> Judged:
    if not isinstance(q, dict) or not isinstance(q["relevant"], list):
        raise TypeError("expected an object whose `relevant` is a list")
    grades = {}
    for r in q["relevant"]:
        unit = ("item", r["item"]) if "item" in r else ("section", r["section"])
        grades[(str(r["doc"]), unit[0], str(unit[1]))] = int(r.get("grade", 1))
    return Judged(str(q["id"]), str(q["text"]), q.get("lang") or "", q.get("kind") or "",
                  dict(q.get("filters") or {}), grades)  # fmt: skip


def result_unit(r: SearchResult) -> tuple[str, str, str]:
    u = r.unit
    if u.type == "statement":
        return (u.doc_id, "item", u.item_id or u.key.split("#", 1)[1])
    return (u.doc_id, "section", u.section)


def _dcg(gains: Iterable[int]) -> float:
    # Linear gain, as trec_eval and pyserini compute it.
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def ndcg(
    ranked: Sequence[tuple[str, str, str]], grades: dict[tuple[str, str, str], int], k: int
) -> float:
    idcg = _dcg(sorted(grades.values(), reverse=True)[:k])
    return _dcg(grades.get(u, 0) for u in ranked[:k]) / idcg if idcg else 0.0


def ordered_ndcg(
    ranked: Sequence[tuple[str, str, str]], grades: dict[tuple[str, str, str], int], k: int
) -> float:
    """nDCG@k had each document kept the places it holds in the first k and filled them with
    its own judged units best first (found or not): what a perfect order inside the
    documents found would score. Below it, the loss is the order within documents; above
    it, up to 1, documents missed or ranked too low."""
    by_doc: dict[str, list[int]] = defaultdict(list)
    for (doc, _, _), g in grades.items():
        by_doc[doc].append(g)
    best = {doc: sorted(gs, reverse=True) for doc, gs in by_doc.items()}
    taken: dict[str, int] = defaultdict(int)
    gains = []
    for doc, _, _ in ranked[:k]:
        mine = best.get(doc, [])
        gains.append(mine[taken[doc]] if taken[doc] < len(mine) else 0)
        taken[doc] += 1
    idcg = _dcg(sorted(grades.values(), reverse=True)[:k])
    return _dcg(gains) / idcg if idcg else 0.0


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
        "ordered_ndcg@10": round(mean(r["ordered_ndcg@10"] for r in rows), 4),
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
            "ordered_ndcg@10": ordered_ndcg(ranked, q.grades, k),
            "lang_share": sum(in_lang) / len(in_lang) if in_lang else 0.0,
            "ranked": [unit_id(u) for u in ranked],  # the raw result, to score it again
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


# --- fusion settings from a file and flags ---------------------------------------------
def fusion_config(
    file: Path | None = None, overrides: Sequence[str] = (), base: FusionConfig | None = None
) -> FusionConfig:
    """FusionConfig from `base` (default: the product's), a JSON/YAML file of its fields,
    then `FIELD=VALUE` flags (`k=60`, `weights.focus=0`), so every ablation is one command.
    Dict fields (weights, families) are merged key by key."""
    cfg = base or FusionConfig()
    changes: dict[str, Any] = {}
    if file is not None:
        try:
            loaded = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as e:
            raise InvalidInput("--fusion", f"cannot read {file}: {e}") from e
        if not isinstance(loaded, dict):
            raise InvalidInput("--fusion", f"{file} must hold a mapping of FusionConfig fields")
        changes.update(loaded)
    for item in overrides:
        name, sep, raw = item.partition("=")
        if not sep or not name.strip():
            raise InvalidInput("--param", f"expected FIELD=VALUE, got {item!r}")
        value = yaml.safe_load(raw) if raw.strip() else None
        top, _, sub = name.strip().partition(".")
        if sub:
            changes.setdefault(top, {})[sub] = value
        else:
            changes[top] = value
    fields = {f.name: f for f in dataclasses.fields(FusionConfig)}
    values: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in fields:
            raise InvalidInput(
                "--param", f"unknown fusion field {name!r} (one of {sorted(fields)})"
            )
        current = getattr(cfg, name)
        if isinstance(current, dict):
            if not isinstance(value, dict):
                raise InvalidInput("--param", f"{name} takes {name}.KEY=VALUE entries")
            value = {**current, **{k: _entry(f"{name}.{k}", current.get(k), v)
                                   for k, v in value.items()}}  # fmt: skip
        elif isinstance(current, tuple):
            if not isinstance(value, list):
                raise InvalidInput("--param", f"{name} takes a list, e.g. {name}=[a,b]")
            value = tuple(value)
        elif isinstance(current, bool):
            if value not in (True, False):  # also 1 and 0
                raise InvalidInput("--param", f"{name} must be true or false, got {value!r}")
            value = bool(value)
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInput("--param", f"{name} must be a number, got {value!r}")
        elif isinstance(current, int) and not float(value).is_integer():
            raise InvalidInput("--param", f"{name} must be a whole number, got {value!r}")
        elif value < (1 if name in _AT_LEAST_ONE else 0):
            least = "at least 1" if name in _AT_LEAST_ONE else "0 or more"
            raise InvalidInput("--param", f"{name} must be {least}, got {value!r}")
        else:
            value = type(current)(value)
        values[name] = value
    return dataclasses.replace(cfg, **values)


# Counts and constants a ranking divides by or takes that many of: 0 would leave nothing.
_AT_LEAST_ONE = frozenset({"k", "depth", "candidates"})


def _entry(name: str, current: object, value: object) -> object:
    """One `FIELD.KEY=VALUE` entry of a dict field, checked against the entry it replaces
    (a weight is a number of 0 or more, a family a list of list names)."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        if current is None or isinstance(current, tuple):
            return tuple(value)
        raise InvalidInput("--param", f"{name} must be a number, got {value!r}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(current, tuple):
            raise InvalidInput("--param", f"{name} takes a list, e.g. {name}=[a,b]")
        if value < 0:
            raise InvalidInput("--param", f"{name} must be 0 or more, got {value!r}")
        return float(value)
    raise InvalidInput("--param", f"{name} must be a number or a list, got {value!r}")


def fusion_json(cfg: FusionConfig) -> dict[str, Any]:
    return {k: (dict(v) if isinstance(v, dict) else v) for k, v in dataclasses.asdict(cfg).items()}


# --- one isolated graph per judged set -------------------------------------------------
@dataclass(frozen=True)
class EvalSet:
    corpus: Path
    queries: Path

    @property
    def name(self) -> str:
        """`dev` for `.../dev/corpus`, else the corpus folder's name."""
        root = self.corpus.resolve()
        return root.parent.name if root.name == "corpus" else root.name

    @property
    def instance(self) -> str:
        """Each corpus gets its own local Neo4j instance, kept between runs, so a second
        run over unchanged files only re-runs the queries (ingest is incremental)."""
        slug = re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")[:20] or "set"
        digest = hashlib.sha1(str(self.corpus.resolve()).encode()).hexdigest()[:6]
        return f"eval-{slug}-{digest}"


def wipe_graph(driver: Any, database: str) -> None:
    GraphWriter(driver, database).wipe()


def eval_connection(settings: Settings, instance: str = "eval") -> Connection:
    server = LocalNeo4j(settings, instance, heap="1g", pagecache="512m")
    server.start()
    return local_connection(server)


def build_retriever(
    conn_driver: Any,
    database: str,
    embedder: Embedder,
    settings: Settings,
    fusion: FusionConfig | None = None,
) -> Retriever:
    reader = GraphReader(conn_driver, database)
    glossary = corpus_glossary(reader, settings.dictionary, store=vocabulary_store(settings))
    second = make_second_embedder(settings)
    # The vectors in memory, as the API holds them (kg.resident): the figures are the
    # served search's.
    vectors = hold(reader, second is not None, settings.resident_vectors_max)
    return Retriever(reader, embedder, glossary, today=settings.today,
                     due_within_days=settings.due_within_days, fusion=fusion,
                     second=second, vectors=vectors)  # fmt: skip


def document_languages(corpus: Path) -> dict[str, set[str]]:
    return {
        doc: {f.meta.lang for f in files} for doc, files in load_corpus(corpus).documents().items()
    }


def _reach(q: Judged, doc_langs: dict[str, set[str]]) -> str:
    """`other_language_only` when no answering document exists in the query's language:
    the case a moderator cannot reach by reading their own language."""
    answers = {doc for (doc, _, _), g in q.grades.items() if g >= 2} or {
        doc for (doc, _, _) in q.grades
    }
    own = any(q.lang in doc_langs.get(doc, {q.lang}) for doc in answers)
    return "own_language" if own else "other_language_only"


def _holds_documents(driver: Any, database: str) -> bool:
    return any(c["documents"] or c["retired"] for c in GraphReader(driver, database).corpora())


def _ingest_set(
    settings: Settings,
    embedder: Embedder,
    eset: EvalSet,
    driver: Any,
    database: str,
    progress: Progress | None,
) -> IngestSummary:
    return ingest_corpus(
        eset.corpus, driver, database, embedder, corpus_name=EVAL_CORPUS,
        batch=settings.embed_batch, progress=progress, second=make_second_embedder(settings),
    )  # fmt: skip


def run_set(
    settings: Settings,
    embedder: Embedder,
    eset: EvalSet,
    modes: Sequence[Mode],
    fusion: FusionConfig,
    fresh: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]:
    conn = eval_connection(settings, eset.instance)
    queries = load_queries(eset.queries)
    doc_langs = document_languages(eset.corpus)
    with conn.driver() as driver:
        if fresh:
            wipe_graph(driver, conn.database)
        held = not fresh and _holds_documents(driver, conn.database)
        summary = _ingest_set(settings, embedder, eset, driver, conn.database, progress)
        rebuilt = held and bool(summary.written or summary.retired)
        if rebuilt:
            # Lucene's BM25 statistics count the deleted copies of rewritten passages until
            # its segments merge, so the same corpus ranks differently after a rewrite (dev
            # by 0.003, docs/evaluation.md). Figures are those of a graph written once.
            wipe_graph(driver, conn.database)
            summary = _ingest_set(settings, embedder, eset, driver, conn.database, progress)
        retriever = build_retriever(driver, conn.database, embedder, settings, fusion)
        reports = [evaluate(retriever, queries, m, progress=progress) for m in modes]
    for r in reports:
        by_reach: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for q, row in zip(queries, r["per_query"], strict=True):
            by_reach[_reach(q, doc_langs)].append(row)
        r["by_reach"] = {k: _aggregate(v) for k, v in sorted(by_reach.items())}
    return {
        "name": eset.name,
        "corpus": str(eset.corpus),
        "queries": str(eset.queries),
        "instance": eset.instance,
        "ingest": {k: v for k, v in summary.as_json().items() if k != "errors"}
        | {"errors": len(summary.errors), "rebuilt": rebuilt},
        "modes": {r["mode"]: r for r in reports},
    }


def _macro(sets: Sequence[dict[str, Any]], mode: str) -> dict[str, Any]:
    """Mean over sets (each set weighs the same, whatever its size) of overall figures, of
    the crosslingual kind and of the lowest kind."""
    out: dict[str, Any] = {}
    reports = [s["modes"][mode] for s in sets]
    for metric in ("ndcg@10", "recall@10", "mrr@10"):
        out[metric] = round(mean(r["overall"][metric] for r in reports), 4)
    cross = [
        r["by_kind"]["crosslingual"]["ndcg@10"] for r in reports if "crosslingual" in r["by_kind"]
    ]
    if cross:
        out["crosslingual_ndcg@10"] = round(mean(cross), 4)
    out["lowest_kind_ndcg@10"] = round(
        min(k["ndcg@10"] for r in reports for k in r["by_kind"].values()), 4
    )
    return out


def run_eval(
    settings: Settings,
    embedder: Embedder,
    sets: Sequence[EvalSet],
    modes: Sequence[Mode],
    with_per_query: bool = False,
    fresh: bool = False,
    fusion: FusionConfig | None = None,
    progress: Progress | None = None,
    against: Mapping[str, Any] | None = None,
    runs: Path | None = None,
) -> dict[str, Any]:
    """Every set in every mode, their macro-average, hybrid paired query by query with each
    other mode run (is the default above its arms by more than chance?) and, with `against`
    (an earlier report with per-query figures), the paired comparison with it
    (sopkg.comparison). With `runs`, each set's judgements and rankings are also written
    there in the TREC formats (sopkg.trec), listed in the report's `runs`."""
    if against is not None:
        check_comparable(against)
    cfg = fusion or FusionConfig()
    done = [run_set(settings, embedder, s, modes, cfg, fresh, progress) for s in sets]
    report: dict[str, Any] = {
        "embedder": embedder.name,
        "environment": environment(),
        "fusion": fusion_json(cfg),
        "sets": done,
        "macro": {m: _macro(done, m) for m in modes},
    }
    if "hybrid" in modes and len(modes) > 1:
        report["hybrid_against_arms"] = compare_modes(report, "hybrid")
    if against is not None:
        report["against"] = compare_reports(against, report)
        report["against"]["environment_changes"] = environment_changes(
            against.get("environment"), report["environment"]
        )
    if runs is not None:
        report["runs"] = [str(p) for p in write_runs(runs, sets, done)]
    if not with_per_query:
        for s in done:
            for r in s["modes"].values():
                r.pop("per_query")
    return report


def write_runs(folder: Path, sets: Sequence[EvalSet], done: Sequence[dict[str, Any]]) -> list[Path]:
    """Each set's qrels and its runs, one a mode, from the per-query rankings of `done`."""
    stems = file_stems([s.name for s in sets], [s.instance for s in sets])
    written: list[Path] = []
    for eset, stem, result in zip(sets, stems, done, strict=True):
        grades = {q.id: q.grades for q in load_queries(eset.queries)}
        rankings = {
            mode: {row["id"]: row["ranked"] for row in r["per_query"]}
            for mode, r in result["modes"].items()
        }
        written += write_set(folder, stem, grades, rankings)
    return written


def summary_table(report: dict[str, Any]) -> str:
    """The report as Markdown: one row per set and mode, then the macro-average, then hybrid
    paired with the other modes when the run has them."""
    kinds = sorted({k for s in report["sets"] for r in s["modes"].values() for k in r["by_kind"]})
    head = ["set", "mode", "nDCG@10", "Recall@10", "MRR@10", "other-language-only", *kinds]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for s in report["sets"]:
        for mode, r in s["modes"].items():
            o = r["overall"]
            reach = r["by_reach"].get("other_language_only")
            cells = [s["name"], mode, f"{o['ndcg@10']:.3f}", f"{o['recall@10']:.3f}",
                     f"{o['mrr@10']:.3f}", f"{reach['ndcg@10']:.3f} ({reach['queries']})"
                     if reach else "-"]  # fmt: skip
            cells += [
                f"{r['by_kind'][k]['ndcg@10']:.3f}" if k in r["by_kind"] else "-" for k in kinds
            ]
            lines.append("| " + " | ".join(cells) + " |")
    if len(report["sets"]) > 1:
        lines += ["", "| macro-average | nDCG@10 | Recall@10 | MRR@10 | crosslingual | lowest kind |",
                  "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
        for mode, m in report["macro"].items():
            lines.append(
                f"| {mode} | {m['ndcg@10']:.3f} | {m['recall@10']:.3f} | {m['mrr@10']:.3f} | "
                f"{m.get('crosslingual_ndcg@10', float('nan')):.3f} | "
                f"{m['lowest_kind_ndcg@10']:.3f} |"
            )
    lines += ["", "Where nDCG@10 is lost: the order inside the documents found (their units "
              "best first in the places they hold), or the documents:", "",
              "| set | mode | nDCG@10 | documents in the best order | lost to the order | "
              "lost to the documents |", "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for s in report["sets"]:
        for mode, r in s["modes"].items():
            got, ordered = r["overall"]["ndcg@10"], r["overall"]["ordered_ndcg@10"]
            lines.append(f"| {s['name']} | {mode} | {got:.3f} | {ordered:.3f} | "
                         f"{ordered - got:.3f} | {1 - ordered:.3f} |")  # fmt: skip
    if report.get("hybrid_against_arms", {}).get("sets"):
        lines += ["", "Hybrid paired with each other mode, query by query:", "",
                  comparison_table(report["hybrid_against_arms"])]  # fmt: skip
    return "\n".join(lines)
