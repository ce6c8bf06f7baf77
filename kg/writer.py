"""Writes documents into the graph: one transaction per document, all or nothing."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from neo4j import Driver, ManagedTransaction, Session

from kg import write_queries as q
from kg.driver_errors import graph_errors
from kg.read_queries import SECOND_SPACE
from kg.records import DocumentRecord, VersionRecord, quiet_vector
from ontology.glossary import TermGroup
from ontology.schema import STATEMENT_LABELS, Label, passage_language_label
from ontology.taxonomy import Taxonomy
from ontology.vocabulary import MARKETS, StatementKind


@dataclass(frozen=True)
class ExistingVersion:
    key: str
    lang: str
    hash: str
    current: bool
    source_path: str
    derivation: int | None = None  # None: written before versions were stamped


@dataclass(frozen=True)
class CorpusFinish:
    """What GraphWriter.finish_corpus did."""

    retired: int  # documents retired because their files are gone
    relinked: bool  # a reference or supersession link was added or dropped


@dataclass(frozen=True)
class LabelConflict:
    """A topic the corpus labels otherwise than the graph shows: another corpus's label."""

    path: str
    own: tuple[str, str]  # (en, ja) as this corpus's taxonomy gives them
    shown: tuple[str, str]  # (en, ja) in the graph
    corpus: str  # whose they are: the first corpus by name that lists the topic


@dataclass(frozen=True)
class VocabularySync:
    """What GraphWriter.sync_vocabulary did."""

    changed: bool  # a topic, term, market or the corpus's root changed in the graph
    conflicts: list[LabelConflict]


@dataclass(frozen=True)
class StoredVector:
    """What a passage of the graph already has for the text it embeds."""

    embedding: list[float]
    embedding2: list[float] | None


