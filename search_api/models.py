"""Request and response models of the HTTP API (they are its OpenAPI schema).

The search result models describe exactly the cards that `Retriever.search` builds
(`search_api.retrieval.Retriever._card`); `extra="forbid"` on requests makes an unknown
field a 422 rather than a silently ignored filter.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from kg.temporal import to_date
from ontology.governance import ChangeKind, FindingKind
from ontology.vocabulary import ALL_MARKETS, LANGUAGES, MARKETS

Market = Literal["JP", "SG", "MY", "TH", "VN", "PH", "ID", "ALL"]
Language = Literal["en", "ja"]
Mode = Literal["hybrid", "fused", "lexical", "dense"]
Role = Literal["reader", "owner", "admin"]

# The Literals above are the OpenAPI enums; they must list what the ontology defines.
if set(get_args(Market)) != {*MARKETS, ALL_MARKETS} or set(get_args(Language)) != set(LANGUAGES):
    raise ImportError("search_api.models is out of step with ontology.vocabulary")

TOPIC_PATTERN = r"^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*$"
MAX_LIMIT = 50


Date = Annotated[dt.date, BeforeValidator(to_date)]


def _valid_text(value: str, what: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{what} is not valid Unicode text (lone surrogate)") from None
    if "\x00" in value:
        raise ValueError(f"{what} must not contain NUL characters")
    return value


# --- errors -----------------------------------------------------------------------------
class ErrorField(BaseModel):
    field: str = Field(description="the offending field (`query`, `market`, `limit`, ...)")
    message: str = Field(description="why it was refused")


class ErrorDetail(BaseModel):
    status: int = Field(description="the HTTP status, repeated")
    code: str = Field(
        description="stable machine-readable code: invalid_input, unauthorized, forbidden, "
        "not_found, method_not_allowed, embedder_mismatch, graph_unavailable, "
        "service_misconfigured, internal_error"
    )
    message: str
    fields: list[ErrorField] = Field(default_factory=list)


class ErrorBody(BaseModel):
    """The one error envelope of every non-2xx answer."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": {
                        "status": 422,
                        "code": "invalid_input",
                        "message": "market: Input should be 'JP', 'SG', 'MY', 'TH', 'VN', "
                        "'PH', 'ID' or 'ALL'",
                        "fields": [
                            {
                                "field": "market",
                                "message": "Input should be 'JP', 'SG', 'MY', 'TH', 'VN', "
                                "'PH', 'ID' or 'ALL'",
                            }
                        ],
                    }
                }
            ]
        }
    )

    error: ErrorDetail


# --- search -----------------------------------------------------------------------------
class SearchRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"query": "コピー品 出品", "market": "JP"},
                {
                    "query": "seller asks buyer to pay by bank transfer on LINE",
                    "topic": "sellers",
                    "limit": 5,
                },
            ]
        },
    )

    query: str = Field(
        min_length=1,
        description="the question, in Japanese or English (not blank; at most "
        "SOPKG_MAX_QUERY_CHARS characters)",
        examples=["コピー品 出品"],
    )
    market: Market | None = Field(
        default=None,
        description="only documents for this market (documents for ALL always match)",
    )
    topic: str | None = Field(
        default=None,
        pattern=TOPIC_PATTERN,
        max_length=200,
        description="only documents in this topic or below it (a path from GET /v1/topics)",
        examples=["ipr"],
    )
    language: Language | None = Field(
        default=None, description="only passages written in this language"
    )
    query_lang: Language | None = Field(
        default=None, description="the query's language; detected from its script when omitted"
    )
    as_of: dt.date | None = Field(
        default=None, description="answer with the SOPs in effect on this date (default today)"
    )
    include_superseded: bool = Field(
        default=False,
        description="also search documents superseded by another document in effect on "
        "`as_of` (before its successor takes effect, a document is searched anyway)",
    )
    limit: int = Field(default=10, ge=1, le=MAX_LIMIT, description="results to return")
    mode: Mode = Field(
        default="hybrid",
        description="hybrid: lexical (both languages, glossary expansion) + dense, fused; "
        "fused: lexical + dense; lexical or dense alone",
    )

    @field_validator("query")
    @classmethod
    def _query_text(cls, v: str) -> str:
        _valid_text(v, "query")
        if not v.strip():
            raise ValueError("must not be blank")
        # `*`, `\\` or zero-width spaces alone: nothing for either retriever to match, and
        # the nearest vectors to nothing are arbitrary passages, logged as demand.
        if not any(ch.isalnum() for ch in v):
            raise ValueError("has no words to search for (no letter or digit)")
        return v


class Unit(BaseModel):
    type: Literal["statement", "section"] = Field(
        description="a numbered statement (both languages grouped) or a section paragraph"
    )
    key: str = Field(description="internal key: `<doc>#<item>` for a statement")
    doc_id: str
    item_id: str | None = Field(description="the statement's item id (p1, e1, a1, x1 ...)")
    section: str = Field(description="the section's anchor or alignment key")


class Citation(BaseModel):
    doc_id: str
    title: str
    version: str
    effective: Date | None
    lang: str
    section: str
    heading_path: list[str] = Field(description="document title, then section heading")
    item_id: str | None
    source_path: str = Field(description="the SOP file, relative to its corpus")
    line_start: int
    line_end: int
    ticket_line: str = Field(description="the citation as one line to paste into a ticket")


class Translation(BaseModel):
    text: str
    lang: str
    citation: Citation


class DocumentFacts(BaseModel):
    owner: str | None
    topic: str
    markets: list[str]
    review_by: Date | None
    stale: bool = Field(description="review_by has passed")
    due_soon: bool = Field(description="review_by falls within SOPKG_DUE_WITHIN_DAYS")
    translation_outdated: bool = Field(
        description="a translation was made from an older version of its source"
    )


class RelatedItem(BaseModel):
    relation: Literal["applies_to", "applied_by"] = Field(
        description="applies_to: this result applies to it; applied_by: it applies to this "
        "result (its exceptions, enforcement and escalation)"
    )
    statement_key: str
    kind: str
    item_id: str
    severity: str | None
    text: str | None
    lang: str | None


class SearchResult(BaseModel):
    rank: int
    unit: Unit
    kind: str = Field(description="statement kind, else section kind")
    severity: str | None
    text: str = Field(description="the passage, in the query's language when it exists")
    lang: str
    citation: Citation
    translation: Translation | None = Field(description="the same unit in the other language")
    score: float = Field(description="fused reciprocal-rank score")
    retrievers: list[str] = Field(description="the retrievers that found it")
    retriever_ranks: dict[str, int] = Field(description="its rank in each retriever's list")
    document: DocumentFacts
    related: list[RelatedItem]


class DictionaryTranslation(BaseModel):
    term: str = Field(description="a word of the query, as analysed")
    translation: str = Field(description="its translation, a word of the other language's passages")
    score: float = Field(description="how plain a sense of the word it is, 0-1 (1: the first)")


class QueryExpansion(BaseModel):
    matched: list[str] = Field(description="glossary terms recognised in the query")
    ja_terms: dict[str, float] = Field(description="Japanese terms added, with their boost")
    en_terms: dict[str, float] = Field(description="English terms added, with their boost")
    translated: list[DictionaryTranslation] = Field(
        default_factory=list,
        description="the general dictionary's translations of the query's words that the "
        "other language's passages contain (JMdict), best first",
    )


class AnswerConfidence(BaseModel):
    agreement: float = Field(
        description="share of the retriever families used (lexical, dense) that put the top "
        "result among their own first three"
    )
    separation: float = Field(
        description="the top result's score over the median score of the first ten"
    )
    weak: bool = Field(
        description="agreement below 0.5: the coverage report counts the search as weak"
    )


class SearchResponse(BaseModel):
    query_id: str | None = Field(
        default=None,
        description="this search in the query log: send it to POST /v1/feedback with whether "
        "the results answered the question",
    )
    query: str
    query_lang: str
    mode: str
    results: list[SearchResult]
    expansion: QueryExpansion
    confidence: AnswerConfidence | None = Field(
        default=None, description="how sure retrieval is of the top result (none: no results)"
    )
    timings_ms: dict[str, float]


# --- topics -----------------------------------------------------------------------------
class TopicOut(BaseModel):
    path: str
    id: str | None
    en: str | None
    ja: str | None
    parent: str | None
    leaf: bool | None
    documents: int = Field(description="active documents in this topic or below it")


class TopicsResponse(BaseModel):
    topics: list[TopicOut]


# --- documents --------------------------------------------------------------------------
class SectionPassage(BaseModel):
    key: str
    text: str
    item_id: str | None
    kind: str | None
    line_start: int | None
    line_end: int | None
    statement_key: str | None


