"""Passage vectors held in the process's memory: nearest neighbours without a round trip.

Neo4j's vector indexes answered a search's four dense reads in 50-60 ms each at 100,000
passages (HNSW: approximate, and filtered after it chooses its candidates), a third of a
search's time. The same vectors as one float32 matrix per vector index answer with one
matrix product in a few ms, filtered before the top k is taken: exactly, or for a large
space in two passes (its principal axes choose candidates that are scored exactly; see
COARSE_MIN_ROWS).

A snapshot belongs to one corpus stamp (GraphReader.corpus_stamp). The API loads one in the
background when the stamp moves and searches through Neo4j meanwhile
(search_api.deps.Runtime), so a search never sees vectors older than the facts it fuses
with. It answers with the rules of VECTOR_SEARCH's filter (kg.read_queries._HIT_FILTER) and
DOCUMENT_PASSAGE_SIMILARITY, and with their score, the index's (1 + cosine) / 2.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import compress
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt
from neo4j.exceptions import DriverError, Neo4jError
from threadpoolctl import threadpool_limits

from kg.centring import centred_cosine
from kg.errors import SopkgError
from kg.reader import GraphReader, Hit, HitFilter
from kg.temporal import to_date

if TYPE_CHECKING:  # kg.resident_store builds on this module's classes
    from kg.resident_store import ResidentStore

log = logging.getLogger("sopkg.resident")

PAGE = 2_000  # passages a read: 2,000 x 896 floats as driver objects is about 60 MB
OPEN_END = dt.date.max.toordinal()
MASKS_KEPT = 64  # document filters remembered (market x topic x hidden documents)

Floats = npt.NDArray[np.float32]
Ints = npt.NDArray[np.int32]


class VectorSearch(Protocol):
    """Dense retrieval: Neo4j's vector indexes (GraphReader) or a resident snapshot."""

    def vector(
        self, embedding: Sequence[float], lang: str, flt: HitFilter, k: int, second: bool = False
    ) -> list[Hit]: ...

    def document_passages(
        self,
        embeddings: dict[str, list[float]],
        doc_ids: Sequence[str],
        as_of: dt.date,
        means: Mapping[str, Sequence[float]] | None = None,
    ) -> dict[str, list[Hit]]:
        """All passages of the documents, per language, by similarity to that language's
        query embedding; with `means`, a language's mean is taken out of both sides first
        (kg.centring)."""
        ...


@dataclass(frozen=True)
class PassageInfo:
    key: str
    doc_id: str
    statement_key: str | None
    align_key: str
    statement_kind: str | None
    section_kind: str | None
    window: bool = False  # a window of a long passage (ingest.concepts.window_texts)


# A large space is searched in two passes: the product with its vectors on their first
# COARSE_DIMS principal axes (a quarter of the memory to read, and the product is
# memory-bound) chooses max(COARSE_CANDIDATES, COARSE_PER_HIT x k) rows, which are then
# scored exactly. Chosen on the 100,000-passage benchmark graph with dev's queries: the
# exact top 50 was found 99.96-99.98% of the time in e5's spaces and always in USE's, at
# 5-7 ms a read against 12-16 (docs/benchmarks.md). Smaller spaces are scored exactly.
COARSE_MIN_ROWS = 20_000
COARSE_DIMS = 96
COARSE_CANDIDATES = 2_000
COARSE_PER_HIT = 40
COARSE_SAMPLE = 8_000  # rows whose principal axes are computed


@dataclass(frozen=True)
class Coarse:
    """A space's vectors projected on their first principal axes."""

    basis: Floats  # (dim, r): the axes
    rows: Floats  # (n, r): each row's coordinates on them


def coarse_view(matrix: Floats) -> Coarse | None:
    """The first pass of a large space's search, None for a space searched exactly.

    Ranking by the projection needs no centring: a row's mean term is the same for every
    row of one query's ranking."""
    n, dim = matrix.shape
    if n < COARSE_MIN_ROWS or dim <= COARSE_DIMS:
        return None
    sample = matrix[np.random.default_rng(0).choice(n, min(n, COARSE_SAMPLE), replace=False)]
    _, _, axes = np.linalg.svd(sample - sample.mean(axis=0), full_matrices=False)
    basis = np.ascontiguousarray(axes[:COARSE_DIMS].T, dtype=np.float32)
    return Coarse(basis, np.ascontiguousarray(matrix @ basis, dtype=np.float32))


@dataclass(frozen=True)
class Space:
    """The passages of one vector index: row i of `matrix` is `info[i]`'s unit vector."""

    lang: str
    matrix: Floats  # (n, dim)
    doc: Ints  # document number of each row (ResidentVectors.doc_ids)
    effective: Ints  # date ordinals
    until: Ints  # date ordinals, OPEN_END when in effect indefinitely
    info: tuple[PassageInfo, ...]
    coarse: Coarse | None = None

    def in_effect(self, rows: Ints | slice, as_of: dt.date) -> npt.NDArray[np.bool_]:
        day = as_of.toordinal()
        return (self.effective[rows] <= day) & (self.until[rows] > day)  # type: ignore[no-any-return]


@dataclass
class _LangBuilder:
    """One language's passages as pages are read. What outlives a page is kept as numpy
    arrays and one JSON string per page, not as the driver's objects: those would sit among
    the page's hundreds of thousands of dead float objects and keep their memory from being
    given back (at 100,000 passages the process kept 600 MB more than its matrices)."""

    lang: str
    n: int = 0
    meta: list[str] = field(default_factory=list)  # per page: JSON of PassageInfo fields
    doc: list[Ints] = field(default_factory=list)
    effective: list[Ints] = field(default_factory=list)
    until: list[Ints] = field(default_factory=list)
    vectors: dict[bool, list[Floats]] = field(default_factory=lambda: {False: [], True: []})
    rows: dict[bool, list[Ints]] = field(default_factory=lambda: {False: [], True: []})

    def add(self, page: list[dict[str, Any]], docs: Mapping[str, int]) -> None:
        page = page + _window_rows(page)
        info = INFO_FIELDS[:-1]  # and whether it is a window: only _window_rows says so
        self.meta.append(json.dumps([[*(r[f] for f in info), "window" in r] for r in page]))
        self.doc.append(np.array([docs.get(r["doc_id"], -1) for r in page], np.int32))
        self.effective.append(_ordinals([r["effective"] for r in page]))
        self.until.append(_ordinals([r["valid_until"] for r in page]))
        # embedding2 is null when the load did not ask for the second space.
        for space, prop in ((False, "embedding"), (True, "embedding2")):
            have = [i for i, r in enumerate(page) if r[prop]]
            if have:
                self.vectors[space].append(np.array([page[i][prop] for i in have], np.float32))
                self.rows[space].append(np.array(have, np.int32) + self.n)
        self.n += len(page)

    def build(self, unknown_doc: int, coarse: bool = True) -> dict[bool, Space]:
        """The spaces read, by whether they are the second; `coarse=False` leaves out the
        first pass of a large space (a refresh computes it over the merged rows)."""
        info = [PassageInfo(*m) for page in self.meta for m in json.loads(page)]
        doc = np.concatenate(self.doc)
        doc[doc < 0] = unknown_doc  # a passage whose document is gone: never passes
        effective, until = np.concatenate(self.effective), np.concatenate(self.until)
        out: dict[bool, Space] = {}
        for space, pages in self.vectors.items():
            if not pages:
                continue
            matrix = np.concatenate(pages)
            pages.clear()
            norms = np.linalg.norm(matrix, axis=1, keepdims=True)
            matrix /= np.where(norms == 0, 1.0, norms)
            rows = np.concatenate(self.rows[space])
            out[space] = Space(
                self.lang, matrix, doc[rows], effective[rows], until[rows],
                tuple(info[i] for i in rows), coarse_view(matrix) if coarse else None,
            )  # fmt: skip
        return out


INFO_FIELDS = (
    "key", "doc_id", "statement_key", "align_key", "statement_kind", "section_kind", "window",
)  # fmt: skip