class GraphWriter:
    def __init__(self, driver: Driver, database: str) -> None:
        self.driver = driver
        self.database = database

    # --- corpus-level data ------------------------------------------------------------
    def sync_vocabulary(
        self,
        corpus: str,
        root: str,
        taxonomy: Taxonomy | None,
        glossary: Sequence[TermGroup] | None,
    ) -> VocabularySync:
        """Write the corpus's taxonomy and glossary, and the topics and terms derived from
        every corpus's, in one transaction. None keeps the corpus's stored one (its file
        could not be read this time)."""
        topics = None if taxonomy is None else [
            {"path": t.path, "id": t.id, "en": t.en, "ja": t.ja, "parent": t.parent}
            for t in taxonomy
        ]  # fmt: skip
        terms = None if glossary is None else [
            {"key": g.key, "en": list(g.terms.get("en", ())), "ja": list(g.terms.get("ja", ()))}
            for g in glossary
        ]  # fmt: skip
        with self._session() as s:
            return s.execute_write(_sync_vocabulary, corpus, root, topics, terms)

    def forget_corpus(self, corpus: str) -> bool:
        """Drop the corpus's taxonomy and glossary from the graph (the topics and terms
        derived again from the other corpora's); True when that changed the graph."""
        with self._session() as s:
            return bool(s.execute_write(_forget_corpus, corpus))

    def existing_versions(self, doc_id: str) -> list[ExistingVersion]:
        with graph_errors():
            recs, _, _ = self.driver.execute_query(
                q.EXISTING_VERSIONS, doc_id=doc_id, database_=self.database
            )
        return [
            ExistingVersion(
                key=r["key"],
                lang=r["lang"],
                hash=r["hash"],
                current=bool(r["current"]),
                source_path=r["source_path"],
                derivation=r["derivation"],
            )
            for r in recs
            if r["status"] == "active"
        ]

    def active_corpora(self, doc_id: str) -> list[str]:
        """The corpora whose active document `doc_id` is (none when retired or new)."""
        with graph_errors():
            recs, _, _ = self.driver.execute_query(
                q.ACTIVE_DOCUMENT_CORPORA, doc_id=doc_id, database_=self.database
            )
        return [str(r["name"]) for r in recs]

    def stored_vectors(self, doc_id: str) -> dict[str, StoredVector]:
        """The vectors the document's passages (every version) hold, by embed text. They are
        the configured models' own: `kg.schema.migrate` refuses a graph of another first
        model and clears the second vectors of another second model."""
        with graph_errors():
            recs, _, _ = self.driver.execute_query(
                q.STORED_VECTORS, doc_id=doc_id, database_=self.database
            )
        return {r["text"]: StoredVector(r["embedding"], r["embedding2"]) for r in recs}

    # --- one document -----------------------------------------------------------------
    def write_document(
        self,
        doc: DocumentRecord,
        changed: Sequence[VersionRecord],
        protected_paths: Sequence[str] = (),
    ) -> None:
        """Write `doc` in one transaction; only `changed` versions get new content."""
        with self._session() as s:
            s.execute_write(_write_document, doc, list(changed), list(protected_paths))

    def write_new_documents(self, docs: Sequence[DocumentRecord], link: bool = True) -> None:
        """Write documents the graph does not hold yet, all in one transaction: the graph
        that `write_document` would give, at a fraction of the round trips (synthetic
        benchmark graphs, first loads). All or nothing for the batch.
        `link=False` leaves out the links to shared nodes (corpus, topic, markets, owner,
        regulations) for `link_new_documents` to write: several such writers then do not
        queue on those nodes' locks (the batch is no longer all or nothing)."""
        if docs:
            with self._session() as s:
                s.execute_write(_write_new_documents, list(docs), link)

    def link_new_documents(self, docs: Sequence[DocumentRecord]) -> None:
        """The shared-node links that `write_new_documents(..., link=False)` left out."""
        if docs:
            with self._session() as s:
                s.execute_write(_run, q.BULK_DOCUMENT_LINKS, docs=[d.props() for d in docs])

    # --- after every document ---------------------------------------------------------
    def finish_corpus(
        self, corpus: str, present_ids: Iterable[str], protected_paths: Sequence[str]
    ) -> CorpusFinish:
        """Retire the corpus's documents that are gone and link its references and
        supersessions again (another corpus may have brought a target since)."""
        with self._session() as s:
            retired = s.execute_write(
                _single,
                q.RETIRE_MISSING,
                "retired",
                corpus=corpus,
                present_ids=list(present_ids),
                protected_paths=list(protected_paths),
            )
            relinked = [
                s.execute_write(_updates, q.RELINK_REFERENCES, corpus=corpus),
                s.execute_write(_updates, q.DROP_ORPHAN_DANGLING),
                s.execute_write(_updates, q.RELINK_SUPERSEDES, corpus=corpus),
            ]
        return CorpusFinish(int(retired or 0), any(relinked))

    # --- corpus stamp, wipe -------------------------------------------------------------
    def begin_ingest(self) -> bool:
        """Mark an ingest under way; True when the one before did not end (killed or failed
        midway: what it wrote may have no new corpus stamp)."""
        with self._session() as s:
            return bool(s.execute_write(_single, q.BEGIN_INGEST, "unfinished"))

    def end_ingest(self, changed: bool) -> None:
        """A new corpus stamp when the graph changed, then the ingest's mark cleared."""
        if changed:
            self.stamp_corpus()
        with self._session() as s:
            s.execute_write(_run, q.END_INGEST)

    def stamp_corpus(self) -> str:
        """Mark that the corpus changed (see GraphReader.corpus_stamp); returns the stamp."""
        stamp = uuid.uuid4().hex
        with self._session() as s:
            s.execute_write(_run, q.STAMP_CORPUS, stamp=stamp)
        return stamp

    def wipe(self) -> None:
        """Delete every node and relationship (tests, evaluation and benchmark graphs)."""
        with self._session() as s:
            s.run(q.WIPE_GRAPH).consume()

    # --- re-embedding beside the live vectors -----------------------------------------
    def passages_to_reembed(self, model: str) -> tuple[list[tuple[str, str]], int]:
        """(key, text) of the current passages not yet staged for `model`, and how many
        current passages there are in all."""
        with graph_errors():
            recs, _, _ = self.driver.execute_query(
                q.PASSAGES_TO_REEMBED, model=model, database_=self.database
            )
            total, _, _ = self.driver.execute_query(
                q.COUNT_CURRENT_PASSAGES, database_=self.database
            )
        return [(r["key"], r["text"] or "") for r in recs], int(total[0]["n"])

    # --- long passages' windows -------------------------------------------------------
    def passages_without_windows(self, limit: int) -> list[tuple[str, list[str]]]:
        """(key, window embed texts) of at most `limit` current passages whose windows
        have no vectors (after a re-embedding)."""
        with graph_errors():
            recs, _, _ = self.driver.execute_query(
                q.PASSAGES_WITHOUT_WINDOWS, limit=limit, database_=self.database
            )
        return [(r["key"], list(r["texts"])) for r in recs]

    def set_windows(self, rows: list[dict[str, Any]]) -> None:
        """Rows of {key, windows}: the window vectors, one after the other."""
        with self._session() as s:
            s.execute_write(_run, q.SET_WINDOWS, rows=_quiet_rows(rows, "windows"))

    # --- the second vector space -----------------------------------------------------
    def passages_without_embedding2(self, limit: int) -> list[tuple[str, str]]:
        """(key, embed text) of at most `limit` current passages with no second vector."""
        with graph_errors():
            recs, _, _ = self.driver.execute_query(
                q.PASSAGES_WITHOUT_EMBEDDING2, limit=limit, database_=self.database
            )
        return [(r["key"], r["text"] or "") for r in recs]

    def set_embedding2(self, rows: list[dict[str, object]]) -> None:
        with self._session() as s:
            s.execute_write(_run, q.SET_EMBEDDING2, rows=_quiet_rows(rows))

    def embedder2_full(self) -> str | None:
        """The model whose second vector every current passage has; None: not known."""
        recs = self._query(SECOND_SPACE)
        return recs[0]["model"] if recs else None

    def mark_embedder2_full(self, model: str | None) -> None:
        """Record that every current passage has `model`'s second vector (None: not so)."""
        with self._session() as s:
            if model is None:
                s.execute_write(_run, q.FORGET_EMBEDDER2_FULL)
            else:
                s.execute_write(_run, q.MARK_EMBEDDER2_FULL, model=model)

    def stage_embeddings(self, model: str, rows: list[dict[str, object]]) -> None:
        with self._session() as s:
            s.execute_write(_run, q.STAGE_EMBEDDINGS, rows=_quiet_rows(rows), model=model)

    def promote_embeddings(self, model: str) -> None:
        """Staged vectors become the live ones (call with the vector indexes dropped)."""
        with self._session() as s:
            s.run(q.PROMOTE_EMBEDDINGS, model=model).consume()
            s.execute_write(_run, q.FORGET_EMBEDDER)

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with graph_errors(), self.driver.session(database=self.database) as s:
            yield s

    # --- data derived from the whole graph (ingest.termtable) -------------------------
    def _query(self, cypher: str) -> list[Any]:
        with graph_errors():
            recs, _, _ = self.driver.execute_query(cypher, database_=self.database)
        return list(recs)

    def aligned_fields(self) -> list[tuple[str, str]]:
        """(Japanese passage's `search_ja`, English passage's `search_en`) of every current
        aligned passage pair: their terms, analysed at ingest."""
        return [(r["ja"], r["en"]) for r in self._query(q.ALIGNED_FIELDS)]

    def example_passages(self) -> list[tuple[str, str, dict[str, str]]]:
        """(passage key, text, {item id: statement key}) of every current example passage."""
        return [
            (r["key"], r["text"] or "", {s["item"]: s["key"] for s in r["statements"]})
            for r in self._query(q.EXAMPLE_PASSAGES)
        ]

    def replace_illustrations(self, pairs: Sequence[tuple[str, str]]) -> bool:
        """Make the example -> statement links exactly `pairs`, in one transaction, writing
        only the links to add and to drop; True when there were any."""
        with self._session() as s:
            return bool(s.execute_write(_replace_links, {tuple(p) for p in pairs}))

    def learned_term_count(self) -> int:
        recs = self._query(q.COUNT_LEARNED_TERMS)
        return int(recs[0]["n"]) if recs else 0

    def replace_learned_terms(self, rows: Sequence[Mapping[str, object]]) -> None:
        """The whole learned term table, swapped in one transaction."""
        with self._session() as s:
            s.execute_write(_replace_learned, [dict(r) for r in rows])


def _replace_learned(tx: ManagedTransaction, rows: list[dict[str, object]]) -> None:
    tx.run(q.DROP_LEARNED_TERMS).consume()
    tx.run(q.CREATE_LEARNED_TERMS, rows=rows).consume()


def _replace_links(tx: ManagedTransaction, pairs: set[tuple[str, ...]]) -> int:
    record = tx.run(q.ALL_ILLUSTRATES_PAIRS).single()
    now = {tuple(p) for p in (record["rows"] if record else [])}
    if gone := sorted(now - pairs):
        tx.run(q.UNLINK_ILLUSTRATES, pairs=[list(p) for p in gone]).consume()
    if new := sorted(pairs - now):
        tx.run(q.LINK_ILLUSTRATES, pairs=[list(p) for p in new]).consume()
    return len(gone) + len(new)


def _quiet_rows(rows: list[dict[str, Any]], vector: str = "embedding") -> list[dict[str, Any]]:
    """Rows with their `vector` field as a QuietVector (see kg.records)."""
    return [r | {vector: quiet_vector(r[vector])} for r in rows]


def write_stamp() -> str:
    """A new id for one write, ordered by time: every passage of a document carries the
    stamp of the document's latest write (see q.SET_CURRENT_VERSIONS, kg.reader.cards)."""
    return f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"