class SectionOut(BaseModel):
    key: str
    anchor: str | None
    align_key: str | None
    kind: str | None
    heading: str | None
    passages: list[SectionPassage]


class VersionOut(BaseModel):
    key: str
    lang: str
    title: str | None
    version: str | None
    effective: Date | None
    review_by: Date | None
    valid_until: Date | None
    current: bool | None
    retired: bool
    translation_of_lang: str | None
    translation_of_version: str | None
    source_path: str | None
    sections: list[SectionOut] | None = Field(
        default=None, description="present for current versions only"
    )


class DocumentResponse(BaseModel):
    id: str
    topic: str | None
    markets: list[str]
    status: str | None
    source_lang: str | None
    owner: str | None
    regulations: list[str]
    supersedes: str | None
    superseded_by: list[str]
    versions: list[VersionOut]


# --- statements -------------------------------------------------------------------------
class StatementPassage(BaseModel):
    key: str
    lang: str
    text: str
    version: str | None
    current: bool | None
    line_start: int | None
    line_end: int | None
    source_path: str | None


class RelatedText(BaseModel):
    lang: str
    text: str


class RelatedStatement(BaseModel):
    relation: Literal["applies_to", "applied_by"]
    id: str = Field(description="public id `<doc-id>.<item-id>`")
    statement_key: str
    kind: str
    item_id: str
    severity: str | None
    texts: list[RelatedText]


class StatementResponse(BaseModel):
    id: str = Field(description="public id `<doc-id>.<item-id>`", examples=["mini-fakes.p1"])
    key: str = Field(description="internal key `<doc-id>#<item-id>`")
    doc_id: str
    item_id: str
    kind: str
    severity: str | None
    current: bool | None
    applies_to: list[str]
    doc_status: str | None
    passages: list[StatementPassage]
    related: list[RelatedStatement]


# --- ingest -----------------------------------------------------------------------------
class IngestRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"corpus": "/srv/sop/corpus"}]}
    )

    corpus: str = Field(
        min_length=1, max_length=4096, description="a corpus folder on the server's disk"
    )

    @field_validator("corpus")
    @classmethod
    def _corpus_text(cls, v: str) -> str:
        return _valid_text(v, "corpus")


class IngestResponse(BaseModel):
    corpus: str
    documents: int
    files: int
    written: int
    skipped: int
    rederived: int = Field(
        0,
        description="of `written`: documents whose files had not changed, written again "
        "because an older release had derived them",
    )
    retired: int
    passages: int
    statements: int
    changed: bool = Field(
        description="whether the run changed the graph: when not, the corpus stamp stayed, "
        "and servers keep their corpus data"
    )
    errors: list[str] = Field(description="file:line: rule: message, one per problem")
    warnings: int
    seconds: float
    timings: dict[str, float]


class CorpusOut(BaseModel):
    name: str = Field(description="the name it was ingested under (`--name`, or its folder's)")
    root: str | None = Field(description="its folder, as last ingested from")
    ingested_at: str | None
    removed_at: str | None = Field(
        description="set once it was taken out (`DELETE /v1/corpora/{name}` or "
        "`sopkg corpora --remove`)"
    )
    documents: int = Field(description="active documents")
    retired: int = Field(description="retired documents, kept for as-of search and the record")
    topics: int = Field(description="topics its taxonomy lists")
    terms: int = Field(description="glossary groups it defines")


class CorporaResponse(BaseModel):
    corpora: list[CorpusOut]


# --- probes -----------------------------------------------------------------------------
class HealthResponse(BaseModel):
    status: Literal["ok"] = "ok"


class Check(BaseModel):
    ok: bool
    detail: str | None = None


class ReadyResponse(BaseModel):
    status: Literal["ready", "not_ready"]
    checks: dict[str, Check] = Field(
        description="neo4j (reachable), schema (migrated, indexes online), embedder "
        "(model loaded and matching the graph), second_space (whether search uses the second "
        "vector space: off, searched, or not yet filled in; never makes the service not ready)"
    )


def statement_public_id(key: str) -> str:
    return key.replace("#", ".", 1)


_ID_PART = re.compile(r"^[^.#/\s]+$")


