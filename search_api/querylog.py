"""The search query log: each search (POST /v1/search, and the web page, which calls the same
route function) is logged with its language, filters, top scores and result ids, so that
coverage reports can show the questions the SOPs do not answer. Never the API key: only the
caller's role is kept.

Logging must neither slow a search nor fail it: the route builds the entry (no I/O) and
hands it to one background thread, which writes it to Neo4j (`kg.coverage.CoverageReader.
log_query`) and trims the log to `SOPKG_QUERY_LOG_MAX` entries. A write that fails is
counted and logged, never raised; when the writer falls behind, new entries are dropped
and counted rather than queued without bound.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
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
        self._slots = threading.BoundedSemaphore(MAX_PENDING)
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
        if not self._slots.acquire(blocking=False):
            self._count("dropped")
            return
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="sopkg-querylog")
            executor = self._executor
        try:
            executor.submit(self._write, entry)
        except RuntimeError:  # shut down meanwhile
            self._slots.release()
            self._count("dropped")

    def _count(self, name: str, n: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + n)

    def _write(self, entry: QueryLogEntry) -> None:
        try:
            driver, database = self._driver()
            trimmed = CoverageReader(driver, database).log_query(entry, self.keep)
            self._count("written")
            self._count("trimmed", trimmed)
        except (SopkgError, Neo4jError, DriverError) as e:
            # Logging is best effort: the search has been answered already.
            self._count("failed")
            log.warning("query log: entry not stored (%s)", type(e).__name__)
        finally:
            self._slots.release()

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
            executor.shutdown(wait=True, cancel_futures=True)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "max": self.keep,
                "written": self.written,
                "failed": self.failed,
                "dropped": self.dropped,
                "trimmed": self.trimmed,
            }
