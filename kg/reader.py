"""Reads the graph for search and the API. Turns driver errors into project errors."""

from __future__ import annotations

import datetime as dt
import json
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from neo4j import Driver, Query
from neo4j.exceptions import Neo4jError

from kg import read_queries as q
from kg.analysis import en_field_term_set, ja_field_term_set
from kg.centring import MEAN_SAMPLE, centred_cosine, mean_vector
from kg.corpus_facts import CorpusFacts
from kg.driver_errors import graph_errors
from kg.errors import GraphUnavailable
from ontology.schema import VECTOR2_INDEXES, VECTOR_INDEXES
from ontology.vocabulary import LANGUAGES


@dataclass(frozen=True)
class HitFilter:
    as_of: dt.date
    markets: list[str] | None = None  # already including "ALL"
    topic: str | None = None
    lang: str | None = None
    hidden_docs: tuple[str, ...] = ()  # document ids left out (superseded ones by default)
    # Index entries per entry in effect on `as_of` (CorpusFacts.history_factor): the indexes
    # filter after they choose, so the old versions they hold would take candidates' places.
    history: float = 1.0

    def fetch(self, k: int, filtered: bool) -> int:
        """How many candidates to ask an index for, so that about `k` pass the filter."""
        return math.ceil(k * (4 if filtered else 2) * self.history)

    def params(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of,
            "markets": self.markets,
            "topic": self.topic,
            "lang": self.lang,
            "hidden_docs": list(self.hidden_docs),
        }


@dataclass(frozen=True)
class Hit:
    key: str
    score: float
    lang: str
    doc_id: str
    statement_key: str | None
    align_key: str
    statement_kind: str | None = None
    markets: tuple[str, ...] = ()
    section_kind: str | None = None  # policy, definitions, examples, ... (ontology.schema)

    @property
    def unit(self) -> str:
        """What a result stands for: a statement (both languages), else a section."""
        return self.statement_key or f"{self.doc_id}#{self.align_key}"


@dataclass(frozen=True)
class TwinPassage:
    """A passage's translation twin (see GraphReader.twin_feedback)."""

    seed: str  # the passage it translates
    key: str
    lang: str
    text: str
    embedding: tuple[float, ...]  # empty when the passage has none yet


def _hits(rows: list[dict[str, Any]]) -> list[Hit]:
    # Reads are read-committed: a passage an ingest deletes while an index query runs can
    # come back with its properties gone. It is no longer there to show: drop it.
    rows = [r for r in rows if None not in (r["key"], r["doc_id"], r["lang"], r["align_key"])]
    return [
        Hit(
            r["key"],
            float(r["score"]),
            r["lang"],
            r["doc_id"],
            r["statement_key"],
            r["align_key"],
            r.get("statement_kind"),
            tuple(r.get("markets") or ()),
            r.get("section_kind"),
        )  # fmt: skip
        for r in rows
    ]


def _centred(
    rows: list[dict[str, Any]],
    embeddings: Mapping[str, Sequence[float]],
    means: Mapping[str, Sequence[float]],
) -> list[dict[str, Any]]:
    """DOCUMENT_PASSAGE_SIMILARITY's rows scored by the centred cosine, best first. Neo4j's
    cosine is (1 + cos) / 2 of the two vectors normalised, so each passage's dot products
    with the query and with the mean come back from `score` and `to_mean`. Rows of passages
    deleted under the read (null scores) are dropped, as `_hits` drops them. Each mean has
    its language's query length (GraphReader.document_passages keeps only those)."""
    rows = [r for r in rows if r["score"] is not None and r["to_mean"] is not None]
    out = []
    for lang, mean in means.items():
        mine = [r for r in rows if r["lang"] == lang]
        query = np.asarray(embeddings[lang], dtype=np.float64)
        norm = float(np.linalg.norm(query))
        if not mine or not norm:  # a zero query has no direction to centre
            out += mine
            continue
        m = np.asarray(mean, dtype=np.float64)
        unit = query / norm
        qp = 2.0 * np.array([float(r["score"]) for r in mine]) - 1.0
        pm = (2.0 * np.array([float(r["to_mean"]) for r in mine]) - 1.0) * np.linalg.norm(m)
        cos = centred_cosine(qp, float(unit @ m), pm, float(m @ m))
        out += [{**r, "score": (1.0 + float(c)) / 2.0} for r, c in zip(mine, cos, strict=True)]
    out += [r for r in rows if r["lang"] not in means]
    return sorted(out, key=lambda r: -float(r["score"]))


