"""Bilingual glossary: groups of terms in each language that name one idea."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from ontology.vocabulary import LANGUAGES
from ontology.yaml_errors import YamlDataError, yaml_problem


class GlossaryError(YamlDataError):
    """The glossary data is not a list of bilingual term groups."""


@dataclass(frozen=True)
class TermGroup:
    key: str  # stable id: the first term of the first language that has one
    terms: dict[str, tuple[str, ...]]  # lang -> terms, first is the preferred one

    def all_terms(self) -> list[tuple[str, str]]:
        return [(lang, t) for lang, ts in self.terms.items() for t in ts]


def parse_glossary(data: Any, lines: Sequence[int] = ()) -> list[TermGroup]:
    """The term groups of a glossary's data; `lines`, where each group starts in the file."""
    if data is None:
        return []
    if not isinstance(data, dict) or not isinstance(data.get("terms"), list):
        raise GlossaryError("a glossary needs a top-level `terms:` list")
    groups: list[TermGroup] = []
    for i, raw in enumerate(data["terms"], start=1):
        line = lines[i - 1] if i <= len(lines) else 0
        if not isinstance(raw, dict):
            raise GlossaryError(f"term group {i} is not a mapping", line)
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
            raise GlossaryError(f"term group {i} names no term in {', '.join(LANGUAGES)}", line)
        first = next(iter(terms.values()))[0]
        groups.append(TermGroup(key=f"{i}:{first}", terms=terms))
    return groups


def glossary_from_yaml(text: str) -> list[TermGroup]:
    try:
        data, root = yaml.safe_load(text), yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        raise GlossaryError(yaml_problem(e)) from e
    return parse_glossary(data, _group_lines(root))


def _group_lines(root: yaml.Node | None) -> list[int]:
    """The line each item of the top-level `terms:` list starts on."""
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if key.value == "terms" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []
