"""The search query log: each search (POST /v1/search, and the web page, which calls the same
route function) is logged with its language, filters, top scores and result ids, so that
coverage reports can show the questions the SOPs do not answer. Never the API key: only the
caller's role is kept.

Logging must neither slow a search nor fail it: the route builds the entry (no I/O) and
hands it to one background thread, which writes the entries queued meanwhile to Neo4j in
one transaction (`kg.coverage.CoverageReader.log_queries`) and trims the log to `SOPKG_QUERY_LOG_MAX` entries. A write that fails is
counted and logged, never raised; when the writer falls behind, new entries are dropped
and counted rather than queued without bound.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait

from neo4j import Driver
from neo4j.exceptions import DriverError, Neo4jError

from kg.coverage import CoverageReader, QueryLogEntry
from kg.errors import SopkgError
from search_api.retrieval import SearchOutcome, SearchParams

log = logging.getLogger("sopkg.querylog")

RESULT_IDS = 10  # result ids kept per search
TOP_SCORES = 3
MAX_PENDING = 256  # entries waiting for the writer before new ones are dropped
BATCH = 100  # entries written in one transaction at most


def new_query_id() -> str:
    return uuid.uuid4().hex


def log_entry(
    params: SearchParams, outcome: SearchOutcome, role: str | None = None
) -> QueryLogEntry:
    """What is logged of one search (no I/O)."""
    results = outcome.results
    sure = outcome.confidence
    return QueryLogEntry(
        id=new_query_id(),
        at=dt.datetime.now(dt.UTC),
        query=outcome.query,
        query_lang=outcome.query_lang,
        mode=outcome.mode,
        market=params.market,
        topic=params.topic,
        language=params.language,
        as_of=params.as_of,
        role=role,
        result_count=len(results),
        best_score=results[0].score if results else None,
        top_scores=[r.score for r in results[:TOP_SCORES]],
        agreement=sure.agreement if sure else None,
        separation=sure.separation if sure else None,
        result_ids=[r.unit.key for r in results[:RESULT_IDS]],
        result_topics=[r.document.topic or "" for r in results[:RESULT_IDS]],
    )


class QueryLogger:
    """Writes query log entries on one background thread; see the module docstring."""

    def __init__(self, keep: int, driver: Callable[[], tuple[Driver, str]]) -> None:
        self.keep = keep
        self._driver = driver
        self._lock = threading.Lock()
        self._pending: deque[QueryLogEntry] = deque()
        self._draining = False
        self._executor: ThreadPoolExecutor | None = None
        self.written = 0
        self.failed = 0
        self.dropped = 0
        self.trimmed = 0

    def record(
        self, params: SearchParams, outcome: SearchOutcome, role: str | None = None
    ) -> QueryLogEntry:
        """Log one search in the background; returns the entry (its id is the query_id)."""
        entry = log_entry(params, outcome, role)
        self.submit(entry)
        return entry

    def submit(self, entry: QueryLogEntry) -> None:
        if self.keep <= 0:
            return
        with self._lock:
            if len(self._pending) >= MAX_PENDING:
                self.dropped += 1
                return
            self._pending.append(entry)
            if self._draining:
                return  # the running drain takes it with the others
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="sopkg-querylog")
            self._draining = True
            executor = self._executor
        try:
            executor.submit(self._drain)
        except RuntimeError:  # shut down meanwhile
            with self._lock:
                self.dropped += len(self._pending)
                self._pending.clear()
                self._draining = False

    def _drain(self) -> None:
        # Everything queued while the previous batch was written goes in one transaction,
        # so a busy server keeps up with many searches a second.
        while True:
            with self._lock:
                batch = [self._pending.popleft() for _ in range(min(BATCH, len(self._pending)))]
                if not batch:
                    self._draining = False
                    return
            self._write(batch)

    def _write(self, batch: list[QueryLogEntry]) -> None:
        try:
            driver, database = self._driver()
            trimmed = CoverageReader(driver, database).log_queries(batch, self.keep)
            with self._lock:
                self.written += len(batch)
                self.trimmed += trimmed
        except (SopkgError, Neo4jError, DriverError) as e:
            # Logging is best effort: the searches have been answered already.
            with self._lock:
                self.failed += len(batch)
            log.warning("query log: %d entries not stored (%s)", len(batch), type(e).__name__)

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until the entries submitted so far are written (tests, shutdown)."""
        with self._lock:
            executor = self._executor
        if executor is not None:
            wait([executor.submit(lambda: None)], timeout=timeout)

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "max": self.keep,
                "written": self.written,
                "failed": self.failed,
                "dropped": self.dropped,
                "trimmed": self.trimmed,
            }
