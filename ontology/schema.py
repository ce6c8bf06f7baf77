"""The graph's schema as data: node labels, relationship types, constraints and indexes.

kg.schema applies it (idempotently) at start-up; nothing here talks to a database.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ontology.vocabulary import LANGUAGES, StatementKind

SCHEMA_VERSION = 1


class Label(StrEnum):
    CORPUS = "Corpus"
    DOCUMENT = "Document"
    VERSION = "DocumentVersion"
    SECTION = "Section"
    PASSAGE = "Passage"
    STATEMENT = "Statement"
    POLICY = "Policy"
    EXCEPTION = "Exception"
    ENFORCEMENT = "EnforcementAction"
    ESCALATION = "EscalationStep"
    TOPIC = "Topic"
    MARKET = "Market"
    OWNER = "Owner"
    REGULATION = "Regulation"
    TERM = "Term"
    LEARNED_TERM = "LearnedTerm"  # a term translation learnt from aligned passages
    DANGLING = "DanglingReference"
    META = "GraphMeta"
    QUERY_LOG = "QueryLog"  # one logged search (bounded; see search_api.querylog)


STATEMENT_LABELS: dict[StatementKind, Label] = {
    StatementKind.POLICY: Label.POLICY,
    StatementKind.EXCEPTION: Label.EXCEPTION,
    StatementKind.ENFORCEMENT: Label.ENFORCEMENT,
    StatementKind.ESCALATION: Label.ESCALATION,
}


class Rel(StrEnum):
    IN_CORPUS = "IN_CORPUS"  # Document -> Corpus
    HAS_VERSION = "HAS_VERSION"  # Document -> DocumentVersion
    PREVIOUS_VERSION = "PREVIOUS_VERSION"  # DocumentVersion -> the one it replaced
    HAS_SECTION = "HAS_SECTION"  # DocumentVersion -> Section
    HAS_PASSAGE = "HAS_PASSAGE"  # Section -> Passage
    STATES = "STATES"  # Passage -> Statement (each language version states it)
    HAS_STATEMENT = "HAS_STATEMENT"  # Document -> Statement
    APPLIES_TO = "APPLIES_TO"  # exception / enforcement / escalation -> statement
    TRANSLATION_OF = "TRANSLATION_OF"  # version/section/passage -> its other-language twin
    ABOUT = "ABOUT"  # Document -> Topic
    CHILD_OF = "CHILD_OF"  # Topic -> parent Topic
    LISTS = "LISTS"  # Corpus -> Topic its taxonomy lists {en, ja: its labels}
    DEFINES = "DEFINES"  # Corpus -> Term its glossary defines {en, ja: its words}
    APPLIES_IN = "APPLIES_IN"  # Document -> Market
    OWNED_BY = "OWNED_BY"  # Document -> Owner
    CITES = "CITES"  # Document -> Regulation
    SUPERSEDES = "SUPERSEDES"  # Document -> Document
    REFERENCES = "REFERENCES"  # Passage -> Document | DanglingReference
    ILLUSTRATES = "ILLUSTRATES"  # example passage -> the statement it names (derived)


@dataclass(frozen=True)
class Constraint:
    name: str
    label: Label
    prop: str


CONSTRAINTS: tuple[Constraint, ...] = (
    Constraint("corpus_name", Label.CORPUS, "name"),
    Constraint("document_id", Label.DOCUMENT, "id"),
    Constraint("version_key", Label.VERSION, "key"),
    Constraint("section_key", Label.SECTION, "key"),
    Constraint("passage_key", Label.PASSAGE, "key"),
    Constraint("statement_key", Label.STATEMENT, "key"),
    Constraint("topic_path", Label.TOPIC, "path"),
    Constraint("market_code", Label.MARKET, "code"),
    Constraint("owner_name", Label.OWNER, "name"),
    Constraint("regulation_name", Label.REGULATION, "name"),
    Constraint("term_key", Label.TERM, "key"),
    Constraint("dangling_target", Label.DANGLING, "target"),
    Constraint("meta_name", Label.META, "name"),
)


@dataclass(frozen=True)
class RangeIndex:
    name: str
    label: Label
    props: tuple[str, ...]


RANGE_INDEXES: tuple[RangeIndex, ...] = (
    RangeIndex("passage_doc", Label.PASSAGE, ("doc_id", "current")),
    RangeIndex("version_doc", Label.VERSION, ("doc_id", "lang")),
    RangeIndex("statement_doc", Label.STATEMENT, ("doc_id",)),
    RangeIndex("query_log_id", Label.QUERY_LOG, ("id",)),
    RangeIndex("query_log_at", Label.QUERY_LOG, ("at",)),
)


@dataclass(frozen=True)
class FulltextIndex:
    name: str
    label: Label
    prop: str
    analyzer: str


# Japanese text is tokenised by fugashi before it is stored (whitespace analyzer keeps those
# tokens as they are); English text gets Lucene's English analysis (stemming, stop words).
FULLTEXT_INDEXES: tuple[FulltextIndex, ...] = (
    FulltextIndex("passage_ja", Label.PASSAGE, "search_ja", "whitespace"),
    FulltextIndex("passage_en", Label.PASSAGE, "search_en", "english"),
)

VECTOR_PROP = "embedding"
# The second vector space: the same passages embedded by a second multilingual model
# (kg.embedders.make_second_embedder), searched beside the first.
VECTOR2_PROP = "embedding2"


@dataclass(frozen=True)
class VectorIndex:
    name: str
    label: str  # a per-language passage label, e.g. JaPassage
    lang: str
    prop: str = VECTOR_PROP


# One vector index per language. A multilingual model scores text in the query's own
# language systematically higher, so a single index ranks every English passage above
# every Japanese one for an English query; ranking each language apart removes that bias.
VECTOR_INDEXES: dict[str, VectorIndex] = {
    lang: VectorIndex(f"passage_embedding_{lang}", f"{lang.capitalize()}Passage", lang)
    for lang in LANGUAGES
}
VECTOR2_INDEXES: dict[str, VectorIndex] = {
    lang: VectorIndex(f"passage_embedding2_{lang}", index.label, lang, VECTOR2_PROP)
    for lang, index in VECTOR_INDEXES.items()
}
LEGACY_VECTOR_INDEXES = ("passage_embedding",)


def passage_language_label(lang: str) -> str:
    """The extra label of a passage in `lang` (KeyError for a language we do not know)."""
    return VECTOR_INDEXES[lang].label
