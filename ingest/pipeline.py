"""`sopkg ingest`: a corpus folder -> the graph, incrementally and safely.

Each document (all its language files) is written in one transaction. Unchanged versions
(same content hash, still current, derived by this code: ingest.concepts.DERIVATION) are
skipped; a version written again keeps the vectors of its unchanged texts. A broken file is
reported and skipped while its previously ingested version stays as it was; documents gone
from the corpus are retired, not silently kept live.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from neo4j import Driver
from neo4j.exceptions import Neo4jError

from ingest.concepts import DERIVATION, build_document, version_key
from ingest.corpus import GLOSSARY_FILE, TAXONOMY_FILE, load_corpus
from ingest.model import Corpus, Issue, ParsedFile, Severity
from ingest.progress import Progress, ProgressEvent
from ingest.termtable import example_citations, learn_terms
from kg.embedders import Embedder
from kg.errors import NotFound
from kg.reader import GraphReader
from kg.records import DocumentRecord, PassageRecord, VersionRecord
from kg.schema import EmbedderInfo, drop_vector_indexes, migrate
from kg.writer import ExistingVersion, GraphWriter, LabelConflict, StoredVector


@dataclass
class IngestSummary:
    corpus: str
    documents: int = 0  # documents in the corpus that parsed (at least one file)
    files: int = 0
    written: int = 0  # documents written in this run
    skipped: int = 0  # documents unchanged since the last run
    rederived: int = 0  # written only because older code had derived them (files unchanged)
    retired: int = 0
    passages: int = 0  # passages written in this run
    statements: int = 0  # statements of the documents written in this run
    learned_terms: int | None = None  # size of the rebuilt term table; None: not rebuilt
    second_backfilled: int = 0  # passages written earlier that got their second vector now
    # False when the run left the graph as it was (and the run before it ended): the corpus
    # stamp did not move, so running servers keep their corpus data and a restart reuses the
    # files kept for this stamp.
    changed: bool = False
    errors: list[str] = field(default_factory=list)
    warnings: int = 0
    # `file:line: warning: rule: message` for the command line; the JSON keeps the count.
    warning_lines: list[str] = field(default_factory=list, repr=False)
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        del out["warning_lines"]
        out["seconds"] = round(self.seconds, 3)
        out["timings"] = {k: round(v, 3) for k, v in self.timings.items()}
        return out


class _Clock:
    def __init__(self) -> None:
        self.spent: dict[str, float] = {}

    def add(self, phase: str, since: float) -> float:
        now = time.perf_counter()
        self.spent[phase] = self.spent.get(phase, 0.0) + now - since
        return now


def unchanged(files: Sequence[ParsedFile], existing: Sequence[ExistingVersion]) -> bool:
    """True when every file matches a live version with the same content hash, derived by
    this code (`DERIVATION`), and no other version of the document is live: nothing to
    analyse, embed or write."""
    return same_files(files, existing) and all(
        e.derivation == DERIVATION for e in existing if e.current
    )


def same_files(files: Sequence[ParsedFile], existing: Sequence[ExistingVersion]) -> bool:
    """True when the live versions are exactly the files' versions, with their bytes."""
    live = {e.key: e for e in existing if e.current}
    keys = {version_key(f.meta.id, f.meta.lang, f.meta.version): f for f in files}
    return set(live) == set(keys) and all(live[k].hash == f.content_hash for k, f in keys.items())


def changed_versions(
    doc: DocumentRecord, existing: Sequence[ExistingVersion]
) -> list[VersionRecord]:
    """Versions that need writing: new, edited in place, not live, or derived by other code."""
    by_key = {e.key: e for e in existing}
    return [
        v
        for v in doc.versions
        if v.key not in by_key
        or by_key[v.key].hash != v.content_hash
        or not by_key[v.key].current
        or by_key[v.key].derivation != v.derivation
    ]


# Embeddings of passage texts seen by this process, so re-writing a document (a new
# version with few edits, a retired document coming back, the same corpus ingested into
# another graph) embeds only what is new. Bounded: about 1.5 KiB per entry.
_MEMO: OrderedDict[tuple[str, str], list[float]] = OrderedDict()
_MEMO_MAX = 50_000


SECOND_BACKFILL_BATCH = 2_000  # passages read at a time by backfill_second