def _run(tx: ManagedTransaction, query: str, **params: object) -> None:
    tx.run(query, **params).consume()  # type: ignore[arg-type]


def _updates(tx: ManagedTransaction, query: str, **params: object) -> bool:
    """Whether `query` wrote anything (the driver's own summary of its counters)."""
    return bool(tx.run(query, **params).consume().counters.contains_updates)  # type: ignore[arg-type]


def _sync_vocabulary(
    tx: ManagedTransaction,
    corpus: str,
    root: str,
    topics: list[dict[str, Any]] | None,
    terms: list[dict[str, Any]] | None,
) -> VocabularySync:
    before = _vocabulary_state(tx, corpus)
    _run(tx, q.ADOPT_LEGACY_VOCABULARY)
    _run(tx, q.UPSERT_CORPUS, name=corpus, root=root)
    if topics is not None:
        _run(tx, q.SYNC_TAXONOMY, corpus=corpus, topics=topics)
        _run(tx, q.DROP_OLD_LISTINGS, corpus=corpus, paths=[t["path"] for t in topics])
    _run(tx, q.SYNC_MARKETS, codes=[*MARKETS, "ALL"])
    if terms is not None:
        _run(tx, q.SYNC_GLOSSARY, corpus=corpus, terms=terms)
        _run(tx, q.DROP_OLD_DEFINITIONS, corpus=corpus, keys=[t["key"] for t in terms])
    _resolve_vocabulary(tx)
    conflicts = [
        LabelConflict(r["path"], (r["own_en"], r["own_ja"]), (r["en"], r["ja"]), r["corpus"])
        for r in tx.run(q.TOPIC_LABEL_CONFLICTS, corpus=corpus)
    ]
    return VocabularySync(_vocabulary_state(tx, corpus) != before, conflicts)


def _forget_corpus(tx: ManagedTransaction, corpus: str) -> bool:
    before = _vocabulary_state(tx, corpus)
    # Before anything is derived again: in a graph of the older form, the other corpora's
    # topics and terms would otherwise count as nobody's and be unlisted or deleted.
    _run(tx, q.ADOPT_LEGACY_VOCABULARY)
    _run(tx, q.FORGET_CORPUS, corpus=corpus)
    _resolve_vocabulary(tx)
    return _vocabulary_state(tx, corpus) != before


def _resolve_vocabulary(tx: ManagedTransaction) -> None:
    """The shared topics and terms, derived again from every corpus's own."""
    _run(tx, q.RESOLVE_TOPICS)
    _run(tx, q.DROP_UNDEFINED_TERMS)
    _run(tx, q.RESOLVE_TERMS)


def _vocabulary_state(tx: ManagedTransaction, corpus: str) -> tuple[object, ...]:
    """What sync_vocabulary writes, in an order of its own (collect's is not defined)."""
    r = tx.run(q.VOCABULARY_STATE, corpus=corpus).single(strict=True)
    return (
        sorted(map(repr, r["topics"])), sorted(map(repr, r["terms"])),
        sorted(r["markets"]), r["root"],
    )  # fmt: skip


def _single(tx: ManagedTransaction, query: str, field: str, **params: object) -> Any:
    rec = tx.run(query, **params).single()  # type: ignore[arg-type]
    return rec[field] if rec else None


