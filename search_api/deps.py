"""What the routes depend on: the runtime (driver, embedder, glossary), and the input
checks that need the graph or the settings (shared with `sopkg search`).

The driver is created on first use and kept: the Neo4j driver reconnects by itself, so
the API answers 503 while Neo4j is away and recovers when it returns. Once a request has
found Neo4j unreachable, graph requests are answered 503 at once (not after the driver's
connection retries) until a background probe reaches the server again and has warmed it
with one search per language, so the first clients after a restart do not each pay the
server's cold start (query planning, index readers, JIT) at once. The glossary, the
terms learned from the corpus and the corpus facts every search consults
(kg.corpus_facts) are read from the graph on first use and again whenever the graph's
corpus stamp changes: every ingest that changes the graph, from the API or from
`sopkg ingest` in another process, sets a new stamp, and a running server checks it at most every
SOPKG_CORPUS_CHECK_SECONDS.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Request
from neo4j import Driver
from neo4j.exceptions import DriverError, Neo4jError

from kg.connection import resolve_connection
from kg.corpus_facts import CorpusFacts
from kg.coverage import CoverageReader
from kg.embedders import Embedder
from kg.errors import ConfigError, EmbedderMismatch, GraphUnavailable, SopkgError
from kg.reader import GraphReader, ReadObserver
from kg.resident import Resident, VectorSearch
from kg.resident_store import ResidentStore
from kg.schema import EmbedderInfo, check_embedder, schema_ready
from kg.settings import Settings
from kg.vocabulary_store import read_vocabulary, vocabulary_store
from search_api.dictionary import Vocabulary
from search_api.expansion import Glossary, corpus_glossary
from search_api.fusion import served_fusion
from search_api.gloss_vectors import TermVectors
from search_api.memory import release_free_memory
from search_api.models import Check, ReadyResponse
from search_api.querylog import QueryLogger
from search_api.result_cache import ResultCache
from search_api.retrieval import Retriever, SearchOutcome, SearchParams
from search_api.shared_build import SharedBuild

if TYPE_CHECKING:
    from search_api.coverage.report import CoverageReport

log = logging.getLogger("sopkg.api")

PROBE_SECONDS = 0.5  # how often an unreachable graph is tried again
WARM_UP_QUERIES = ("warm up the search", "検索の準備")  # one per language: both paths planned

Held = tuple[Glossary, CorpusFacts, VectorSearch | None]
"""What a search's outcome depends on besides its parameters and the day."""

IngestRunner = Callable[[Path], Mapping[str, Any]]
"""Runs `ingest.pipeline.ingest_corpus` on a folder and returns its summary as JSON data.
Injected by the composition root (the CLI): search_api does not import `ingest`."""

CorpusRemover = Callable[[str], Mapping[str, Any]]
"""Runs `ingest.pipeline.remove_corpus` on a corpus name and returns its summary as JSON
data (raises NotFound for a name the graph does not hold); injected beside the runner."""


