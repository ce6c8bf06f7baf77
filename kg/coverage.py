"""Governance reads and the query log: the facts a coverage report, an owner dashboard and
the change feed are computed from, as plain dataclasses (no analysis here), and the
bounded log of search queries with their "did this answer it?" feedback.

Reads go through `GraphReader`'s error mapping (driver errors become `GraphUnavailable`);
query log writes take the same mapping.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from neo4j import Query

from kg import coverage_queries as q
from kg.reader import GraphReader
from kg.temporal import to_date, to_datetime


@dataclass(frozen=True)
class VersionFacts:
    key: str
    lang: str
    version: str
    title: str | None
    effective: dt.date | None
    review_by: dt.date | None
    current: bool
    translation_of_lang: str | None
    translation_of_version: str | None
    content_hash: str | None = None


@dataclass(frozen=True)
class DocumentFacts:
    id: str
    topic: str
    markets: tuple[str, ...]
    owner: str | None
    source_lang: str | None
    superseded_by: tuple[str, ...]
    versions: tuple[VersionFacts, ...]  # every version, current or older

    @property
    def current(self) -> dict[str, VersionFacts]:
        """The current version of each language."""
        return {v.lang: v for v in self.versions if v.current}

    def version(self, lang: str, version: str) -> VersionFacts | None:
        return next((v for v in self.versions if v.lang == lang and v.version == version), None)


@dataclass(frozen=True)
class StatementText:
    lang: str
    text: str
    section: str
    line: int | None
    embedding: tuple[float, ...] | None = None
    # This language's own applies_to (statement keys); None from a graph written before
    # passages kept it, where the statement's (its source's) stands for every language.
    applies_to: tuple[str, ...] | None = None


@dataclass(frozen=True)
class StatementFacts:
    key: str
    doc_id: str
    item_id: str
    kind: str
    severity: str | None
    applies_to: tuple[str, ...]  # statement keys
    texts: tuple[StatementText, ...]  # one per current language version

    def text(self, lang: str) -> str | None:
        return next((t.text for t in self.texts if t.lang == lang), None)

    def applies_to_in(self, lang: str) -> tuple[str, ...]:
        """What the item names in `applies_to` in the `lang` version (a translation that
        lags behind its source may name other policies)."""
        own = next((t.applies_to for t in self.texts if t.lang == lang), None)
        return self.applies_to if own is None else own

    @property
    def langs(self) -> tuple[str, ...]:
        return tuple(sorted({t.lang for t in self.texts}))


@dataclass(frozen=True)
class LinkFacts:
    doc_id: str
    lang: str
    section: str
    item_id: str | None
    target: str
    target_section: str | None
    retired_target: bool


@dataclass(frozen=True)
class TopicFacts:
    path: str
    en: str | None
    ja: str | None
    parent: str | None
    leaf: bool


@dataclass(frozen=True)
class PassageFacts:
    version_key: str
    section: str
    heading: str | None
    section_kind: str | None
    section_order: int
    key: str
    item_id: str | None
    statement_key: str | None
    statement_kind: str | None
    order: int
    text: str
    # The statement keys this version's item names in `applies_to`; None when the passage
    # was written before passages kept them (ingest.concepts.DERIVATION 5).
    applies_to: tuple[str, ...] | None = None
    # The item's other attributes (`severity=high`), sorted; None when the passage was
    # written before passages kept them (DERIVATION 6) or is no statement.
    attributes: tuple[str, ...] | None = None

    @property
    def suffix(self) -> str:
        """The passage's place in its section (`p1`, `b2`, `i3`): stable across versions."""
        return self.key.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class VersionEvent:
    """A version that took effect in a date range, and the one it replaced."""

    doc_id: str
    topic: str | None
    markets: tuple[str, ...]
    owner: str | None
    key: str
    lang: str
    version: str
    title: str | None
    effective: dt.date | None
    current: bool
    previous_key: str | None
    previous_version: str | None
    previous_effective: dt.date | None


@dataclass(frozen=True)
class Acknowledgement:
    """An owner's decision on a finding: why it is not to be fixed (for now). It holds while
    the finding's documents are unchanged (`basis`) and until `expires` (if given)."""

    finding_id: str
    kind: str
    doc: str
    lang: str
    item: str
    reason: str
    by: str  # the API key's name, never the key
    role: str
    basis: str
    expires: dt.date | None = None
    at: dt.datetime | None = None

    def props(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "at"}

    @classmethod
    def from_props(cls, p: dict[str, Any]) -> Acknowledgement:
        return cls(
            finding_id=str(p["finding_id"]),
            kind=str(p.get("kind") or ""),
            doc=str(p.get("doc") or ""),
            lang=str(p.get("lang") or ""),
            item=str(p.get("item") or ""),
            reason=str(p.get("reason") or ""),
            by=str(p.get("by") or ""),
            role=str(p.get("role") or ""),
            basis=str(p.get("basis") or ""),
            expires=to_date(p.get("expires")),
            at=to_datetime(p.get("at")),
        )


@dataclass
class QueryLogEntry:
    """One search as logged: what was asked and what came back. Never the API key."""

    id: str
    at: dt.datetime
    query: str
    query_lang: str
    mode: str
    market: str | None = None
    topic: str | None = None
    language: str | None = None
    as_of: dt.date | None = None
    source: str = "api"  # api | web
    role: str | None = None
    result_count: int = 0
    best_score: float | None = None
    top_scores: list[float] = field(default_factory=list)
    # answer confidence (search_api.fusion.Confidence); None for entries logged before it
    agreement: float | None = None
    separation: float | None = None
    result_ids: list[str] = field(default_factory=list)  # unit keys, best first
    result_topics: list[str] = field(default_factory=list)  # topic of each result's document
    answered: bool | None = None  # feedback: None until someone answers "did this answer it?"

    def props(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_props(cls, p: dict[str, Any]) -> QueryLogEntry:
        return cls(
            id=str(p["id"]),
            at=to_datetime(p["at"]) or dt.datetime.now(dt.UTC),
            query=str(p.get("query") or ""),
            query_lang=str(p.get("query_lang") or ""),
            mode=str(p.get("mode") or ""),
            market=p.get("market"),
            topic=p.get("topic"),
            language=p.get("language"),
            as_of=to_date(p.get("as_of")),
            source=str(p.get("source") or "api"),
            role=p.get("role"),
            result_count=int(p.get("result_count") or 0),
            best_score=p.get("best_score"),
            top_scores=[float(x) for x in p.get("top_scores") or []],
            agreement=p.get("agreement"),
            separation=p.get("separation"),
            result_ids=[str(x) for x in p.get("result_ids") or []],
            result_topics=[str(x) for x in p.get("result_topics") or []],
            answered=p.get("answered"),
        )


def log_entries(entries: Iterable[dict[str, Any]]) -> list[QueryLogEntry]:
    """The query log as read. Reads are read-committed: an entry the trim deletes while the
    log is read comes back without its properties and is left out (a 30-minute soak got
    500s from the coverage report here)."""
    return [QueryLogEntry.from_props(e) for e in entries if e.get("id") is not None]


def _listed(value: Sequence[str] | None) -> tuple[str, ...] | None:
    """A list property as a tuple; None (absent: written before passages kept it) stays."""
    return None if value is None else tuple(value)


class CoverageReader(GraphReader):
    """Reads for governance reports, and the query log's writes."""

    def documents(self) -> list[DocumentFacts]:
        out = []
        for r in self._read(q.DOCUMENTS):
            versions = tuple(
                VersionFacts(
                    key=v["key"],
                    lang=v["lang"],
                    version=str(v.get("version") or ""),
                    title=v.get("title"),
                    effective=to_date(v.get("effective")),
                    review_by=to_date(v.get("review_by")),
                    current=bool(v.get("current")),
                    translation_of_lang=v.get("translation_of_lang"),
                    translation_of_version=v.get("translation_of_version"),
                    content_hash=v.get("content_hash"),
                )
                for v in r["versions"]
            )
            out.append(
                DocumentFacts(
                    id=r["id"],
                    topic=r["topic"] or "",
                    markets=tuple(r["markets"] or ()),
                    owner=r.get("owner"),
                    source_lang=r.get("source_lang"),
                    superseded_by=tuple(sorted(r["superseded_by"] or ())),
                    versions=versions,
                )
            )
        return out

    def statements(self, embeddings: bool = True) -> list[StatementFacts]:
        out = []
        for r in self._read(q.STATEMENTS, embeddings=embeddings):
            texts = tuple(
                StatementText(
                    lang=p["lang"],
                    text=p.get("text") or "",
                    section=p.get("align_key") or "",
                    line=p.get("line_start"),
                    embedding=tuple(p["embedding"]) if p.get("embedding") else None,
                    applies_to=_listed(p.get("applies_to")),
                )
                for p in r["passages"]
            )
            out.append(
                StatementFacts(
                    key=r["key"],
                    doc_id=r["doc_id"],
                    item_id=r["item_id"] or r["key"].split("#", 1)[-1],
                    kind=r["kind"],
                    severity=r.get("severity"),
                    applies_to=tuple(r["applies_to"] or ()),
                    texts=texts,
                )
            )
        return out

    def dangling_links(self) -> list[LinkFacts]:
        return [
            LinkFacts(
                doc_id=r["doc_id"],
                lang=r["lang"],
                section=r["section"] or "",
                item_id=r.get("item_id"),
                target=r["target"],
                target_section=r.get("target_section"),
                retired_target=bool(r.get("retired_target")),
            )
            for r in self._read(q.DANGLING_LINKS)
        ]

    def taxonomy(self) -> list[TopicFacts]:
        return [
            TopicFacts(r["path"], r.get("en"), r.get("ja"), r.get("parent"), bool(r["leaf"]))
            for r in self._read(q.TOPICS)
        ]

    def version_passages(self, keys: Sequence[str]) -> dict[str, list[PassageFacts]]:
        out: dict[str, list[PassageFacts]] = {k: [] for k in keys}
        for r in self._read(q.VERSION_PASSAGES, keys=list(keys)):
            out.setdefault(r["version_key"], []).append(
                PassageFacts(
                    version_key=r["version_key"],
                    section=r["section"] or "",
                    heading=r.get("heading"),
                    section_kind=r.get("section_kind"),
                    section_order=int(r.get("section_order") or 0),
                    key=r["key"],
                    item_id=r.get("item_id"),
                    statement_key=r.get("statement_key"),
                    statement_kind=r.get("statement_kind"),
                    order=int(r.get("ord") or 0),
                    text=r.get("text") or "",
                    applies_to=_listed(r.get("applies_to")),
                    attributes=_listed(r.get("attributes")),
                )
            )
        return out

    def versions_since(self, since: dt.date, until: dt.date | None = None) -> list[VersionEvent]:
        return [
            VersionEvent(
                doc_id=r["doc_id"],
                topic=r.get("topic"),
                markets=tuple(r.get("markets") or ()),
                owner=r.get("owner"),
                key=r["key"],
                lang=r["lang"],
                version=str(r.get("version") or ""),
                title=r.get("title"),
                effective=to_date(r.get("effective")),
                current=bool(r.get("current")),
                previous_key=r.get("previous_key"),
                previous_version=r.get("previous_version"),
                previous_effective=to_date(r.get("previous_effective")),
            )
            for r in self._read(q.VERSIONS_SINCE, since=since, until=until)
        ]

    # --- the query log ----------------------------------------------------------------
    def _write(self, cypher: str, **params: Any) -> list[dict[str, Any]]:
        with self._errors():
            records, _, _ = self.driver.execute_query(
                Query(cypher, timeout=self.timeout),  # type: ignore[arg-type]
                parameters_=params,
                database_=self.database,
                routing_="w",
            )
        return [r.data() for r in records]

    def log_queries(self, entries: Sequence[QueryLogEntry], keep: int) -> int:
        """Store `entries`, then drop the oldest entries beyond `keep`; returns how many."""
        self._write(q.LOG_QUERIES, entries=[e.props() for e in entries])
        rows = self._read(q.COUNT_QUERY_LOG)
        n = int(rows[0]["n"]) if rows else 0
        if n > keep:
            self._write(q.TRIM_QUERY_LOG, excess=n - keep)
            return n - keep
        return 0

    def query_feedback(self, query_id: str, answered: bool) -> bool:
        """Record whether a logged search answered the question; False if it is unknown."""
        return bool(self._write(q.QUERY_FEEDBACK, id=query_id, answered=answered))

    def recent_searches(self, keys: Sequence[str], since: dt.datetime) -> dict[str, list[str]]:
        """Statement key -> the query texts of the logged searches since `since` whose
        results showed it (one entry per search)."""
        if not keys:
            return {}
        rows = self._read(q.RECENT_SEARCHES, keys=list(keys), since=since)
        return {r["key"]: [str(x) for x in r["queries"]] for r in rows}

    # --- acknowledgements ---------------------------------------------------------------
    def acknowledge(self, ack: Acknowledgement) -> Acknowledgement:
        rows = self._write(q.ACKNOWLEDGE, ack=ack.props())
        return Acknowledgement.from_props(rows[0]["ack"])

    def acknowledgements(self) -> list[Acknowledgement]:
        return [Acknowledgement.from_props(r["ack"]) for r in self._read(q.ACKNOWLEDGEMENTS)]

    def query_log(self, limit: int) -> list[QueryLogEntry]:
        rows = self._read(q.QUERY_LOG, limit=limit)
        return log_entries(rows[0]["entries"]) if rows else []

    def report_inputs(self) -> tuple[tuple[Any, ...], int]:
        """(corpus stamp, number of acknowledgements, the latest one's time) and the
        query log's size: what decides whether an earlier coverage report still holds."""
        rows = self._read(q.REPORT_INPUTS)
        r = rows[0] if rows else {}
        return (r.get("corpus"), r.get("acks"), r.get("acked")), int(r.get("logged") or 0)

    def query_log_size(self) -> int:
        rows = self._read(q.COUNT_QUERY_LOG)
        return int(rows[0]["n"]) if rows else 0