def _write_document(
    tx: ManagedTransaction,
    doc: DocumentRecord,
    changed: list[VersionRecord],
    protected_paths: list[str],
) -> None:
    tx.run(q.UPSERT_DOCUMENT, doc=doc.props()).consume()
    for v in changed:
        tx.run(q.DELETE_VERSION_CONTENT, key=v.key).consume()
        tx.run(q.UPSERT_VERSION, v=v.props()).consume()
        tx.run(
            q.CREATE_SECTIONS, version_key=v.key, sections=[s.params() for s in v.sections]
        ).consume()
        tx.run(
            q.CREATE_PASSAGES.replace("{lang_label}", passage_language_label(v.lang)),
            passages=[p.params() for p in v.passages],
            effective=v.effective,
        ).consume()
    tx.run(
        q.SET_CURRENT_VERSIONS,
        doc_id=doc.id,
        current_keys=[v.key for v in doc.versions],
        protected_paths=protected_paths,
        written=write_stamp(),
    ).consume()
    statements = [s.params() for s in doc.statements]
    tx.run(q.UPSERT_STATEMENTS, doc_id=doc.id, statements=statements).consume()
    for kind in StatementKind:
        keys = [s.key for s in doc.statements if s.kind == kind.value]
        if keys:
            label = STATEMENT_LABELS[kind].value
            tx.run(q.SET_STATEMENT_LABEL.format(label=label), keys=keys).consume()
    tx.run(q.RELINK_APPLIES_TO, doc_id=doc.id, statements=statements).consume()
    states = [[p.key, p.statement_key] for v in changed for p in v.passages if p.statement_key]
    tx.run(q.LINK_STATES, pairs=states).consume()
    tx.run(q.DROP_TRANSLATIONS, doc_id=doc.id).consume()
    for label, pairs in (
        (Label.VERSION, doc.version_pairs),
        (Label.SECTION, doc.section_pairs),
        (Label.PASSAGE, doc.passage_pairs),
    ):
        query = q.LINK_TRANSLATIONS.replace("{label}", label.value)
        tx.run(query, pairs=[list(p) for p in pairs]).consume()


def _write_new_documents(tx: ManagedTransaction, docs: list[DocumentRecord], link: bool) -> None:
    versions = [v for d in docs for v in d.versions]
    props = [d.props() for d in docs]
    tx.run(q.BULK_DOCUMENTS, docs=props).consume()
    if link:
        tx.run(q.BULK_DOCUMENT_LINKS, docs=props).consume()
    tx.run(q.BULK_VERSIONS, versions=[v.props() for v in versions]).consume()
    tx.run(q.BULK_SECTIONS, sections=[s.params() for v in versions for s in v.sections]).consume()
    written = write_stamp()
    for lang in sorted({v.lang for v in versions}):
        rows = [
            {"p": p.params(), "effective": v.effective}
            for v in versions
            if v.lang == lang
            for p in v.passages
        ]
        query = q.BULK_PASSAGES.replace("{lang_label}", passage_language_label(lang))
        tx.run(query, rows=rows, written=written).consume()
    statements = [s for d in docs for s in d.statements]
    tx.run(q.BULK_STATEMENTS, statements=[s.params() for s in statements]).consume()
    for kind in StatementKind:
        keys = [s.key for s in statements if s.kind == kind.value]
        if keys:
            label = STATEMENT_LABELS[kind].value
            tx.run(q.SET_STATEMENT_LABEL.format(label=label), keys=keys).consume()
    applies = [[s.key, t] for s in statements for t in s.applies_to]
    tx.run(q.BULK_APPLIES_TO, pairs=applies).consume()
    states = [[p.key, p.statement_key] for v in versions for p in v.passages if p.statement_key]
    tx.run(q.LINK_STATES, pairs=states).consume()
    for label, pairs in (
        (Label.VERSION, [p for d in docs for p in d.version_pairs]),
        (Label.SECTION, [p for d in docs for p in d.section_pairs]),
        (Label.PASSAGE, [p for d in docs for p in d.passage_pairs]),
    ):
        query = q.LINK_TRANSLATIONS.replace("{label}", label.value)
        tx.run(query, pairs=[list(p) for p in pairs]).consume()