class Runtime:
    """The app's heavy resources, created once per app (see `create_app`'s lifespan)."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        ingest_runner: IngestRunner | None = None,
        second: Embedder | None = None,
        resident: bool = False,
        corpus_remover: CorpusRemover | None = None,
    ) -> None:
        """`resident`: hold the passage vectors in memory (kg.resident) when the settings
        allow; for a server, not for a one-shot command."""
        self.settings = settings
        self.embedder = embedder
        self.second = second  # the second vector space's model (kg.embedders)
        self.fusion = served_fusion(settings)
        self.terms = TermVectors(embedder)  # glossary words' vectors, kept across searches
        self.ingest_runner = ingest_runner
        self.corpus_remover = corpus_remover
        self.embedder_error: str | None = "not loaded yet"
        self._lock = threading.Lock()
        self._reload_lock = threading.Lock()
        self.ingest_lock = threading.Lock()
        self._driver: Driver | None = None
        self._database = settings.neo4j_database
        self._glossary: Glossary | None = None
        self._facts: CorpusFacts | None = None
        self._corpus_stamp: str | None = None
        self._stamp_checked = 0.0
        self._vocab_threads: list[threading.Thread] = []  # background vocabulary reads
        self.resident = Resident(
            settings.resident_vectors_max if resident else 0,
            self._report_reader,
            release_free_memory,  # the read's driver objects: twice the matrices at peak
            ResidentStore(settings.state_dir / "resident") if settings.resident_cache else None,
        )
        self.vocabulary_store = vocabulary_store(settings)
        self.query_log = QueryLogger(settings.query_log_max, self.driver)
        self.results: ResultCache[SearchOutcome] | None = (
            ResultCache(settings.result_cache_size) if settings.result_cache_size else None
        )
        # One coverage report built at a time, shared by the owners who ask meanwhile
        # (search_api.shared_build). Ingests and acknowledgements show at once, whichever
        # process made them; another process's feedback within corpus_check_seconds.
        self.coverage_reports: SharedBuild[CoverageReport] = SharedBuild(
            settings.corpus_check_seconds
        )
        self.feedback_given = 0  # by this process: a report may lag it by one build
        self._unreachable = threading.Event()
        self._closing = threading.Event()
        self.read_observer: ReadObserver | None = None  # set by the metrics (app factory)

    # --- resources --------------------------------------------------------------------
    def warm_embedder(self) -> None:
        """Load the model now rather than on the first query."""
        try:
            self.embedder.embed_queries(["warm up"])
            self.embedder_error = None
        except ConfigError as e:
            self.embedder_error = str(e)
            log.error("embedder not loaded: %s", e)
        if self.second is not None:
            try:
                self.second.embed_queries(["warm up"])
            except ConfigError as e:
                # Search goes on in the first vector space alone, as it would without one.
                log.error("second embedder not loaded, searching without it: %s", e)
                self.second = None

    def driver(self) -> tuple[Driver, str]:
        self._fail_fast()
        return self._connect()

    def _fail_fast(self) -> None:
        if self._unreachable.is_set():
            raise GraphUnavailable("Neo4j is not reachable (reconnecting)")

    def _connect(self) -> tuple[Driver, str]:
        with self._lock:
            if self._driver is None:
                conn = resolve_connection(self.settings)
                self._driver = conn.driver(retry_seconds=1.0)
                self._database = conn.database
            return self._driver, self._database

    def reader(self) -> GraphReader:
        self._fail_fast()
        return self._reader()

    def coverage_reader(self) -> CoverageReader:
        driver, database = self.driver()
        return CoverageReader(
            driver,
            database,
            timeout=self.settings.report_timeout_seconds,
            on_unreachable=self.graph_unreachable,
        )

    def _reader(self, timeout: float | None = None) -> GraphReader:
        """The reader even while the graph is marked unreachable (the probe, the warm-up);
        a read that cannot reach the server marks it so, whichever interface asked."""
        driver, database = self._connect()
        return GraphReader(
            driver,
            database,
            timeout=timeout or self.settings.read_timeout_seconds,
            observe=self.read_observer,
            on_unreachable=self.graph_unreachable,
        )

    # --- an unreachable graph: fail fast, probe, warm up ----------------------------------
    def graph_unreachable(self) -> None:
        """A request found Neo4j unreachable: fail fast until the probe reaches it again."""
        with self._lock:
            if self._unreachable.is_set() or self._closing.is_set():
                return
            self._unreachable.set()
        threading.Thread(target=self._probe, name="sopkg-graph-probe", daemon=True).start()
        log.warning("Neo4j unreachable: answering 503 until it is back")

    def _probe(self) -> None:
        while not self._closing.wait(PROBE_SECONDS):
            try:
                self._reader().ping()
            except GraphUnavailable:
                continue
            self.warm_up()
            break
        self._unreachable.clear()
        log.info("Neo4j reachable again")

    def warm_up(self) -> None:
        """One search per language, answers discarded: plans the read queries and opens
        the indexes. Best effort: a graph without indexes yet is no reason to stay down."""

        def search(text: str) -> None:
            try:
                self._retriever(self._reader()).search(SearchParams(query=text))
            except (SopkgError, Neo4jError, DriverError) as e:
                log.info("warm-up search skipped: %s", e)

        # Side by side: a cold server plans each query slowly, on one core each.
        with ThreadPoolExecutor(len(WARM_UP_QUERIES), thread_name_prefix="sopkg-warm") as pool:
            list(pool.map(search, WARM_UP_QUERIES))

    def refresh_corpus_data(self, force: bool = False) -> None:
        """Reload the glossary when the graph's corpus stamp moved (an ingest happened,
        maybe in another process); reads the stamp at most every corpus_check_seconds."""
        if self._glossary is not None and self._fresh() and not force:
            return
        # One reload at a time: the searches that arrive meanwhile wait for it rather than
        # each reading the facts again (seconds on a large graph).
        with self._reload_lock:
            if self._glossary is not None and self._fresh() and not force:
                return
            # Read once per corpus change and shared by every search, like a report: on a
            # large graph (a million passages) the corpus facts take seconds.
            reader = self._report_reader()
            stamp = reader.corpus_stamp()
            self._stamp_checked = time.monotonic()
            if self._glossary is not None and stamp == self._corpus_stamp and not force:
                return
            # The vocabulary that filters the dictionary is read here only on the first load:
            # after an ingest it is read again in the background (seconds at 100,000
            # passages, half a minute at a million), the searches meanwhile filtering with
            # the one before.
            previous = self._glossary.vocabulary if self._glossary is not None else None
            glossary = corpus_glossary(
                reader, self.settings.dictionary, previous, self.vocabulary_store
            )
            facts = reader.corpus_facts()
            with self._lock:
                self._glossary, self._facts, self._corpus_stamp = glossary, facts, stamp
        log.info("corpus data loaded (stamp %s)", stamp)
        if previous is not None and glossary.dictionary is not None:
            thread = threading.Thread(
                target=self._refresh_vocabulary, args=(stamp,), name="sopkg-vocab", daemon=True
            )
            with self._lock:
                self._vocab_threads = [t for t in self._vocab_threads if t.is_alive()]
                self._vocab_threads.append(thread)
            thread.start()
        if self.fusion.gloss_vectors > 0:
            threading.Thread(
                target=self._embed_glossary, args=(glossary,), name="sopkg-gloss", daemon=True
            ).start()

    def _refresh_vocabulary(self, stamp: str | None) -> None:
        """The graph's vocabulary read again after a corpus change, swapped in unless the
        corpus changed again meanwhile (that change's own refresh follows). Best effort:
        on failure the searches keep filtering with the vocabulary before."""
        try:
            terms = read_vocabulary(self._report_reader(), self.vocabulary_store, self._closing)
        except Exception as e:  # a background thread: report, never die with a traceback
            log.warning("vocabulary not read again: %s", e)
            return
        with self._lock:
            current = self._swappable(stamp)
            dictionary = self._glossary.dictionary if self._glossary is not None else None
        if not current:
            return  # no phrase index (a second's work) for a vocabulary never swapped in
        vocabulary = Vocabulary.from_rows(**terms, dictionary=dictionary)
        with self._lock:
            if not self._swappable(stamp):
                return
            assert self._glossary is not None  # _swappable checked it
            self._glossary = self._glossary.with_vocabulary(vocabulary)
        log.info("vocabulary read again (stamp %s)", stamp)

    def _swappable(self, stamp: str | None) -> bool:
        """Whether a vocabulary read for `stamp` may replace the current one (called under
        the lock): not while closing (a read stopped between pages is partial), nor after
        a newer corpus change (whose own refresh follows)."""
        return (
            not self._closing.is_set()
            and self._glossary is not None
            and self._corpus_stamp == stamp
        )

    def _embed_glossary(self, glossary: Glossary) -> None:
        """The glossary's words embedded ahead of the searches that gloss with them
        (FusionConfig.gloss_vectors), so none waits on a word's first embedding. Best
        effort: a word still missing is embedded by the search that needs it."""
        try:
            words = glossary.gloss_vocabulary()
            for start in range(0, len(words), self.settings.embed_batch):
                self.terms.vectors(words[start : start + self.settings.embed_batch])
        except Exception as e:  # a background thread: report, never die with a traceback
            log.warning("glossary words not embedded ahead: %s", e)

    def _fresh(self) -> bool:
        return time.monotonic() - self._stamp_checked < self.settings.corpus_check_seconds

    def note_feedback(self) -> None:
        with self._lock:
            self.feedback_given += 1

    def glossary(self) -> Glossary:
        return self._corpus_data()[0]

    def _corpus_data(self) -> tuple[Glossary, CorpusFacts, str | None]:
        """The glossary, the corpus facts and the stamp they were read at, together."""
        self.refresh_corpus_data()
        with self._lock:
            assert self._glossary is not None and self._facts is not None
            return self._glossary, self._facts, self._corpus_stamp

    def retriever(self) -> Retriever:
        return self._retriever(self.reader())

    def _retriever(self, reader: GraphReader, held: Held | None = None) -> Retriever:
        glossary, facts, vectors = held or self._held()
        return Retriever(
            reader,
            self.embedder,
            glossary,
            today=self.settings.today,
            due_within_days=self.settings.due_within_days,
            facts=facts,
            second=self.second,
            vectors=vectors,
            fusion=self.fusion,
            terms=self.terms,
        )

    def _held(self) -> Held:
        """The corpus data searches use now (one stamp's), and the vectors held for it."""
        glossary, facts, stamp = self._corpus_data()
        return glossary, facts, self._vectors(stamp)

    def search(self, params: SearchParams) -> tuple[SearchOutcome, bool]:
        """A search's outcome, and whether it was shared with an identical search (kept
        from before in the same corpus state, or in flight): search_api.result_cache."""
        reader = self.reader()  # first: fails fast while the graph is known to be away
        held = self._held()
        retriever = self._retriever(reader, held)
        if self.results is None:
            return retriever.search(params), False
        key = (params, retriever.current_day())
        outcome, shared = self.results.get_or_run(held, key, lambda: retriever.search(params))
        if shared:
            # One round trip, so that a shared answer keeps the API's contract: 503 while
            # Neo4j is away (and the outage found at once), as for any other search.
            retriever.reader.ping()
        return outcome, shared

    def hold_vectors(self, wait_seconds: float = 0.0) -> None:
        """Start loading the passage vectors now rather than on the first search (a server's
        start), and wait up to `wait_seconds` for them (a one-shot command that must rank as
        a server does). Best effort: a graph not reachable yet is loaded on a later search."""
        try:
            _, _, stamp = self._corpus_data()
        except (SopkgError, Neo4jError, DriverError) as e:
            log.info("passage vectors not loaded at start: %s", e)
            return
        self._vectors(stamp)
        if wait_seconds > 0:
            self.resident.wait(wait_seconds)

    def _report_reader(self) -> GraphReader:
        """For what is read once per corpus change and shared (the corpus data, the
        passage vectors): a report's timeout, not a search's."""
        return self._reader(self.settings.report_timeout_seconds)

    def _vectors(self, stamp: str | None) -> VectorSearch | None:
        """The passage vectors held for `stamp`, else None (and a load starts)."""
        return self.resident.for_stamp(stamp, second=self.second is not None)

    def close(self) -> None:
        self._closing.set()
        # A vocabulary read stops at its next page; the driver must not close under it.
        with self._lock:
            threads = list(self._vocab_threads)
        for thread in threads:
            thread.join(timeout=self.settings.report_timeout_seconds)
        self.resident.close()
        self.query_log.close()  # pending log writes first, while the driver is still open
        with self._lock:
            if self._driver is not None:
                self._driver.close()
                self._driver = None

    # --- readiness --------------------------------------------------------------------
    def readiness(self) -> ReadyResponse:
        checks: dict[str, Check] = {}
        try:
            driver, database = self.driver()
            GraphReader(driver, database).ping()
            checks["neo4j"] = Check(ok=True)
        except (GraphUnavailable, ConfigError) as e:
            log.warning("not ready: %s", e)  # the details name hosts: log only
            checks["neo4j"] = Check(
                ok=False,
                detail="misconfigured" if isinstance(e, ConfigError) else "not reachable",
            )
            checks["schema"] = Check(ok=False, detail="unknown: Neo4j is not reachable")
        if checks["neo4j"].ok:
            try:
                ok = schema_ready(driver, database)
                checks["schema"] = Check(
                    ok=ok, detail=None if ok else "not migrated: run `sopkg ingest CORPUS`"
                )
            except (DriverError, Neo4jError) as e:
                log.warning("not ready: cannot read the schema: %s", e)
                checks["schema"] = Check(ok=False, detail="cannot read the schema")
        if self.embedder_error is not None:
            checks["embedder"] = Check(ok=False, detail=self.embedder_error)
        elif checks["neo4j"].ok:
            try:
                info = EmbedderInfo(self.embedder.name, self.embedder.dim)
                check_embedder(driver, database, info)
                checks["embedder"] = Check(ok=True, detail=self.embedder.name)
            except EmbedderMismatch as e:
                checks["embedder"] = Check(ok=False, detail=str(e))
            except (DriverError, Neo4jError) as e:
                log.warning("not ready: cannot read the embedder record: %s", e)
                checks["embedder"] = Check(ok=False, detail="cannot read the graph")
        else:
            checks["embedder"] = Check(ok=True, detail=f"{self.embedder.name} (loaded)")
        checks["second_space"] = self._second_space_check(checks["neo4j"].ok)
        # What dense search runs on (never a reason for not ready: Neo4j's indexes answer).
        checks["vectors"] = Check(ok=True, detail=self.resident.describe())
        ready = all(c.ok for c in checks.values())
        return ReadyResponse(status="ready" if ready else "not_ready", checks=checks)

    def _second_space_check(self, reachable: bool) -> Check:
        """Whether search uses the second vector space. Never a reason for not ready: without
        it search answers from the first space alone."""
        if self.second is None:
            return Check(ok=True, detail="off")
        if not reachable:
            return Check(ok=True, detail=f"{self.second.name}: unknown, Neo4j is not reachable")
        try:
            complete = self._corpus_data()[1].searches_second_space(self.second.name)
        except (GraphUnavailable, DriverError, Neo4jError) as e:
            log.warning("cannot read the second space's state: %s", e)
            return Check(ok=True, detail=f"{self.second.name}: unknown")
        if complete:
            return Check(ok=True, detail=f"{self.second.name} (searched)")
        return Check(
            ok=True,
            detail=f"{self.second.name}: not searched until `sopkg ingest` fills it in",
        )


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime
