"""Bilingual glossary: groups of terms in each language that name one idea."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from ontology.vocabulary import LANGUAGES


class GlossaryError(ValueError):
    """The glossary data is not a list of bilingual term groups."""


@dataclass(frozen=True)
class TermGroup:
    key: str  # stable id: the first term of the first language that has one
    terms: dict[str, tuple[str, ...]]  # lang -> terms, first is the preferred one

    def all_terms(self) -> list[tuple[str, str]]:
        return [(lang, t) for lang, ts in self.terms.items() for t in ts]


def parse_glossary(data: Any) -> list[TermGroup]:
    if data is None:
        return []
    if not isinstance(data, dict) or not isinstance(data.get("terms"), list):
        raise GlossaryError("a glossary needs a top-level `terms:` list")
    groups: list[TermGroup] = []
    for i, raw in enumerate(data["terms"], start=1):
        if not isinstance(raw, dict):
            raise GlossaryError(f"term group {i} is not a mapping")
        terms: dict[str, tuple[str, ...]] = {}
        for lang in LANGUAGES:
            value = raw.get(lang)
            if value is None:
                continue
            items = value if isinstance(value, list) else [value]
            cleaned = tuple(str(t).strip() for t in items if str(t).strip())
            if cleaned:
                terms[lang] = cleaned
        if not terms:
            raise GlossaryError(f"term group {i} names no term in {', '.join(LANGUAGES)}")
        first = next(iter(terms.values()))[0]
        groups.append(TermGroup(key=f"{i}:{first}", terms=terms))
    return groups


def glossary_from_yaml(text: str) -> list[TermGroup]:
    try:
        return parse_glossary(yaml.safe_load(text))
    except yaml.YAMLError as e:
        raise GlossaryError(f"invalid YAML: {e}") from e