def _embed_texts(
    texts: Sequence[str],
    embedder: Embedder,
    batch: int,
    stored: Mapping[str, list[float] | None] | None = None,
) -> list[list[float]]:
    """Passage embeddings of `texts`: those in `stored` (the graph's, for this model) and in
    the memo (seen by this process) are not embedded again; `stored` joins the memo."""
    out: list[list[float] | None] = [
        (stored or {}).get(t) or _MEMO.get((embedder.name, t)) for t in texts
    ]
    for t, vec in (stored or {}).items():  # kept too: a graph built again reuses them
        if vec is not None:
            _MEMO[(embedder.name, t)] = vec
    todo = [i for i, v in enumerate(out) if v is None]
    for start in range(0, len(todo), batch):
        chunk = todo[start : start + batch]
        vectors = embedder.embed_passages([texts[i] for i in chunk])
        for i, vec in zip(chunk, vectors, strict=True):
            out[i] = _MEMO[(embedder.name, texts[i])] = [float(x) for x in vec]
    while len(_MEMO) > _MEMO_MAX:
        _MEMO.popitem(last=False)
    return [v for v in out if v is not None]


def embed_versions(
    versions: Sequence[VersionRecord],
    embedder: Embedder,
    batch: int,
    second: Embedder | None = None,
    stored: Mapping[str, StoredVector] | None = None,
) -> None:
    """Each passage's embedding of its embed text, and with `second` its second vector;
    texts with vectors in `stored` (the graph's, see GraphWriter.stored_vectors) keep them."""
    stored = stored or {}
    passages = [p for v in versions for p in v.passages]
    texts = [p.embed_text for p in passages]
    first = {t: s.embedding for t, s in stored.items()}
    for p, vec in zip(passages, _embed_texts(texts, embedder, batch, first), strict=True):
        p.embedding = vec
    embed_windows(passages, embedder, batch)
    if second is not None:
        other = {t: s.embedding2 for t, s in stored.items()}
        for p, vec in zip(passages, _embed_texts(texts, second, batch, other), strict=True):
            p.embedding2 = vec


def backfill_second(
    writer: GraphWriter, second: Embedder, batch: int, progress: Progress | None = None
) -> int:
    """Second vectors for the current passages that have none (a graph written before the
    second space existed, by a run without it, or with another second model): its index
    then covers the whole corpus, and search uses it (kg.corpus_facts). Returns how many
    passages were embedded."""
    if writer.embedder2_full() == second.name:
        return 0
    done = 0
    for rows in _pending(lambda: writer.passages_without_embedding2(SECOND_BACKFILL_BATCH)):
        vectors = _embed_texts([text for _, text in rows], second, batch)
        writer.set_embedding2(
            [{"key": k, "embedding": v} for (k, _), v in zip(rows, vectors, strict=True)]
        )
        done += len(rows)
        if progress:
            progress(ProgressEvent("embed2", done, done, "passages", rows[-1][0], done))
    writer.mark_embedder2_full(second.name)
    return done


def fill_windows(writer: GraphWriter, embedder: Embedder, batch: int) -> int:
    """Window vectors for the current long passages that have none (a re-embedding drops
    them with the old model's vectors). Returns how many passages got them."""
    done = 0
    for rows in _pending(lambda: writer.passages_without_windows(SECOND_BACKFILL_BATCH)):
        flats = _window_vectors([texts for _, texts in rows], embedder, batch)
        writer.set_windows(
            [{"key": k, "windows": flat} for (k, _), flat in zip(rows, flats, strict=True)]
        )
        done += len(rows)
    return done


R = TypeVar("R", bound=tuple[str, Any])


def _pending(read: Callable[[], list[R]]) -> Iterator[list[R]]:
    """The batches `read` gives (rows keyed by their first field) until it gives none, or
    only rows it gave before: written and still asked for, never loop on them."""
    seen: set[str] = set()
    while rows := read():
        if seen.issuperset(r[0] for r in rows):
            return
        seen.update(r[0] for r in rows)
        yield rows


def embed_windows(passages: Sequence[PassageRecord], embedder: Embedder, batch: int) -> None:
    """The window vectors of the long passages among `passages` (PassageRecord.windows)."""
    windowed = [p for p in passages if p.window_texts]
    groups = [p.window_texts or [] for p in windowed]
    for p, flat in zip(windowed, _window_vectors(groups, embedder, batch), strict=True):
        p.windows = flat


def _window_vectors(
    groups: Sequence[Sequence[str]], embedder: Embedder, batch: int
) -> list[list[float]]:
    """Each passage's window texts embedded, its vectors one after the other (the form of
    PassageRecord.windows)."""
    vectors = iter(_embed_texts([t for g in groups for t in g], embedder, batch))
    return [[x for _ in g for x in next(vectors)] for g in groups]


def label_conflict_issues(conflicts: Sequence[LabelConflict], corpus: Corpus) -> list[Issue]:
    """A warning for each topic this corpus labels otherwise than the graph shows it: one
    graph has one label a topic, the first corpus's by name of those that list it."""
    builtin = corpus.taxonomy.source == "default"
    own = " (the built-in taxonomy)" if builtin else ""
    lines = {t.path: 0 if builtin else t.line for t in corpus.taxonomy}
    return [
        Issue(
            TAXONOMY_FILE,
            lines.get(c.path, 0),
            "topic-label",
            f"topic {c.path} is labelled {' / '.join(c.own)} here{own} but "
            f"{' / '.join(c.shown)} by corpus {c.corpus!r}, whose label the graph shows "
            "(the first corpus by name that lists the topic); give both the same labels",
            Severity.WARNING,
        )
        for c in conflicts
    ]


def ingest_corpus(
    root: Path,
    driver: Driver,
    database: str,
    embedder: Embedder,
    corpus_name: str | None = None,
    batch: int = 32,
    progress: Progress | None = None,
    second: Embedder | None = None,
) -> IngestSummary:
    """Ingest the corpus at `root` (see the module docstring). `second` embeds every passage
    into the second vector space too (kg.embedders.make_second_embedder)."""
    t_start = time.perf_counter()
    clock = _Clock()
    t = time.perf_counter()
    corpus: Corpus = load_corpus(root)
    t = clock.add("parse", t)
    name = corpus_name or root.resolve().name
    summary = IngestSummary(corpus=name, files=len(corpus.files))
    summary.errors = [str(i) for i in corpus.errors]
    summary.warnings = len(corpus.warnings)
    summary.warning_lines = [str(i) for i in corpus.warnings]
    if not corpus.files and not corpus.broken:
        # No SOP file at all (a wrong path, a volume not mounted): going on would retire
        # every document of the corpus. The error says so; the graph is not touched.
        summary.seconds = time.perf_counter() - t_start
        return summary

    migrate(driver, database, EmbedderInfo(embedder.name, embedder.dim), _info(second))
    writer = GraphWriter(driver, database)
    unfinished = writer.begin_ingest()
    # A vocabulary file that could not be read leaves the stored copy as it is.
    unread = corpus.broken_vocabulary
    vocabulary = writer.sync_vocabulary(
        name,
        str(root.resolve()),
        None if TAXONOMY_FILE in unread else corpus.taxonomy,
        None if GLOSSARY_FILE in unread else corpus.glossary,
    )
    touched = vocabulary.changed
    label_issues = label_conflict_issues(vocabulary.conflicts, corpus)
    summary.warnings += len(label_issues)
    summary.warning_lines += [str(i) for i in label_issues]
    t = clock.add("write", t)

    docs: dict[str, list[ParsedFile]] = corpus.documents()
    summary.documents = len(docs)
    files_total = sum(len(files) for files in docs.values())
    files_done = 0

    def report(label: str) -> None:
        if progress:
            progress(ProgressEvent("ingest", files_done, files_total, "files", label,
                                   summary.passages))  # fmt: skip

    report("")
    for doc_id, files in docs.items():
        if files_done:
            report(doc_id)
        files_done += len(files)
        conflict = _other_corpus(writer.active_corpora(doc_id), name, files)
        if conflict is not None:
            summary.errors.append(str(conflict))
            t = clock.add("check", t)
            continue
        existing = writer.existing_versions(doc_id)
        if unchanged(files, existing):
            summary.skipped += 1
            t = clock.add("check", t)
            continue
        stale = same_files(files, existing)  # only the derivation differs
        t = clock.add("check", t)
        record = build_document(files, name)
        changed = changed_versions(record, existing)
        t = clock.add("analyse", t)
        stored = writer.stored_vectors(doc_id) if existing else {}
        t = clock.add("check", t)
        embed_versions(changed, embedder, batch, second, stored)
        t = clock.add("embed", t)
        try:
            writer.write_document(record, changed, corpus.broken)
        except Neo4jError as e:
            # The transaction rolled back: the document is as it was before this run.
            summary.errors.append(f"{files[0].rel_path}:0: write: {e.message or e}")
            t = clock.add("write", t)
            continue
        t = clock.add("write", t)
        summary.written += 1
        summary.rederived += stale
        summary.passages += sum(len(v.passages) for v in changed)
        summary.statements += len(record.statements)
    report("")
    finished = writer.finish_corpus(name, docs.keys(), corpus.broken)
    summary.retired = finished.retired
    touched = touched or finished.relinked or bool(summary.written or summary.retired)
    t = clock.add("write", t)
    if second is not None:
        touched = touched or writer.embedder2_full() != second.name
        summary.second_backfilled = backfill_second(writer, second, batch, progress)
        t = clock.add("embed", t)
    elif summary.written:
        writer.mark_embedder2_full(None)  # passages without second vectors were written
    touched = _relearn(writer, summary) or touched
    if summary.learned_terms is not None:
        t = clock.add("terms", t)
    # Running servers reload their corpus data on a new stamp.
    summary.changed = touched or unfinished
    writer.end_ingest(summary.changed)
    clock.add("write", t)
    summary.timings = clock.spent
    summary.seconds = time.perf_counter() - t_start
    return summary


def _other_corpus(corpora: Sequence[str], name: str, files: Sequence[ParsedFile]) -> Issue | None:
    """The error when another corpus has an active document of this id: an id names one
    document in the graph, and writing it here would take it from that corpus (whose next
    ingest would take it back) or, were it linked to both, let either retire it."""
    others = [c for c in corpora if c != name]
    if not others:
        return None
    first = files[0]
    return Issue(
        first.rel_path,
        first.meta_lines.get("id", 1),
        "document-corpus",
        f"{first.meta.id} is a document of corpus {others[0]!r} in the graph; an id names one "
        f"document across corpora: choose another id, or take the document out of "
        f"{others[0]!r} first (remove its files there and ingest it, or sopkg corpora --remove)",
    )


def remove_corpus(name: str, driver: Driver, database: str) -> IngestSummary:
    """Take a corpus out of the graph: its documents are retired (kept for as-of search and
    the record, as when their files are gone) and its taxonomy and glossary dropped, the
    shared topics and terms derived again from the other corpora's. Ingesting its folder
    again brings it back."""
    t_start = time.perf_counter()
    writer = GraphWriter(driver, database)
    known = [str(c["name"]) for c in GraphReader(driver, database).corpora()]
    if name not in known:
        raise NotFound(
            f"no corpus named {name!r} in the graph (corpora: {', '.join(known) or 'none'})"
        )
    summary = IngestSummary(corpus=name)
    unfinished = writer.begin_ingest()
    touched = writer.forget_corpus(name)
    finished = writer.finish_corpus(name, (), ())
    summary.retired = finished.retired
    touched = touched or finished.relinked or bool(summary.retired)
    touched = _relearn(writer, summary) or touched
    summary.changed = touched or unfinished
    writer.end_ingest(summary.changed)
    summary.seconds = time.perf_counter() - t_start
    return summary


def _info(embedder: Embedder | None) -> EmbedderInfo | None:
    return None if embedder is None else EmbedderInfo(embedder.name, embedder.dim)


def _relearn(writer: GraphWriter, summary: IngestSummary) -> bool:
    """The graph-wide derived data rebuilt when the run wrote or retired documents, or when
    there is no term table yet (`summary.learned_terms` then set); True when that changed
    the graph."""
    if not (summary.written or summary.retired or not writer.learned_term_count()):
        return False
    summary.learned_terms, relinked = rebuild_term_table(writer)
    return relinked or summary.learned_terms > 0


def rebuild_term_table(writer: GraphWriter) -> tuple[int, bool]:
    """Relearn the data derived from the whole graph: the bilingual term table from every
    aligned pair (all corpora: a term learnt from one team's documents helps search in
    another's), and the links from examples to the statements they cite. Returns the
    table's size and whether any of those links changed."""
    terms = learn_terms(writer.aligned_fields())
    writer.replace_learned_terms([t.as_row() for t in terms])
    relinked = writer.replace_illustrations(example_citations(writer.example_passages()))
    return len(terms), relinked


def reembed_graph(
    driver: Driver,
    database: str,
    embedder: Embedder,
    batch: int = 32,
    progress: Progress | None = None,
) -> int:
    """Re-embed every current passage with `embedder` (another model or dimension).

    The new vectors are written beside the live ones (`embedding_next`), so search keeps
    working with the old model the whole time and an interrupted run loses nothing: the
    next run embeds only what is not staged yet. When every passage is staged, the vector
    indexes are switched in one short step. Returns the number of passages embedded now.
    """
    writer = GraphWriter(driver, database)
    model = f"{embedder.name}:{embedder.dim}"
    rows, total = writer.passages_to_reembed(model)
    done = total - len(rows)
    for i in range(0, len(rows), batch):
        chunk = rows[i : i + batch]
        vectors = embedder.embed_passages([text for _, text in chunk])
        writer.stage_embeddings(
            model,
            [
                {"key": k, "embedding": [float(x) for x in v]}
                for (k, _), v in zip(chunk, vectors, strict=True)
            ],
        )
        done += len(chunk)
        if progress:
            progress(ProgressEvent("reembed", done, total, "passages", chunk[-1][0], done))
    # A new stamp before the vectors change too: the promotion runs in batches, and a saved
    # snapshot of the old vectors (kg.resident_store) must not match a half-promoted graph.
    writer.stamp_corpus()
    drop_vector_indexes(driver, database)
    writer.promote_embeddings(model)
    fill_windows(writer, embedder, batch)
    migrate(driver, database, EmbedderInfo(embedder.name, embedder.dim))
    writer.stamp_corpus()
    return len(rows)
