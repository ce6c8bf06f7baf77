"""Glossary expansion: terms of a query found in the bilingual glossary bring their
synonyms and their translations, so a Japanese query can match English-only text
lexically and the reverse."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from kg.analysis import en_term_set, en_terms, ja_term_set, ja_terms, normalize
from kg.reader import GraphReader
from kg.vocabulary_store import VocabularyStore, read_vocabulary
from search_api.dictionary import BilingualDictionary, Vocabulary, load_dictionary, translations

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
    # Translations from the learned term table: (query term, its translation, score).
    learned: list[tuple[str, str, float]] = field(default_factory=list)
    # Translations from the general dictionary, filtered by the corpus's vocabulary:
    # (query term, its translation, score).
    dictionary: list[tuple[str, str, float]] = field(default_factory=list)
    # Share of the query's content terms that a glossary translation covers: how much of
    # the query the other language's fulltext index can be asked about with confidence.
    coverage: float = 0.0

    def gloss(self, lang: str, limit: int = 3, learned: int = 0, dictionary: int = 0) -> str:
        """The matched ideas named in `lang`, a few words per idea, for a bilingual query;
        plus up to `learned` of the learned table's surest translations into `lang`, and up
        to `dictionary` of the dictionary's."""
        return " ".join(self.gloss_words(lang, limit, learned, dictionary))

    def gloss_words(
        self, lang: str, limit: int = 3, learned: int = 0, dictionary: int = 0
    ) -> list[str]:
        """The words of `gloss`, one by one."""
        words = self.words.get(lang, [])[: limit * max(1, len(self.matched))]
        # A translation pair is (query term, translation): translations are in the other
        # language than the query's, which is the only one a gloss is asked for.
        for pairs, n in ((self.learned, learned), (self.dictionary, dictionary)):
            if n:
                ranked = sorted(pairs, key=lambda t: -t[2])
                extra = [t for _, t, _ in ranked if t not in words]
                words = words + list(dict.fromkeys(extra))[:n]
        return words


def _gloss_words(group: TermGroupView, lang: str) -> list[str]:
    """The words a matched group lends a gloss in `lang`: its first three, cleaned."""
    terms = group.ja if lang == "ja" else group.en
    return [c for c in (_clean(t) for t in terms[:3]) if c]


def _clean(term: str) -> str:
    return normalize(_PLACEHOLDER.sub(" ", term)).strip(" -・").lower()