def statement_key(statement_id: str) -> str:
    """`<doc>.<item>` or `<doc>#<item>` -> `<doc>#<item>`; ValueError when malformed."""
    sep = "#" if "#" in statement_id else "."
    parts = statement_id.split(sep)
    if len(parts) != 2 or not all(_ID_PART.match(p) for p in parts):
        raise ValueError(
            "expected `<doc-id>.<item-id>` (or the key `<doc-id>#<item-id>`), "
            "neither part containing '.'"
        )
    return f"{parts[0]}#{parts[1]}"


# --- governance: coverage, owner dashboard, change feed, feedback ------------------------
class AcknowledgementOut(BaseModel):
    by: str = Field(description="the name of the API key that acknowledged it")
    role: str
    reason: str
    at: dt.datetime | None
    expires: Date | None = Field(description="the finding is open again after this date")


class LapsedOut(AcknowledgementOut):
    why: Literal["expired", "documents changed"]


class FindingOut(BaseModel):
    id: str = Field(
        description="stable across ingests while the finding is the same (kind, document, "
        "languages, item)"
    )
    kind: FindingKind
    doc: str = Field(description="document id; the topic path for topic-without-document")
    lang: str = Field(description="language version(s) concerned, e.g. `en,ja`; `-` for none")
    item: str = Field(description="statement item id, section anchor, or `-`")
    reason: str = Field(description="why, in one line")
    owner: str | None
    topic: str | None
    markets: list[str]
    related: list[str] = Field(description="the other side of a pair, `<doc>#<item>`")
    lapsed: LapsedOut | None = Field(
        default=None, description="an acknowledgement that no longer holds, and why"
    )


class AcknowledgedFindingOut(FindingOut):
    acknowledgement: AcknowledgementOut


class AcknowledgeRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "no Japanese version planned: SEA-only SOP",
                                         "expires": "2027-03-31"}]},
    )  # fmt: skip

    reason: str = Field(min_length=1, max_length=500, description="why it is left as it is")
    expires: dt.date | None = Field(
        default=None, description="from the day after, the finding is open again"
    )

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        _valid_text(v, "reason")
        if not v.strip():
            raise ValueError("must not be blank")
        return " ".join(v.split())


class MatrixRowOut(BaseModel):
    path: str
    en: str
    ja: str
    depth: int
    leaf: bool
    state: Literal["covered", "partial", "none"] = Field(
        description="covered in every market, in some, or in none"
    )
    documents: list[str] = Field(description="active documents in this topic or below it")
    markets: dict[str, list[str]] = Field(
        description="market -> documents covering the topic there (ALL covers every market)"
    )


class DocumentStatusOut(BaseModel):
    id: str
    title: str | None
    owner: str | None
    topic: str
    markets: list[str]
    versions: dict[str, str] = Field(description="language -> current version")
    review_by: Date | None
    state: Literal["ok", "stale", "due-soon", "superseded"]
    superseded_by: list[str]


class DemandQuery(BaseModel):
    query: str
    count: int


class DemandGroupOut(BaseModel):
    label: str = Field(description="the topic, or the first question of a wording group")
    count: int
    feedback_no: int = Field(description='of which answered "no" by the searcher')
    topics: dict[str, int]
    queries: list[DemandQuery]
    last_at: dt.datetime | None


class DemandOut(BaseModel):
    logged: int = Field(description="searches in the query log")
    unanswered: int
    weak_agreement: float = Field(
        description="a search is weak when fewer than this share of the retriever families "
        "used put its top result near the top of their own lists"
    )
    by_topic: list[DemandGroupOut]
    by_wording: list[DemandGroupOut]


class WeeklySeriesOut(BaseModel):
    key: str = Field(description="a topic path, or a query language")
    unanswered: list[int] = Field(description="per week: a 'no' answer or no results")
    weak: list[int] = Field(description="per week: retrieval not confident of its top result")
    total: int


class DemandWeeklyOut(BaseModel):
    weeks: list[dt.date] = Field(description="the Monday of each of the last 12 weeks")
    by_topic: list[WeeklySeriesOut]
    by_language: list[WeeklySeriesOut]


class VersionFindingsOut(BaseModel):
    doc_id: str
    lang: str
    version: str
    effective: dt.date | None
    counts: dict[str, int] = Field(description="current findings on this version, per kind")
    total: int


class QueryLogStats(BaseModel):
    max: int = Field(description="SOPKG_QUERY_LOG_MAX: the log keeps this many searches")
    written: int = Field(description="entries written by this server process")
    failed: int = Field(description="entries that could not be stored (search unaffected)")
    dropped: int = Field(description="entries dropped because the writer fell behind")
    trimmed: int = Field(description="old entries removed to keep the bound")