# What a result card cannot be shown without (its passage, version and document).
_CARD_FIELDS = ("key", "text", "lang", "doc_id", "align_key", "source_path", "line_start",
                "line_end", "title", "version")  # fmt: skip

CARD_READ_ATTEMPTS = 3


def _neighbour_rows(links: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """APPLIES_TO links ([a, a current, b, b current]) as each statement's current
    neighbours in either direction (what CorpusFacts.from_rows takes). Pairs, not the
    grouping, come from Neo4j: grouping 400,000 links there took twice as long."""
    out: dict[str, set[str]] = {}
    for a, a_current, b, b_current in links:
        if b_current:
            out.setdefault(a, set()).add(b)
        if a_current:
            out.setdefault(b, set()).add(a)
    return [{"key": k, "neighbours": list(v)} for k, v in out.items()]  # from_rows sorts


def _complete_card(row: dict[str, Any]) -> bool:
    return all(row[f] is not None for f in _CARD_FIELDS)


def straddles_a_write(rows: Sequence[dict[str, Any]]) -> bool:
    """Whether a card read saw a write half-way: a passage deleted under it, or passages of
    one document from two writes (every write restamps all of a document's passages,
    kg.writer.write_stamp)."""
    stamps: dict[str, set[str | None]] = {}
    for r in rows:
        if not _complete_card(r):
            return True
        stamps.setdefault(r["doc_id"], set()).add(r["written"])
    return any(len(s) > 1 for s in stamps.values())


def latest_write_only(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cards of each document's latest write, when reads kept straddling writes: one
    version of a document, never old text beside new (a graph written before stamps has
    none, which sorts first)."""
    latest: dict[str, str] = {}
    for r in rows:
        latest[r["doc_id"]] = max(latest.get(r["doc_id"], ""), r["written"] or "")
    return [r for r in rows if (r["written"] or "") == latest[r["doc_id"]]]


ReadObserver = Callable[[str, float], None]
"""Called after each read with (the Cypher text, seconds), failed reads included."""


class GraphReader:
    def __init__(
        self,
        driver: Driver,
        database: str,
        timeout: float = 10.0,
        observe: ReadObserver | None = None,
        on_unreachable: Callable[[], None] | None = None,
    ) -> None:
        self.driver = driver
        self.database = database
        self.timeout = timeout
        self.observe = observe
        self.on_unreachable = on_unreachable

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """`graph_errors`, telling `on_unreachable` when the server could not be reached."""
        try:
            with graph_errors():
                yield
        except GraphUnavailable as e:
            if e.unreachable and self.on_unreachable is not None:
                self.on_unreachable()
            raise

    def _read(self, cypher: str, **params: Any) -> list[dict[str, Any]]:
        t = time.perf_counter()
        try:
            with self._errors():
                records, _, _ = self.driver.execute_query(
                    Query(cypher, timeout=self.timeout),  # type: ignore[arg-type]
                    parameters_=params,
                    database_=self.database,
                    routing_="r",
                )
        finally:
            if self.observe is not None:
                self.observe(cypher, time.perf_counter() - t)
        # No named query returns a node or relationship (they return maps and values), so
        # the driver's recursive `Record.data()` transform would change nothing; it cost
        # seconds on the coverage report's embeddings and query log.
        return [dict(r.items()) for r in records]

    def _read_collected(self, cypher: str, **params: Any) -> list[Any]:
        """The maps of a query that returns them collected in one row (`rows`): the driver
        builds one record object per row, which cost 20 of the 25 s that 400,000 rows of
        statement links took at a million passages; one row of maps took 5 s."""
        rows = self._read(cypher, **params)
        return list(rows[0]["rows"]) if rows else []

    # --- retrieval --------------------------------------------------------------------
    def fulltext(self, index: str, query: str, flt: HitFilter, k: int) -> list[Hit]:
        if not query:
            return []
        fetch = flt.fetch(k, bool(flt.markets or flt.topic or flt.lang))
        try:
            rows = self._read(
                q.FULLTEXT_SEARCH, index=index, query=query, fetch=fetch, k=k, **flt.params()
            )
        except Neo4jError as e:
            # A query the Lucene parser still refuses is a miss, not a server error.
            if "ParseException" in str(e) or "TooManyClauses" in str(e):
                return []
            raise
        return _hits(rows)

    def vector(
        self, embedding: Sequence[float], lang: str, flt: HitFilter, k: int, second: bool = False
    ) -> list[Hit]:
        """Nearest passages in one language (see ontology.schema.VECTOR_INDEXES), in the
        second vector space when `second` (VECTOR2_INDEXES)."""
        fetch = flt.fetch(k, bool(flt.markets or flt.topic))
        rows = self._read(
            q.VECTOR_SEARCH,
            index=(VECTOR2_INDEXES if second else VECTOR_INDEXES)[lang].name,
            embedding=list(embedding),
            fetch=fetch,
            k=k,
            **flt.params(),
        )
        return _hits(rows)

    def resident_page(self, after: str, page: int, second: bool) -> list[dict[str, Any]]:
        """Up to `page` unretired passages with keys after `after`, in key order, with
        their vectors (the second space's too when `second`): kg.resident's load."""
        return self._read(q.RESIDENT_PASSAGES, after=after, page=page, second=second)

    def passage_fingerprint(self) -> str:
        """What the current passages' writes add up to (kg.resident_store checks a saved
        snapshot against it: an ingest killed midway wrote documents but no new stamp)."""
        row = self._read(q.PASSAGE_FINGERPRINT)[0]
        return f"{row['passages']}:{row['written']}"

    def resident_passages_of(self, doc_ids: Sequence[str], second: bool) -> list[dict[str, Any]]:
        """The unretired passages of these documents, as `resident_page` gives them."""
        return self._read(q.RESIDENT_PASSAGES_OF, ids=list(doc_ids), second=second)

    def document_writes(self) -> dict[str, tuple[int, str | None]]:
        """Per document: (unretired passages, stamp of its latest write)."""
        return {
            str(r["id"]): (int(r["passages"]), r["written"])
            for r in self._read_collected(q.DOCUMENT_WRITES)
        }

    def vector_identity(self) -> str:
        """Changes when the graph's vectors change wholesale (GraphMeta's models and epoch),
        not when a document is written (see document_writes)."""
        rows = self._read(q.VECTOR_IDENTITY)
        row = rows[0] if rows else {}
        return json.dumps([row.get("embedder"), row.get("second"), row.get("epoch")])

    def resident_documents(self) -> list[dict[str, Any]]:
        """Every document's id, status, markets and topic (kg.resident's filter)."""
        return self._read_collected(q.RESIDENT_DOCUMENTS)

    # --- details ----------------------------------------------------------------------
    def cards(
        self, keys: Sequence[str], as_of: dt.date
    ) -> tuple[dict[str, list[str]], dict[str, dict[str, Any]]]:
        """What the result cards show, in one read: each passage's twins in effect on
        `as_of` (the same unit in the other language), and the card fields of the passages
        and their twins, by key."""
        # Reads are read-committed: an ingest that commits while this read runs can show
        # some passages of a document as they were and others as they are now (old text
        # beside new), or a deleted passage with its properties gone. Read again then; the
        # write is over by the next read.
        for _ in range(CARD_READ_ATTEMPTS):
            rows = self._read(q.PASSAGE_CARDS, keys=list(keys), as_of=as_of)
            if not straddles_a_write(rows):
                break
        twins = {r["chosen"]: [k for k in r["twin_keys"] if k is not None] for r in rows}
        shown = latest_write_only([r for r in rows if _complete_card(r)])
        return twins, {r["key"]: r for r in shown}

    def twin_feedback(self, keys: Sequence[str], as_of: dt.date) -> list[TwinPassage]:
        """The other-language twins of the given passages, with their text and embedding."""
        rows = self._read(q.TWIN_FEEDBACK, keys=list(keys), as_of=as_of)
        return [
            TwinPassage(
                r["key"],
                r["twin_key"],
                r["lang"],
                r["text"] or "",
                tuple(float(x) for x in r["embedding"] or ()),
            )  # fmt: skip
            for r in rows
            if r["twin_key"] is not None  # deleted by an ingest meanwhile (see twins)
        ]

    def related(self, keys: Sequence[str], as_of: dt.date) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for r in self._read(q.RELATED_STATEMENTS, keys=list(keys), as_of=as_of):
            out.setdefault(r["key"], []).append(r)
        return out

    def document_passages(
        self,
        embeddings: dict[str, list[float]],
        doc_ids: Sequence[str],
        as_of: dt.date,
        means: Mapping[str, Sequence[float]] | None = None,
    ) -> dict[str, list[Hit]]:
        """All passages of the given documents, per language, by similarity to that
        language's query embedding; with `means`, centred (kg.centring)."""
        means = {  # a mean of another model's length would fail the whole read
            lang: list(m)
            for lang, m in (means or {}).items()
            if lang in embeddings and len(m) == len(embeddings[lang])
        }
        rows = self._read(
            q.DOCUMENT_PASSAGE_SIMILARITY,
            embeddings=embeddings, doc_ids=list(doc_ids), as_of=as_of, means=means,
        )  # fmt: skip
        out: dict[str, list[Hit]] = {lang: [] for lang in embeddings}
        for h in _hits(_centred(rows, embeddings, means) if means else rows):
            out[h.lang].append(h)
        return out

    def language_means(self, limit: int = MEAN_SAMPLE) -> dict[str, tuple[float, ...]]:
        """Each language's mean passage vector (first space), from about `limit` current
        passages spread over the store, all of them when there are fewer (kg.centring)."""
        out: dict[str, tuple[float, ...]] = {}
        for lang in LANGUAGES:
            mean = mean_vector(np.asarray(self._read_collected(q.LANGUAGE_VECTORS, lang=lang,
                                                                limit=limit)))  # fmt: skip
            if mean is not None:
                out[lang] = tuple(float(x) for x in mean)
        return out

    def statement_passages(
        self, keys: Sequence[str], as_of: dt.date, lang: str | None
    ) -> list[Hit]:
        return _hits(self._read(q.STATEMENT_PASSAGES, keys=list(keys), as_of=as_of, lang=lang))

    # --- browsing ---------------------------------------------------------------------
    def topic_exists(self, path: str) -> bool:
        rows = self._read(q.TOPIC_EXISTS, path=path)
        return bool(rows and rows[0]["ok"])

    def topics(self) -> list[dict[str, Any]]:
        return self._read(q.LIST_TOPICS)

    def glossary(self) -> list[dict[str, Any]]:
        return self._read(q.GLOSSARY)

    def corpora(self) -> list[dict[str, Any]]:
        """Each corpus ingested into the graph: its folder, last ingest, removal, and how
        many documents (active, retired), topics and glossary groups it has."""
        return self._read(q.CORPORA)

    def corpus_stamp(self) -> str | None:
        """Changes with every ingest that changes the graph (see GraphWriter.stamp_corpus);
        None before any."""
        rows = self._read(q.CORPUS_STAMP)
        return str(rows[0]["stamp"]) if rows and rows[0]["stamp"] is not None else None

    def corpus_facts(self) -> CorpusFacts:
        """The small facts every search consults, read at once (see kg.corpus_facts)."""
        return CorpusFacts.from_rows(
            self._read_collected(q.ALL_DOCUMENT_VERSIONS),
            self._read_collected(q.ALL_ILLUSTRATES),
            _neighbour_rows(self._read_collected(q.ALL_STATEMENT_NEIGHBOURS)),
            self._read_collected(q.ALL_SUPERSEDED),
            second_space=next((r["model"] for r in self._read(q.SECOND_SPACE)), None),
            language_means=self.language_means(),
        )

    def vocabulary(
        self, page: int = 20_000, stop: threading.Event | None = None
    ) -> dict[str, set[str]]:
        """The unretired passages' terms per language, keyed as the term sets of
        kg.analysis, read `page` passages at a time (`stop` set: no further page, the
        terms so far)."""
        terms: dict[str, set[str]] = {"ja": set(), "en": set()}
        after = ""
        while not (stop is not None and stop.is_set()) and (
            rows := self._read(q.VOCABULARY_PAGE, after=after, page=page)
        ):
            for r in rows:
                terms.setdefault(r["lang"], set()).update(r["terms"])
            after = rows[0]["last"]
        return {
            "ja": ja_field_term_set(" ".join(terms["ja"])),
            "en": en_field_term_set(" ".join(terms["en"])),
        }

    def learned_terms(self) -> list[dict[str, Any]]:
        """The bilingual term table learnt at ingest (ingest.termtable)."""
        return self._read(q.LEARNED_TERMS)

    def document(self, doc_id: str) -> dict[str, Any] | None:
        rows = self._read(q.DOCUMENT, id=doc_id)
        return rows[0] if rows else None

    def document_versions(self, doc_id: str) -> list[dict[str, Any]]:
        return self._read(q.DOCUMENT_VERSIONS, id=doc_id)

    def version_sections(self, version_key: str) -> list[dict[str, Any]]:
        return self._read(q.VERSION_SECTIONS, key=version_key)

    def statement(self, key: str) -> dict[str, Any] | None:
        rows = self._read(q.STATEMENT, key=key)
        return rows[0] if rows else None

    def ping(self) -> bool:
        return bool(self._read(q.PING))
