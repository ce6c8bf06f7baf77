"""What the graph writer accepts: plain records, independent of how files were parsed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass
class PassageRecord:
    key: str
    text: str
    lang: str
    doc_id: str
    version: str
    version_key: str
    section_key: str  # Section.key
    align_key: str  # the section's cross-language key (anchor or order)
    section_kind: str
    heading_path: list[str]
    order: int
    line_start: int
    line_end: int
    source_path: str
    item_id: str | None = None
    statement_key: str | None = None
    statement_kind: str | None = None
    # The statement keys this language version's item names in `applies_to` (a lagging
    # translation may name others than its source, whose attributes the Statement keeps).
    applies_to: list[str] | None = None
    # The item's other attributes as written in this language version, `key=value` sorted
    # (`severity=high`); [] for an item with none, None for a paragraph.
    attributes: list[str] | None = None
    link_targets: list[str] = field(default_factory=list)  # "doc" or "doc#section"
    embed_text: str = ""  # what the embedder saw (kept so `sopkg reembed` needs no files)
    search_ja: str | None = None
    search_en: str | None = None
    embedding: list[float] | None = None
    embedding2: list[float] | None = None  # the second vector space (ontology.schema)
    # A long passage's windows (ingest.concepts.window_texts): their embed texts, and their
    # first-space vectors one after the other in one list (a property holds no nested list).
    window_texts: list[str] | None = None
    windows: list[float] | None = None

    def params(self) -> dict[str, Any]:
        out = _shallow(self)
        out["embedding"] = quiet_vector(self.embedding)
        out["embedding2"] = quiet_vector(self.embedding2)
        out["windows"] = quiet_vector(self.windows)
        return out


@dataclass
class SectionRecord:
    key: str
    version_key: str
    align_key: str
    anchor: str | None
    kind: str
    heading: str
    order: int
    line: int
    lang: str

    def params(self) -> dict[str, Any]:
        return _shallow(self)


@dataclass
class VersionRecord:
    key: str
    doc_id: str
    lang: str
    title: str
    version: str
    effective: dt.date
    review_by: dt.date | None
    translation_of_lang: str | None
    translation_of_version: str | None
    source_path: str
    content_hash: str
    sections: list[SectionRecord] = field(default_factory=list)
    derivation: int = 0  # the code's derivation that made these records (ingest.concepts)
    passages: list[PassageRecord] = field(default_factory=list)

    def props(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "doc_id": self.doc_id,
            "lang": self.lang,
            "title": self.title,
            "version": self.version,
            "effective": self.effective,
            "review_by": self.review_by,
            "translation_of_lang": self.translation_of_lang,
            "translation_of_version": self.translation_of_version,
            "source_path": self.source_path,
            "content_hash": self.content_hash,
            "derivation": self.derivation,
        }


@dataclass
class StatementRecord:
    key: str
    doc_id: str
    item_id: str
    kind: str
    severity: str | None
    applies_to: list[str]  # statement keys in the same document

    def params(self) -> dict[str, Any]:
        return _shallow(self)


@dataclass
class DocumentRecord:
    id: str
    corpus: str
    topic: str
    markets: list[str]
    owner: str
    regulations: list[str]
    supersedes: str | None
    source_lang: str  # the language other versions translate (or the only one)
    versions: list[VersionRecord]  # every present language version (current)
    statements: list[StatementRecord]
    # (translation key, source key) pairs of versions, sections and passages
    version_pairs: list[tuple[str, str]] = field(default_factory=list)
    section_pairs: list[tuple[str, str]] = field(default_factory=list)
    passage_pairs: list[tuple[str, str]] = field(default_factory=list)

    def props(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "corpus": self.corpus,
            "topic": self.topic,
            "markets": self.markets,
            "owner": self.owner,
            "regulations": self.regulations,
            "supersedes": self.supersedes,
            "source_lang": self.source_lang,
        }


def _shallow(record: Any) -> dict[str, Any]:
    """A record's fields as query parameters. Not `dataclasses.asdict`: it copies every list
    element by element, and a passage's two vectors are 896 floats: it took 41% of the
    synthetic build's Python time. The driver only reads these dicts."""
    return {f.name: getattr(record, f.name) for f in fields(record)}


class QuietVector(list[float]):
    """A vector as a query parameter, with a short repr. The driver formats every RUN's
    parameters for a debug log line whether or not debug logging is on (neo4j 6.4,
    `Bolt5x5.run`): the reprs of a passage's 896 floats were 46% of the synthetic build's
    Python time. The driver packs it as the list it is (the same bytes)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<vector of {len(self)}>"


def quiet_vector(vector: Sequence[float] | None) -> QuietVector | None:
    return None if vector is None else QuietVector(vector)