class CoverageResponse(BaseModel):
    today: dt.date
    due_within_days: int
    generated_at: dt.datetime
    counts: dict[str, int] = Field(description="findings per kind")
    findings: list[FindingOut]
    acknowledged: list[AcknowledgedFindingOut] = Field(
        default_factory=list, description="findings an owner acknowledged (not counted)"
    )
    markets: list[str]
    matrix: list[MatrixRowOut] = Field(description="the topic-by-market matrix, taxonomy order")
    documents: list[DocumentStatusOut]
    demand: DemandOut
    demand_weekly: DemandWeeklyOut = Field(
        description="unanswered and weak searches per week, by topic and by language"
    )
    query_log: QueryLogStats


class AffectedSearchesOut(BaseModel):
    doc_id: str
    lang: str
    version: str
    effective: Date | None
    item_id: str | None
    change: ChangeKind
    old_text: str | None
    new_text: str | None
    recent_searches: RecentSearchesOut


class OwnerDashboardResponse(BaseModel):
    owner: str
    today: dt.date
    due_within_days: int
    documents: list[DocumentStatusOut]
    stale: list[str]
    due_soon: list[str]
    topics: list[str] = Field(description="topics of the owner's documents")
    counts: dict[str, int]
    findings: list[FindingOut]
    acknowledged: list[AcknowledgedFindingOut] = Field(
        default_factory=list, description="findings an owner acknowledged (not counted)"
    )
    demand: DemandOut = Field(description="unanswered searches in the owner's topics")
    demand_weekly: DemandWeeklyOut = Field(
        description="unanswered and weak searches per week in the owner's topics"
    )
    findings_by_version: list[VersionFindingsOut] = Field(
        default_factory=list,
        description="current findings per kind on each current version of the last year's "
        "change feed, oldest first",
    )
    affected_searches: list[AffectedSearchesOut] = Field(
        default_factory=list,
        description="the owner's statement changes (new versions of the last "
        "`changes_days` days) that the most recent searches showed, most first",
    )


class QueryCountOut(BaseModel):
    query: str
    count: int


class RecentSearchesOut(BaseModel):
    count: int = Field(
        description="logged searches of the last `days` days whose results showed this "
        "statement (either language)"
    )
    days: int
    queries: list[QueryCountOut] = Field(description="their commonest query texts")


class ChangeOut(BaseModel):
    change: ChangeKind
    section: str
    heading: str | None
    item_id: str | None
    statement_key: str | None
    kind: str | None = Field(description="statement kind, else section kind")
    old_text: str | None
    new_text: str | None
    recent_searches: RecentSearchesOut | None = Field(
        default=None, description="statements only: recent searches that showed it"
    )
    old_applies_to: list[str] | None = Field(
        default=None,
        description="the item ids `applies_to` named before, when they changed (a retagged "
        "or reworded statement); else null",
    )
    new_applies_to: list[str] | None = Field(
        default=None, description="the item ids `applies_to` names now, when they changed"
    )
    old_attributes: list[str] | None = Field(
        default=None,
        description="the item's other attributes before (`severity=high`), when they "
        "changed; else null",
    )
    new_attributes: list[str] | None = Field(
        default=None, description="the item's other attributes now, when they changed"
    )


class VersionChangesOut(BaseModel):
    doc_id: str
    lang: str
    version: str
    title: str | None
    effective: Date | None
    previous_version: str | None
    previous_effective: Date | None
    new_document: bool = Field(description="no earlier version in the graph to compare with")
    owner: str | None
    topic: str | None
    markets: list[str]
    current: bool
    recent_searches: int = Field(
        default=0, description="recent searches that showed a statement this version changed"
    )
    counts: dict[str, int]
    changes: list[ChangeOut]


class ChangesResponse(BaseModel):
    since: dt.date
    until: dt.date | None
    versions: list[VersionChangesOut]


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"query_id": "3f2a9c0e8b7d4e1f9a6b5c4d3e2f1a0b",
                                         "answered": False}]},
    )  # fmt: skip

    query_id: str = Field(
        min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
        description="the query_id of a search response",
    )  # fmt: skip
    answered: bool = Field(description="did the results answer the question?")


class FeedbackResponse(BaseModel):
    query_id: str
    answered: bool
