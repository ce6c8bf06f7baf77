"""Glossary expansion: terms of a query found in the bilingual glossary bring their
synonyms and their translations, so a Japanese query can match English-only text
lexically and the reverse."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from kg.analysis import en_terms, ja_terms, normalize

# Placeholders in glossary entries ("〇〇風" = "<brand>-style") are not matchable text.
_PLACEHOLDER = re.compile(r"[〇○◯]+|\bxx\b|\.\.\.|…")
_HAS_JA = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


@dataclass(frozen=True)
class TermGroupView:
    en: tuple[str, ...]
    ja: tuple[str, ...]


@dataclass
class Expansion:
    matched: list[str] = field(default_factory=list)  # the glossary terms seen in the query
    ja_terms: dict[str, float] = field(default_factory=dict)  # extra terms -> boost
    en_terms: dict[str, float] = field(default_factory=dict)
    # Glossary words of the matched groups, as written, per language (preferred first).
    words: dict[str, list[str]] = field(default_factory=dict)

    def gloss(self, lang: str, limit: int = 3) -> str:
        """The matched ideas named in `lang`, a few words per idea, for a bilingual query."""
        return " ".join(self.words.get(lang, [])[: limit * max(1, len(self.matched))])


def _clean(term: str) -> str:
    return normalize(_PLACEHOLDER.sub(" ", term)).strip(" -・").lower()


class Glossary:
    def __init__(self, groups: Iterable[TermGroupView]) -> None:
        self.groups = list(groups)
        self._ja: list[tuple[str, int]] = []
        self._en: list[tuple[re.Pattern[str], int]] = []
        for i, g in enumerate(self.groups):
            for t in g.ja:
                c = _clean(t)
                if len(c) >= 2:  # one kana or kanji alone matches far too much
                    self._ja.append((c, i))
            for t in g.en:
                c = _clean(t)
                if len(c) >= 3 or (c and _HAS_JA.search(c)):
                    # Whole words, with an optional plural; hyphen and space interchangeable.
                    body = re.escape(c).replace(r"\-", "[- ]?").replace(r"\ ", "[- ]?")
                    self._en.append((re.compile(rf"(?<![a-z0-9]){body}(?:s|es)?(?![a-z0-9])"), i))

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, object]]) -> Glossary:
        def terms(v: object) -> tuple[str, ...]:
            return tuple(str(x) for x in v) if isinstance(v, list | tuple) else ()

        return cls(TermGroupView(en=terms(r.get("en")), ja=terms(r.get("ja"))) for r in rows)

    def expand(self, query: str, query_lang: str) -> Expansion:
        text = normalize(query).lower()
        hit: dict[int, str] = {}
        for term, i in self._ja:
            if term in text:
                hit.setdefault(i, term)
        for pattern, i in self._en:
            m = pattern.search(text)
            if m:
                hit.setdefault(i, m.group(0))
        out = Expansion(matched=list(hit.values()))
        for i in hit:
            g = self.groups[i]
            for lang, ts in (("ja", g.ja), ("en", g.en)):
                cleaned = [c for c in (_clean(t) for t in ts[:3]) if c]
                out.words.setdefault(lang, []).extend(cleaned)
            # Translations carry the query's meaning into the other index at full weight;
            # same-language synonyms widen recall but should not outrank the words typed.
            ja_boost = 1.0 if query_lang == "en" else 0.5
            en_boost = 1.0 if query_lang == "ja" else 0.5
            for t in g.ja:
                for term in ja_terms(_clean(t)):
                    out.ja_terms[term] = max(out.ja_terms.get(term, 0.0), ja_boost)
            for t in g.en:
                c = _clean(t)
                if not c:
                    continue
                words = en_terms(c)
                phrase = " ".join(words)
                if phrase:
                    out.en_terms[phrase] = max(out.en_terms.get(phrase, 0.0), en_boost)
        return out
