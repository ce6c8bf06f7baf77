"""What exists in the SOP world: languages, markets, section kinds and statement kinds."""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum

LANGUAGES: tuple[str, ...] = ("en", "ja")
"""Languages a document version may be written in (design admits more later)."""

MARKETS: tuple[str, ...] = ("JP", "SG", "MY", "TH", "VN", "PH", "ID")
ALL_MARKETS = "ALL"
"""A document for `ALL` governs every market."""


class SectionKind(StrEnum):
    OVERVIEW = "overview"
    SCOPE = "scope"
    DEFINITIONS = "definitions"
    POLICY = "policy"
    EXCEPTIONS = "exceptions"
    ENFORCEMENT = "enforcement"
    ESCALATION = "escalation"
    EXAMPLES = "examples"
    REFERENCES = "references"
    OTHER = "other"


# Section kind from heading text when a heading has no anchor (either language).
HEADING_KINDS: dict[str, SectionKind] = {
    "overview": SectionKind.OVERVIEW,
    "概要": SectionKind.OVERVIEW,
    "scope": SectionKind.SCOPE,
    "対象": SectionKind.SCOPE,
    "適用範囲": SectionKind.SCOPE,
    "definitions": SectionKind.DEFINITIONS,
    "定義": SectionKind.DEFINITIONS,
    "用語の定義": SectionKind.DEFINITIONS,
    "policy": SectionKind.POLICY,
    "policies": SectionKind.POLICY,
    "ポリシー": SectionKind.POLICY,
    "方針": SectionKind.POLICY,
    "exceptions": SectionKind.EXCEPTIONS,
    "exception": SectionKind.EXCEPTIONS,
    "例外": SectionKind.EXCEPTIONS,
    "enforcement": SectionKind.ENFORCEMENT,
    "措置": SectionKind.ENFORCEMENT,
    "執行": SectionKind.ENFORCEMENT,
    "escalation": SectionKind.ESCALATION,
    "エスカレーション": SectionKind.ESCALATION,
    "examples": SectionKind.EXAMPLES,
    "example": SectionKind.EXAMPLES,
    "事例": SectionKind.EXAMPLES,
    "例": SectionKind.EXAMPLES,
    "references": SectionKind.REFERENCES,
    "参考": SectionKind.REFERENCES,
    "参考資料": SectionKind.REFERENCES,
    "関連資料": SectionKind.REFERENCES,
    # Usual variants: singulars and plurals, and the words owners use for the same part.
    "対象範囲": SectionKind.SCOPE,
    "definition": SectionKind.DEFINITIONS,
    "用語": SectionKind.DEFINITIONS,
    "用語集": SectionKind.DEFINITIONS,
    "glossary": SectionKind.DEFINITIONS,
    "terminology": SectionKind.DEFINITIONS,
    "rules": SectionKind.POLICY,
    "規定": SectionKind.POLICY,
    "禁止事項": SectionKind.POLICY,
    "例外事項": SectionKind.EXCEPTIONS,
    "適用除外": SectionKind.EXCEPTIONS,
    "exemptions": SectionKind.EXCEPTIONS,
    "enforcement actions": SectionKind.ENFORCEMENT,
    "actions": SectionKind.ENFORCEMENT,
    "penalties": SectionKind.ENFORCEMENT,
    "sanctions": SectionKind.ENFORCEMENT,
    "処分": SectionKind.ENFORCEMENT,
    "罰則": SectionKind.ENFORCEMENT,
    "ペナルティ": SectionKind.ENFORCEMENT,
    "違反時の措置": SectionKind.ENFORCEMENT,
    "escalations": SectionKind.ESCALATION,
    "escalation path": SectionKind.ESCALATION,
    "エスカレーション先": SectionKind.ESCALATION,
    "エスカレーション手順": SectionKind.ESCALATION,
    "cases": SectionKind.EXAMPLES,
    "case examples": SectionKind.EXAMPLES,
    "具体例": SectionKind.EXAMPLES,
    "違反例": SectionKind.EXAMPLES,
    "reference": SectionKind.REFERENCES,
    "related documents": SectionKind.REFERENCES,
    "see also": SectionKind.REFERENCES,
    "関連文書": SectionKind.REFERENCES,
}
# What a heading may carry around its words: a number ("2.", "2)", "(2)", "第2章", "2.1"),
# a bracketed aside ("例外（適用除外）"), a trailing colon.
_HEADING_NUMBER = re.compile(r"^(?:第\s*\d+\s*[章節条項]|\(\d+\)|\d+(?:\.\d+)*[.)]?)\s*")
_HEADING_ASIDE = re.compile(r"\s*[(\[][^()\[\]]*[)\]]$")
_HEADING_TAIL = re.compile(r"[\s:.。・]+$")


class StatementKind(StrEnum):
    """Kinds of statement; each is also a node label (see ontology.schema)."""

    POLICY = "policy"
    EXCEPTION = "exception"
    ENFORCEMENT = "enforcement"
    ESCALATION = "escalation"


STATEMENT_SECTION_KINDS: dict[SectionKind, StatementKind] = {
    SectionKind.POLICY: StatementKind.POLICY,
    SectionKind.EXCEPTIONS: StatementKind.EXCEPTION,
    SectionKind.ENFORCEMENT: StatementKind.ENFORCEMENT,
    SectionKind.ESCALATION: StatementKind.ESCALATION,
}
"""Sections whose top-level list items are statements, and the kind of those statements."""

# Statement kinds that belong to other statements through `applies_to`.
DEPENDENT_KINDS: frozenset[StatementKind] = frozenset(
    {StatementKind.EXCEPTION, StatementKind.ENFORCEMENT, StatementKind.ESCALATION}
)


def section_kind(anchor: str | None, heading: str) -> SectionKind:
    """The kind of a level-2 section: from its anchor (`{#exceptions}`, or the kind's name in
    another language, `{#例外}`), else, without one, from its heading text. An anchor that
    names no kind (`## Exceptions {#legacy}`) makes a plain section, as the format says: the
    author chose the anchor, and the heading does not overrule it."""
    if anchor:
        try:
            return SectionKind(anchor.lower())
        except ValueError:
            return HEADING_KINDS.get(heading_key(anchor), SectionKind.OTHER)
    return HEADING_KINDS.get(heading_key(heading), SectionKind.OTHER)


def heading_key(heading: str) -> str:
    """A heading's text as HEADING_KINDS knows it: NFKC (full-width digits and brackets),
    lower case, one space between words, without a leading number, a trailing bracketed
    aside or a trailing colon."""
    key = " ".join(unicodedata.normalize("NFKC", heading).lower().split())
    key = _HEADING_NUMBER.sub("", key)
    key = _HEADING_TAIL.sub("", key)
    key = _HEADING_ASIDE.sub("", key)
    return _HEADING_TAIL.sub("", key)


# How people name each market in queries (English, Japanese; demonyms included).
MARKET_NAMES: dict[str, tuple[str, ...]] = {
    "JP": ("japan", "japanese", "日本", "国内"),
    "SG": ("singapore", "singaporean", "シンガポール"),
    "MY": ("malaysia", "malaysian", "マレーシア"),
    "TH": ("thailand", "thai", "タイ"),
    "VN": ("vietnam", "viet nam", "vietnamese", "ベトナム"),
    "PH": ("philippines", "philippine", "filipino", "フィリピン"),
    "ID": ("indonesia", "indonesian", "インドネシア"),
}