class Glossary:
    def __init__(
        self,
        groups: Iterable[TermGroupView],
        learned: Iterable[tuple[str, str, float]] = (),
        dictionary: BilingualDictionary | None = None,
        vocabulary: Vocabulary | None = None,
    ) -> None:
        self.groups = list(groups)
        # The general dictionary, and the corpus vocabulary that filters its translations.
        self.dictionary = dictionary
        self.vocabulary = vocabulary or Vocabulary()
        # The learned term table (ingest.termtable), both directions: term -> translations.
        self.learned_rows = sorted(learned, key=lambda r: (r[0], -r[2], r[1]))
        self._ja_en: dict[str, list[tuple[str, float]]] = {}
        self._en_ja: dict[str, list[tuple[str, float]]] = {}
        for ja, en, score in self.learned_rows:
            self._ja_en.setdefault(ja, []).append((en, score))
            self._en_ja.setdefault(en, []).append((ja, score))
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
    def from_rows(
        cls,
        rows: Iterable[Mapping[str, object]],
        learned: Iterable[Mapping[str, object]] = (),
        dictionary: BilingualDictionary | None = None,
        vocabulary: Vocabulary | None = None,
    ) -> Glossary:
        """From the graph's Term rows and, optionally, its LearnedTerm rows, a general
        dictionary and the graph's vocabulary."""

        def terms(v: object) -> tuple[str, ...]:
            return tuple(str(x) for x in v) if isinstance(v, list | tuple) else ()

        def score(v: object) -> float:
            return float(v) if isinstance(v, int | float) else 0.0

        return cls(
            (TermGroupView(en=terms(r.get("en")), ja=terms(r.get("ja"))) for r in rows),
            ((str(r["ja"]), str(r["en"]), score(r.get("score"))) for r in learned),
            dictionary,
            vocabulary,
        )

    def with_vocabulary(self, vocabulary: Vocabulary) -> Glossary:
        """The same glossary filtering the dictionary with another vocabulary."""
        out = copy.copy(self)
        out.vocabulary = vocabulary
        return out

    def translate(self, query: str, query_lang: str) -> list[tuple[str, str, float]]:
        """The query's terms found in the learned table, with their translations."""
        if query_lang == "ja":
            return [
                (t, en, sc) for t in sorted(ja_term_set(query)) for en, sc in self._ja_en.get(t, [])
            ]
        return [
            (w, ja, sc) for w in sorted(en_term_set(query)) for ja, sc in self._en_ja.get(w, [])
        ]

    def gloss_vocabulary(self) -> list[str]:
        """Every word a gloss can name (Expansion.gloss_words without learned terms)."""
        words = (w for g in self.groups for lang in ("ja", "en") for w in _gloss_words(g, lang))
        return list(dict.fromkeys(words))

    def expand(
        self, query: str, query_lang: str, learned: float = 0.0, dictionary: float = 0.0
    ) -> Expansion:
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
        own = ja_term_set(query) if query_lang == "ja" else en_term_set(query)
        if own and hit:
            found = [normalize(m).lower() for m in hit.values()]
            covered = [t for t in own if any(t in m or m in t for m in found)]
            out.coverage = len(covered) / len(own)
        for i in hit:
            g = self.groups[i]
            for lang in ("ja", "en"):
                out.words.setdefault(lang, []).extend(_gloss_words(g, lang))
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
        # Learned translations (for the dense gloss) and, when `learned` > 0, in the other
        # language's fulltext query, weighted by how sure the table is; a glossary
        # translation of the same word keeps its weight.
        other = out.en_terms if query_lang == "ja" else out.ja_terms
        for term, translation, sc in self.translate(query, query_lang):
            out.learned.append((term, translation, sc))
            if learned:
                other[translation] = max(other.get(translation, 0.0), learned * sc)
        # The dictionary's translations: each word's best in the fulltext query, at their own
        # weight (`dictionary`); its later senses are context for the dense gloss, and as
        # fulltext terms they pulled in other documents (docs/evaluation.md).
        if self.dictionary is not None:
            out.dictionary = translations(self.dictionary, self.vocabulary, own, query_lang, query)
            if dictionary:
                for translation, sc in best_translations(out.dictionary):
                    other[translation] = max(other.get(translation, 0.0), dictionary * sc)
        return out


def best_translations(pairs: Iterable[tuple[str, str, float]]) -> list[tuple[str, float]]:
    """(translation, score) of each term's best-scored translations (ties kept)."""
    pairs = list(pairs)
    best: dict[str, float] = {}
    for term, _, sc in pairs:
        best[term] = max(best.get(term, 0.0), sc)
    return [(translation, sc) for term, translation, sc in pairs if sc == best[term]]


def corpus_glossary(
    reader: GraphReader,
    dictionary: str,
    vocabulary: Vocabulary | None = None,
    store: VocabularyStore | None = None,
) -> Glossary:
    """The glossary a search of this graph uses: its Term and LearnedTerm rows, and the
    dictionary named by the setting SOPKG_DICTIONARY with the graph's vocabulary (read here
    unless given, through `store` when there is one, and only when there is a dictionary
    to filter)."""
    general = load_dictionary(dictionary)
    if general is not None and vocabulary is None:
        terms = read_vocabulary(reader, store)
        vocabulary = Vocabulary.from_rows(**terms, dictionary=general)
    return Glossary.from_rows(
        reader.glossary(), learned=reader.learned_terms(), dictionary=general, vocabulary=vocabulary
    )