def _window_rows(page: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A row in the first space for each window of the page's long passages: the passage's
    fields with the window's vector (the `windows` property holds them one after the other,
    each as long as the passage's own)."""
    out = []
    for r in page:
        flat, own = r.get("windows"), r.get("embedding")
        if not flat or not own or len(flat) % len(own):
            continue
        dim = len(own)
        out += [
            {**r, "embedding": flat[i : i + dim], "embedding2": None, "window": True}
            for i in range(0, len(flat), dim)
        ]
    return out


def _ordinals(dates: Sequence[Any]) -> Ints:
    """Neo4j dates as day ordinals; no date (no end of validity) is OPEN_END."""
    return np.array([d.toordinal() if (d := to_date(x)) else OPEN_END for x in dates], np.int32)


def one_blas_thread() -> None:
    """Keep the process's BLAS (numpy's matrix products) on one thread.

    A search's product of the held vectors with the query is memory-bound: a second
    OpenBLAS thread hardly shortens it, and spins while it waits, on the core that the
    query embedding, Neo4j and the other searches need. Measured at 100,000 passages, one
    client, in-process: 285 -> 192 ms of CPU a search, dense stage 60 -> 37 ms
    (docs/benchmarks.md). Concurrent searches and the per-language reads give the
    parallelism instead. Process-wide, as BLAS's thread count is."""
    threadpool_limits(limits=1, user_api="blas")


@dataclass(frozen=True)
class Origin:
    """What a snapshot was read from, so that the next corpus stamp reads again only the
    documents written or retired since (refresh_resident)."""

    identity: str  # GraphReader.vector_identity: the models and the vectors' epoch
    writes: Mapping[str, tuple[int, str | None]]  # GraphReader.document_writes


class ResidentVectors:
    """One corpus stamp's passage vectors, both vector spaces, by language."""

    def __init__(
        self,
        stamp: str | None,
        documents: Sequence[Mapping[str, Any]],
        spaces: Mapping[tuple[bool, str], Space],
        second: bool = False,
        origin: Origin | None = None,
    ) -> None:
        self.stamp = stamp
        self.second = second  # whether the second space's vectors were read
        self.origin = origin  # None: a refresh reads the whole graph again
        self.documents = [dict(d) for d in documents]  # as read (kg.resident_store saves them)
        self.doc_ids = [str(d["id"]) for d in documents]
        self._doc_number = {d: i for i, d in enumerate(self.doc_ids)}
        # One more document, never active, for passages whose document row is missing.
        self._active = np.array([d["status"] == "active" for d in documents] + [False])
        self._markets = [tuple(d["markets"] or ()) for d in documents] + [()]
        self._topics = [str(d["topic"] or "") for d in documents] + [""]
        self.spaces = dict(spaces)
        # Window rows per space, in one pass: a passage may fill several rows of a ranking
        # in a space that has some, and `passages` counts passages, not rows.
        windows = {key: sum(p.window for p in s.info) for key, s in self.spaces.items()}
        self._windowed = {key for key, n in windows.items() if n}
        self._passages = sum(
            len(s.info) - windows[key] for key, s in self.spaces.items() if not key[0]
        )
        one_blas_thread()
        self._masks: dict[tuple[Any, ...], npt.NDArray[np.bool_]] = {}
        self._lock = threading.Lock()
        # The second stage's reads: each document's rows, per language, in the first space.
        self._doc_rows: dict[tuple[str, int], Ints] = {}
        for (second, lang), space in self.spaces.items():
            if second:
                continue
            order = np.argsort(space.doc, kind="stable").astype(np.int32)
            bounds = np.flatnonzero(np.diff(space.doc[order])) + 1
            for rows in np.split(order, bounds):
                if rows.size:
                    self._doc_rows[(lang, int(space.doc[rows[0]]))] = rows

    @property
    def passages(self) -> int:
        return self._passages

    @property
    def nbytes(self) -> int:
        return sum(
            s.matrix.nbytes + (s.coarse.rows.nbytes + s.coarse.basis.nbytes if s.coarse else 0)
            for s in self.spaces.values()
        )

    def _doc_mask(self, flt: HitFilter) -> npt.NDArray[np.bool_]:
        """Documents a hit may come from: active, in the markets and topic, not hidden."""
        key = (tuple(flt.markets or ()), flt.topic, flt.hidden_docs)
        with self._lock:
            cached = self._masks.get(key)
        if cached is not None:
            return cached
        mask = self._active.copy()
        if flt.markets:
            wanted = set(flt.markets)
            mask &= np.array([any(m in wanted for m in ms) for ms in self._markets])
        if flt.topic:
            prefix = flt.topic + "/"
            mask &= np.array([t == flt.topic or t.startswith(prefix) for t in self._topics])
        for doc_id in flt.hidden_docs:
            if (n := self._doc_number.get(doc_id)) is not None:
                mask[n] = False
        with self._lock:
            if len(self._masks) >= MASKS_KEPT:
                self._masks.clear()
            self._masks[key] = mask
        return mask

    def vector(
        self, embedding: Sequence[float], lang: str, flt: HitFilter, k: int, second: bool = False
    ) -> list[Hit]:
        space = self.spaces.get((second, lang))
        if space is None or not space.info or (flt.lang is not None and flt.lang != lang):
            return []
        keep = self._doc_mask(flt)[space.doc] & space.in_effect(slice(None), flt.as_of)
        rows = np.flatnonzero(keep).astype(np.int32)
        return self._ranked(space, rows, embedding, k, (second, lang) in self._windowed)

    def document_passages(
        self,
        embeddings: dict[str, list[float]],
        doc_ids: Sequence[str],
        as_of: dt.date,
        means: Mapping[str, Sequence[float]] | None = None,
    ) -> dict[str, list[Hit]]:
        out: dict[str, list[Hit]] = {}
        for lang, embedding in embeddings.items():
            space = self.spaces.get((False, lang))
            parts = [
                self._doc_rows.get((lang, self._doc_number.get(d, -1)), np.zeros(0, np.int32))
                for d in dict.fromkeys(doc_ids)
            ]
            rows = np.concatenate(parts) if parts else np.zeros(0, np.int32)
            if space is None or not rows.size:
                out[lang] = []
                continue
            rows = rows[space.in_effect(rows, as_of)]
            mean = (means or {}).get(lang)
            out[lang] = self._ranked(
                space, rows, embedding, rows.size, (False, lang) in self._windowed,
                None if mean is None else np.asarray(mean, dtype=np.float32),
            )  # fmt: skip
        return out

    def _ranked(
        self,
        space: Space,
        rows: Ints,
        embedding: Sequence[float],
        k: int,
        windowed: bool = False,
        mean: Floats | None = None,
    ) -> list[Hit]:
        """The `k` passages of `rows` nearest the query, best first; with `windowed`, a
        passage's score is that of its best row (itself or one of its windows); with
        `mean`, the centred cosine (kg.centring)."""
        query = np.asarray(embedding, dtype=np.float32)
        norm = float(np.linalg.norm(query))
        if not rows.size or k <= 0 or norm == 0 or query.shape[0] != space.matrix.shape[1]:
            return []
        unit = query / norm
        wanted = max(COARSE_CANDIDATES, COARSE_PER_HIT * k)
        if space.coarse is not None and rows.size > 2 * wanted:
            projected = np.asarray(unit @ space.coarse.basis, dtype=np.float32)
            first = _product(space.coarse.rows, rows, projected)
            rows = np.sort(rows[np.argpartition(-first, wanted - 1)[:wanted]])
        cosine = _product(space.matrix, rows, unit)
        if mean is not None and mean.shape == unit.shape:
            pm = _product(space.matrix, rows, mean)
            cosine = centred_cosine(cosine, float(unit @ mean), pm, float(mean @ mean))
        take = min(cosine.size, WINDOW_FETCH * k if windowed else k)
        while True:
            top = _top(cosine, take)
            hits: list[Hit] = []
            seen: set[str] = set()
            for i in top:
                key = space.info[int(rows[i])].key
                if key not in seen:
                    seen.add(key)
                    hits.append(self._hit(space, int(rows[i]), (1.0 + float(cosine[i])) / 2.0))
                    if len(hits) == k:
                        return hits
            if take >= cosine.size:
                return hits
            take = min(cosine.size, 2 * take)

    def _hit(self, space: Space, row: int, score: float) -> Hit:
        p = space.info[row]
        return Hit(
            p.key, score, space.lang, p.doc_id, p.statement_key, p.align_key,
            p.statement_kind, self._markets[int(space.doc[row])], p.section_kind,
        )  # fmt: skip


# Rows first taken for a ranking of k passages in a space with windows (each long passage
# has a few rows); more are taken when they hold fewer than k passages.
WINDOW_FETCH = 4


def _top(scores: Floats, n: int) -> npt.NDArray[np.intp]:
    """Positions of the n highest scores, highest first."""
    top = np.argpartition(-scores, n - 1)[:n] if n < scores.size else np.arange(scores.size)
    return top[np.argsort(-scores[top], kind="stable")]  # type: ignore[no-any-return]


def _product(matrix: Floats, rows: Ints, vector: Floats) -> Floats:
    """matrix[rows] @ vector, by the cheaper way."""
    if rows.size < matrix.shape[0] // 2:  # a few rows: copying them beats the whole product
        return matrix[rows] @ vector  # type: ignore[no-any-return]
    return (matrix @ vector)[rows]  # type: ignore[no-any-return]


class TooManyPassages(Exception):
    """The graph holds more passages than the process may keep (SOPKG_RESIDENT_VECTORS_MAX)."""


def _log_refused(e: TooManyPassages) -> None:
    log.info("passage vectors not held in memory: %s (SOPKG_RESIDENT_VECTORS_MAX)", e)


def load_resident(
    reader: GraphReader, second: bool, max_passages: int, page: int = PAGE
) -> ResidentVectors | None:
    """The graph's unretired passages and their vectors, or None when an ingest changed
    the corpus while they were read (the caller loads again for the new stamp).

    Raises TooManyPassages past `max_passages`."""
    stamp = reader.corpus_stamp()
    # Read before the passages: a document written meanwhile is then recorded older than
    # its rows and read again at the next refresh, never the other way round.
    origin = Origin(reader.vector_identity(), reader.document_writes())
    documents = reader.resident_documents()
    numbers = {str(d["id"]): i for i, d in enumerate(documents)}
    builders: dict[str, _LangBuilder] = {}
    after, count = "", 0
    while rows := reader.resident_page(after, page, second):
        count += len(rows)
        if count > max_passages:
            raise TooManyPassages(f"more than {max_passages} passages")
        _add_rows(builders, rows, numbers)
        after = rows[-1]["key"]
        del rows
    if reader.corpus_stamp() != stamp:
        return None
    spaces = _built(builders, len(documents))
    return ResidentVectors(stamp, documents, spaces, second, origin)


def _add_rows(
    builders: dict[str, _LangBuilder], rows: list[dict[str, Any]], numbers: Mapping[str, int]
) -> None:
    """Rows read from the graph (any languages) into their language's builder."""
    for lang in sorted({r["lang"] for r in rows}):
        builder = builders.setdefault(lang, _LangBuilder(lang))
        builder.add([r for r in rows if r["lang"] == lang], numbers)


def _built(
    builders: Mapping[str, _LangBuilder], documents: int, coarse: bool = True
) -> dict[tuple[bool, str], Space]:
    """The builders' spaces, keyed (second space?, language)."""
    return {
        (space, lang): built
        for lang, builder in builders.items()
        for space, built in builder.build(documents, coarse).items()
    }


# Past this share of the passages written since a snapshot, reading the whole graph again
# costs little more than the refresh, and needs no second copy in memory while it runs.
REFRESH_MAX_SHARE = 0.5
REFRESH_DOCUMENTS = 200  # documents whose passages one refresh read asks for
# A refresh holds the old snapshot and the new one at once: it runs only when the system
# has this many times the old one's vectors free, and reads the whole graph otherwise.
REFRESH_MEMORY_FACTOR = 1.5


class FullLoad(Exception):
    """A snapshot cannot be brought up to date by reading only what changed (the reason)."""


def available_memory() -> int | None:
    """Bytes the system can give without swapping (Linux's MemAvailable); None elsewhere."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def refresh_resident(
    previous: ResidentVectors, reader: GraphReader, second: bool, max_passages: int
) -> ResidentVectors | None:
    """`previous` brought up to the graph's corpus stamp by reading again only the
    documents written or retired since it was read (their passages' count or latest write
    stamp moved); the others' rows are kept. None when an ingest changed the corpus while
    it ran, as load_resident. Raises FullLoad when the whole graph must be read instead
    (the vectors changed wholesale, most documents changed, or memory is short), and
    TooManyPassages past `max_passages`.

    A whole read takes 43 s at 100,000 passages and 5-13 minutes at a million, during which
    searches go through Neo4j's slower indexes; after a one-document ingest this took
    1.1-1.7 s and 13-19 s (docs/benchmarks.md, "An ingest at scale")."""
    origin = previous.origin
    if origin is None:
        raise FullLoad("the snapshot does not record its documents' writes")
    if previous.second != second:
        raise FullLoad("the other vector spaces are asked for")
    stamp = reader.corpus_stamp()
    identity = reader.vector_identity()
    if identity != origin.identity:
        raise FullLoad("the graph's vectors changed wholesale (re-embedded, or a space filled)")
    writes = reader.document_writes()
    changed = {d for d in writes.keys() | origin.writes.keys()
               if writes.get(d) != origin.writes.get(d)}  # fmt: skip
    total = sum(n for n, _ in writes.values())
    if total > max_passages:
        raise TooManyPassages(f"more than {max_passages} passages")
    moved = sum(writes[d][0] for d in changed if d in writes)
    if moved > REFRESH_MAX_SHARE * total:
        raise FullLoad(f"{moved} of {total} passages written since")
    free = available_memory()
    if free is not None and free < REFRESH_MEMORY_FACTOR * previous.nbytes:
        raise FullLoad(f"{free >> 20} MB free, too little to hold a second copy meanwhile")
    # The documents in the old snapshot's order, new ones after: the rows of a space that no
    # change touched keep their numbers, and the space is kept as it is (not copied).
    read = {str(d["id"]): d for d in reader.resident_documents()}
    order = [d for d in previous.doc_ids if d in read]
    order += [d for d in read if d not in previous._doc_number]
    documents = [read[d] for d in order]
    numbers = {d: i for i, d in enumerate(order)}
    builders: dict[str, _LangBuilder] = {}
    wanted = sorted(changed & writes.keys())
    for start in range(0, len(wanted), REFRESH_DOCUMENTS):
        rows = reader.resident_passages_of(wanted[start : start + REFRESH_DOCUMENTS], second)
        _add_rows(builders, rows, numbers)
    if reader.corpus_stamp() != stamp:
        return None
    fresh = _built(builders, len(documents), coarse=False)
    unknown = len(documents)  # the new snapshot's document for passages without one
    renumber = np.array([numbers.get(d, unknown) for d in previous.doc_ids] + [unknown], np.int32)
    spaces = {}
    for key in sorted(previous.spaces.keys() | fresh.keys()):
        old = previous.spaces.get(key)
        kept = _kept(old, previous, changed, renumber) if old is not None else None
        merged = _merged(kept, fresh.get(key))
        if merged is not None:
            spaces[key] = merged
    log.info(
        "passage vectors brought up to date: %d documents changed (%d passages read), "
        "%d kept", len(changed), sum(len(s.info) for (sec, _), s in fresh.items() if not sec),
        len(documents) - len(changed),
    )  # fmt: skip
    return ResidentVectors(stamp, documents, spaces, second, Origin(identity, writes))


def _kept(old: Space, previous: ResidentVectors, changed: set[str], renumber: Ints) -> Space:
    """The rows of `old` whose documents did not change, numbered as the new snapshot's
    (without a first pass: _merged computes it for the merged rows), or `old` itself when
    nothing in it changed."""
    unknown = len(previous.doc_ids)
    drop = np.zeros(unknown + 1, dtype=bool)
    for doc_id in changed:
        if (n := previous._doc_number.get(doc_id)) is not None:
            drop[n] = True
    gone = drop[old.doc]
    for row in np.flatnonzero(old.doc == unknown):  # rows read without their document
        gone[row] = old.info[row].doc_id in changed
    keep = ~gone
    doc = renumber[old.doc]
    if keep.all() and np.array_equal(doc, old.doc):
        return old  # untouched: kept as it is, its pages shared if they were mapped
    return Space(
        old.lang, old.matrix[keep], doc[keep], old.effective[keep], old.until[keep],
        tuple(compress(old.info, keep)),
    )  # fmt: skip


def _merged(kept: Space | None, fresh: Space | None) -> Space | None:
    """One space of kept rows and rows read again. A large space's first pass is computed
    anew, axes included: new documents may bring directions the old axes miss, and rows far
    from the axes' span would be missed by the first pass; it costs a sample's SVD and one
    product."""
    spaces = [s for s in (kept, fresh) if s is not None and s.info]
    if not spaces:
        return None
    if len(spaces) == 1 and (spaces[0].coarse is not None or len(spaces[0].info) < COARSE_MIN_ROWS):
        return spaces[0]  # its first pass is there, or it needs none
    matrix = np.concatenate([s.matrix for s in spaces]) if len(spaces) > 1 else spaces[0].matrix
    return Space(
        spaces[0].lang, matrix, np.concatenate([s.doc for s in spaces]),
        np.concatenate([s.effective for s in spaces]), np.concatenate([s.until for s in spaces]),
        tuple(i for s in spaces for i in s.info), coarse_view(matrix),
    )  # fmt: skip


def hold(reader: GraphReader, second: bool, max_passages: int) -> ResidentVectors | None:
    """`load_resident`, or None when the graph is larger than the process may hold (it is
    then searched through Neo4j's vector indexes)."""
    if max_passages <= 0:
        return None
    try:
        return load_resident(reader, second, max_passages)
    except TooManyPassages as e:
        _log_refused(e)
        return None


def lowest_cpu_priority() -> None:
    """Give the calling thread the lowest CPU priority (nice 19; Linux's is per thread),
    so a search takes the cores before it. Without privileges a thread's priority cannot
    be raised again: only a thread that ends with its work calls this (the load thread, to
    save a snapshot: searches during a save at 100,000 passages, p95 263-265 ms against
    318-334 without it; docs/benchmarks.md). Elsewhere it does nothing."""
    if sys.platform != "linux":
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except OSError as e:  # a sandbox may refuse it: the save runs as it did
        log.debug("thread priority not lowered: %s", e)


class Resident:
    """A server's snapshot: searched while it matches the corpus stamp the server knows,
    dropped when the stamp moves, and loaded again in the background meanwhile."""

    RETRY_SECONDS = 30.0  # after a failed load, or one the corpus moved under

    def __init__(
        self,
        max_passages: int,
        reader: Callable[[], GraphReader],
        after_load: Callable[[], object] | None = None,
        store: ResidentStore | None = None,
    ) -> None:
        """`after_load` runs after each load, loaded or not: the server gives the memory
        the read freed back to the system there (search_api.memory). `store` keeps each
        snapshot read from the graph on disk and gives it back at the next start
        (kg.resident_store), instead of reading the graph again."""
        self.max_passages = max_passages
        self._reader = reader
        self._after_load = after_load
        self._store = store
        self._lock = threading.Lock()
        self._loaded = threading.Condition(self._lock)  # a load ended, loaded or not
        self._snapshot: ResidentVectors | None = None
        # The last snapshot searched, kept after its stamp moved until the next one is
        # loaded: a refresh reads again only what changed since it (refresh_resident).
        self._previous: ResidentVectors | None = None
        self._loading = False
        self._closed = False
        self._refused: set[str | None] = set()  # stamps whose graph was too large
        self._failed: dict[str | None, float] = {}  # stamp -> when its load failed

    def for_stamp(self, stamp: str | None, second: bool) -> ResidentVectors | None:
        """The snapshot of `stamp` (with the second space's vectors when `second`) if held;
        else None, and a load starts unless one runs or this stamp cannot be held."""
        if self.max_passages <= 0:
            return None
        with self._lock:
            snap = self._snapshot
            if snap is not None and snap.stamp == stamp and snap.second == second:
                return snap
            if snap is not None:  # stale: no longer searched, but the next load starts from it
                self._previous, self._snapshot = snap, None
            failed = self._failed.get(stamp)
            if (
                self._loading
                or self._closed
                or stamp in self._refused
                or (failed is not None and time.monotonic() - failed < self.RETRY_SECONDS)
            ):
                return None
            self._loading = True
        threading.Thread(
            target=self._load, args=(stamp, second), name="sopkg-resident", daemon=True
        ).start()
        return None

    def wait(self, timeout: float) -> None:
        """Until the load under way ends, at most `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._loading and (left := deadline - time.monotonic()) > 0:
                self._loaded.wait(left)

    def _load(self, stamp: str | None, second: bool) -> None:
        snap: ResidentVectors | None = None
        t = time.perf_counter()
        source = "Neo4j"
        try:
            reader = self._reader()
            if self._store is None:
                snap, source = self._read(reader, second)
            else:
                snap, source = self._load_shared(self._store, reader, stamp, second)
        except TooManyPassages as e:
            _log_refused(e)
            with self._lock:
                self._refused.add(stamp)
                self._previous = None
        except (SopkgError, Neo4jError, DriverError, ValueError) as e:
            # ValueError: vectors of two lengths in one index (a graph half re-embedded).
            log.warning("passage vectors not loaded, searching Neo4j's indexes: %s", e)
        finally:
            with self._lock:
                self._loading = False
                if snap is not None and not self._closed:
                    self._snapshot, self._previous = snap, None
                    self._failed.pop(stamp, None)
                elif stamp not in self._refused:
                    self._failed[stamp] = time.monotonic()
                self._loaded.notify_all()
            if self._after_load is not None:
                self._after_load()
        if snap is not None:
            log.info(
                "passage vectors in memory: %d passages, %.0f MB, read from %s in %.1f s",
                snap.passages, snap.nbytes / 2**20, source, time.perf_counter() - t,
            )  # fmt: skip

    def _load_shared(
        self, store: ResidentStore, reader: GraphReader, stamp: str | None, second: bool
    ) -> tuple[ResidentVectors | None, str]:
        """The snapshot from the store, or read from the graph by one process at a time and
        saved, so the other workers waiting meanwhile map the save and share it.
        (snapshot, where it came from)."""
        fingerprint = reader.passage_fingerprint()
        snap = self._saved(stamp, second, fingerprint)
        if snap is not None:
            return snap, "disk"
        with store.reading(stop=lambda: self._closed) as mine:
            if not mine:
                return None, "nowhere (closed)"
            snap = self._saved(stamp, second, fingerprint)  # saved while this one waited
            if snap is not None:
                return snap, "disk, saved by another worker"
            snap, source = self._read(reader, second)
            # Saved only if no write came while it was read.
            if snap is None or reader.passage_fingerprint() != fingerprint:
                return snap, source
            self._install(snap)  # searched while it is saved: a write takes a while
            lowest_cpu_priority()  # what is left here must not take the cores from searches
            store.save(snap, fingerprint)
            # This worker keeps the copy it read rather than swap it for the mapped save:
            # mapping anew parses the passages' fields again and holds two copies for a
            # while, which at a million passages slowed searches (docs/benchmarks.md,
            # "Workers share one copy").
            return snap, source

    def _read(self, reader: GraphReader, second: bool) -> tuple[ResidentVectors | None, str]:
        """A snapshot from the graph: the previous one brought up to date when it can be,
        else the whole graph read. (snapshot, where it came from)."""
        with self._lock:
            previous = self._previous
        if previous is not None:
            try:
                return refresh_resident(previous, reader, second, self.max_passages), (
                    "Neo4j, the documents written since the last snapshot"
                )
            except FullLoad as e:
                log.info("passage vectors read again in full: %s", e)
            with self._lock:
                self._previous = None
            del previous  # its memory goes before the whole graph is read
        return load_resident(reader, second, self.max_passages), "Neo4j"

    def _install(self, snap: ResidentVectors) -> None:
        with self._lock:
            if not self._closed:
                self._snapshot, self._previous = snap, None

    def _saved(self, stamp: str | None, second: bool, fingerprint: str) -> ResidentVectors | None:
        """The store's snapshot of `stamp`, unless it holds more than the limit allows."""
        if self._store is None:
            return None
        snap = self._store.load(stamp, second, fingerprint)
        return snap if snap is not None and snap.passages <= self.max_passages else None

    def held(self) -> tuple[int, int]:
        """Passages and bytes of vectors held now (0, 0 while none is)."""
        with self._lock:
            snap = self._snapshot
        return (snap.passages, snap.nbytes) if snap is not None else (0, 0)

    def describe(self) -> str:
        """For /readyz: what dense search runs on."""
        if self.max_passages <= 0:
            return "off: Neo4j's vector indexes"
        with self._lock:
            snap, loading, refused = self._snapshot, self._loading, bool(self._refused)
        if snap is not None:
            return f"{snap.passages} passages in memory"
        if loading:
            return "loading: Neo4j's vector indexes meanwhile"
        if refused:
            return f"more than {self.max_passages} passages: Neo4j's vector indexes"
        return "not loaded: Neo4j's vector indexes"

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._snapshot = self._previous = None
