"""Text analysis for the Neo4j fulltext (Lucene) fields and for the queries sent to them.

Every text (passage or query, whatever its language) is analysed into two fields:

- the Japanese field, `ja_search_field(text)`: terms from the morphological analyser
  (fugashi + unidic-lite), space-joined and indexed with Lucene's `whitespace` analyzer,
  so Lucene keeps our terms exactly. It covers the *whole* text: Latin words are kept
  too (lowercased, unstemmed), because Japanese SOPs and queries mix in words such as
  LINE, NG or iPhone, and an English passage quoting 並行輸入品 must be found by it.
- the English field, `en_search_field(text)`: the normalised text with Japanese script
  removed, indexed with Lucene's `english` analyzer (stemming, stop words). Japanese is
  removed because that analyzer cuts kanji and hiragana into single-character tokens,
  which would only add noise; the Japanese field already carries those words.

Queries take the same paths: `fulltext_query(ja_terms(q))` against the Japanese index and
`fulltext_query(en_terms(q))` against the English one (either may be "": skip it).

What the Japanese terms are, and why (BM25 only matches identical terms):

- content words only: nouns, verbs, adjectives, na-adjectives, adverbs, Latin words and
  numbers; particles, auxiliaries, symbols, formal nouns (こと, ため ...) and the light
  verbs (する, なる, いる ...) are dropped, as are prefixes and suffixes on their own.
- each word gives its lemma (unidic's '-gloss' stripped) and its dictionary form as
  written, so spelling variants meet: シミ/しみ/染み all give 染み, サーバ/サーバー give
  サーバー, 綺麗/奇麗 give 奇麗, and 消えた gives 消える. The inflected surface of a verb
  (消え) is not emitted: it would never match a query written in another tense.
- compounds: unidic splits 並行輸入品 into 並行 + 輸入 + 品. Runs of adjacent nouns,
  prefixes and suffixes (no space between) also give each adjacent pair (並行輸入,
  輸入品) and the whole run (並行輸入品, up to six parts), so a query for the compound
  ranks exact compounds first while its parts still match on their own.
- numbers: 10,000 and 1.5 are kept whole; a number and its unit form a compound like any
  other (10万円, 5kg, 18歳, 30%).
- terms are NFKC-normalised and lowercased (the whitespace analyzer does neither), so
  ＬＩＮＥ, LINE and line are one term.

Term positions in the Japanese field are not meaningful (variants and compounds are
interleaved), so query it with terms, not phrases.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

import fugashi

Language = Literal["ja", "en"]

_WHITESPACE = re.compile(r"\s+")
# Invisible characters that survive NFKC and silently glue or split words in pasted text.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]|[\x00-\x08\x0b\x0e-\x1f\x7f]")
# Kana, kanji (incl. extensions and compatibility ideographs) and the iteration marks.
_JA_CHAR = (
    "\u3005-\u3007\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f"
)
_JA_RE = re.compile(f"[{_JA_CHAR}]")
# Japanese script plus the CJK punctuation block (。、「」・〜 ...), removed from English text.
_JA_RUN = re.compile(f"[{_JA_CHAR}\u3000-\u303f\u30fb]+")
_DIGIT_GROUP_COMMA = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
# Punctuation around a word (brackets, quotes, full stops); inner punctuation (1.5kg,
# e-mail) is left to the english analyzer, which knows how to split it.
_EDGE_PUNCT = re.compile(r"^[\W_]+|[\W_]+$")

# A text is Japanese when at least this share of its letters is Japanese script. Low on
# purpose: one kanji carries about as much as a short English word, so a Japanese query
# such as "iPhone 15 Pro Maxの偽物" (3 of 15 letters) still counts as Japanese, while an
# English passage quoting a term (並行輸入品 in two sentences) stays English.
_JA_SHARE = 0.2

# Lucene's EnglishAnalyzer stop words: dropped from Latin words in both fields.
_EN_STOP_WORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their "
    "then there these they this to was will with".split()
)
# Formal nouns written in kana: grammatical glue, present in nearly every sentence.
_JA_STOP_NOUNS = frozenset(
    "こと もの ため とき ところ よう ほう わけ はず うち まま まえ あと なか".split()
)
_CONTENT_POS = frozenset({"名詞", "動詞", "形容詞", "形状詞", "副詞"})
_COMPOUND_POS = frozenset({"名詞", "接頭辞", "接尾辞", "形状詞"})
_MAX_COMPOUND_PARTS = 6

# Lucene classic query syntax: the characters QueryParser.escape() escapes, and the
# operator words, which are operators only in upper case and only as whole tokens.
_LUCENE_SPECIAL = re.compile(r'([+\-&|!(){}\[\]^"~*?:\\/])')
_LUCENE_OPERATOR_WORD = re.compile(r"(?<!\S)(AND|OR|NOT)(?!\S)")
_MIN_BOOST = 1e-4


def normalize(text: str) -> str:
    """NFKC (full-width ASCII and half-width kana fold), invisible characters removed,
    whitespace collapsed to single spaces and trimmed."""
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text)
    return _WHITESPACE.sub(" ", text).strip()


def detect_language(text: str) -> Language:
    """Return "ja" when Japanese script is a meaningful share of the letters, else "en"."""
    ja = other = 0
    for ch in text:
        if _JA_RE.match(ch):
            ja += 1
        elif ch.isalpha():
            other += 1
    if ja == 0:
        return "en"
    return "ja" if ja / (ja + other) >= _JA_SHARE else "en"


# --- Japanese -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Morph:
    surface: str
    pos1: str
    pos2: str
    lemma: str | None
    base: str | None  # dictionary form as written (orthBase); None for unknown words
    spaced: bool  # whitespace precedes it in the text

    @property
    def is_number(self) -> bool:
        return self.surface.isascii() and self.surface.isdigit()


_tagger: fugashi.Tagger | None = None
# MeCab taggers are not thread safe, and the nodes they return point into the tagger's
# lattice, which the next parse overwrites: parse and read the nodes under this lock.
_tagger_lock = threading.Lock()


def _get_tagger() -> fugashi.Tagger:
    global _tagger
    if _tagger is None:
        # Default dictionary lookup finds unidic-lite (a dependency); indexing and querying
        # must use the same dictionary or their terms stop matching.
        _tagger = fugashi.Tagger()
    return _tagger


def _parse(text: str) -> list[_Morph]:
    with _tagger_lock:
        return [
            _Morph(
                surface=node.surface,
                pos1=node.feature.pos1 or "",
                pos2=node.feature.pos2 or "",
                lemma=node.feature.lemma,
                base=node.feature.orthBase,
                spaced=bool(node.white_space),
            )
            for node in _get_tagger()(text)
        ]


def _merge_numbers(morphs: list[_Morph]) -> list[_Morph]:
    """Re-join numbers unidic splits: 1 . 5 -> 1.5 and 10 , 000 -> 10000 (so 10,000円 and
    10000円 match)."""
    out: list[_Morph] = []
    i = 0
    while i < len(morphs):
        m = morphs[i]
        nxt = morphs[i + 1] if i + 1 < len(morphs) else None
        if (
            out
            and out[-1].is_number
            and nxt is not None
            and nxt.is_number
            and not m.spaced
            and not nxt.spaced
            and (m.surface == "." or (m.surface == "," and len(nxt.surface) == 3))
        ):
            sep = "." if m.surface == "." else ""
            prev = out.pop()
            out.append(replace(prev, surface=prev.surface + sep + nxt.surface))
            i += 2
            continue
        out.append(m)
        i += 1
    return out


def _fold(term: str) -> str:
    return _WHITESPACE.sub("", unicodedata.normalize("NFKC", term)).lower()


def _strip_gloss(lemma: str) -> str:
    # unidic lemmas carry a gloss after a hyphen: 'コスメ-cosmetic', '円-助数詞'.
    head, _, _ = lemma.partition("-")
    return head or lemma


def _has_alnum(term: str) -> bool:
    return any(ch.isalnum() for ch in term)


def _is_content(m: _Morph) -> bool:
    if m.pos1 not in _CONTENT_POS:
        return False
    if m.pos1 == "名詞":
        return m.surface not in _JA_STOP_NOUNS
    # 非自立可能: light verbs and adjectives (する, なる, いる, できる, ない ...);
    # 助動詞語幹: the stems of そうだ/ようだ.
    return m.pos2 not in ("非自立可能", "助動詞語幹")


def _word_terms(m: _Morph) -> list[str]:
    if not _is_content(m):
        return []
    forms = [_strip_gloss(m.lemma) if m.lemma else m.surface, m.base or m.surface]
    terms: list[str] = []
    for form in forms:
        term = _fold(form)
        if term and term not in terms and term not in _EN_STOP_WORDS and _has_alnum(term):
            terms.append(term)
    return terms


def _joins(m: _Morph, run: list[_Morph]) -> bool:
    """Whether `m` continues (or starts) a compound run."""
    if m.surface == "%":  # unit of the number before it
        return bool(run) and run[-1].is_number
    if run and run[-1].surface == "%":  # and the end of the compound: 30%OFF -> 30%, off
        return False
    if m.pos1 not in _COMPOUND_POS or m.surface in _JA_STOP_NOUNS:
        return False
    return not (m.pos1 == "形状詞" and m.pos2 == "助動詞語幹")


def _compound_terms(run: list[_Morph]) -> list[str]:
    parts = [_fold(m.surface) for m in run]
    if len(parts) < 2:
        return []
    terms = [a + b for a, b in zip(parts, parts[1:], strict=False)]
    if 3 <= len(parts) <= _MAX_COMPOUND_PARTS:
        terms.append("".join(parts))
    return terms


def ja_terms(text: str) -> list[str]:
    """Index/query terms of `text`, in text order, repeated as often as they occur (term
    frequency counts for BM25). See the module docstring for what is kept and why."""
    text = normalize(text)
    if not text:
        return []
    terms: list[str] = []
    run: list[_Morph] = []
    for m in _merge_numbers(_parse(text)):
        if m.spaced or not _joins(m, run):
            terms.extend(_compound_terms(run))
            run = []
        if _joins(m, run):
            run.append(m)
        terms.extend(_word_terms(m))
    terms.extend(_compound_terms(run))
    return terms


def ja_search_field(text: str) -> str:
    """The Japanese fulltext field: `ja_terms` space-joined (index it with `whitespace`)."""
    return " ".join(ja_terms(text))


# --- English ------------------------------------------------------------------------


def en_search_field(text: str) -> str:
    """The English fulltext field (index it with `english`): the normalised text without
    Japanese script, digit-group commas dropped as on the Japanese side (10,000 -> 10000)."""
    text = _DIGIT_GROUP_COMMA.sub("", normalize(text))
    return _WHITESPACE.sub(" ", _JA_RUN.sub(" ", text)).strip()


def en_terms(text: str) -> list[str]:
    """Query words for the English index: the words of `en_search_field`, lowercased,
    without stop words (the analyzer would drop them; dropping them here lets a query of
    stop words alone come out empty instead of matching nothing)."""
    return [w for t in en_search_field(text).lower().split() if (w := _en_word(t)) is not None]


def _en_word(token: str) -> str | None:
    """A lowercased token of the English field as a query word; None for a stop word or
    punctuation alone."""
    word = _EDGE_PUNCT.sub("", token)
    return word if word and word not in _EN_STOP_WORDS else None


# --- term sets (the learned term table's keys) ---------------------------------------


def fold_en(word: str) -> str:
    """A light plural fold, so "listings" and "listing" are one entry (the English fulltext
    analyzer stems both sides anyway)."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def ja_term_set(text: str) -> set[str]:
    """Distinct Japanese terms of two characters or more: the learned term table's keys."""
    return ja_field_term_set(ja_search_field(text))


def ja_field_term_set(field: str) -> set[str]:
    """`ja_term_set` of a text whose Japanese fulltext field is `field`: a passage's stored
    field gives it without analysing the text again (the term table is learnt from every
    aligned passage of the graph at each ingest)."""
    return {t for t in field.split() if len(t) >= 2}


def en_term_set(text: str) -> set[str]:
    """Distinct English content words, plurals and possessives folded: the learned term
    table's keys."""
    return en_field_term_set(en_search_field(text))


def en_field_term_set(field: str) -> set[str]:
    """`en_term_set` of a text whose English fulltext field is `field`."""
    return {k for token in field.lower().split() if (k := _en_key(token)) is not None}


@lru_cache(maxsize=1 << 16)
def _en_key(token: str) -> str | None:
    """A lowercased word's term-table key (None: a stop word, short, or a number); cached,
    as the table is learnt from every aligned passage at each ingest and words repeat."""
    word = _en_word(token)
    if word is None:
        return None
    word = _EDGE_PUNCT.sub("", word.removesuffix("'s").removesuffix("’s"))
    return fold_en(word) if len(word) >= 3 and not word.isdigit() else None


# --- Lucene query syntax ------------------------------------------------------------


def lucene_escape(term: str) -> str:
    """Escape `term` for Lucene's classic query parser (what Neo4j's fulltext procedures
    use): every special character gets a backslash, and the operator words AND / OR / NOT
    standing alone get one on their first letter, which makes them plain terms.
    Whitespace is left as is: it still separates terms."""
    escaped = _LUCENE_SPECIAL.sub(r"\\\1", term)
    return _LUCENE_OPERATOR_WORD.sub(r"\\\1", escaped)


def _format_boost(boost: float) -> str:
    # The query grammar takes digits with an optional fraction: no exponent, no sign.
    return f"{boost:.4f}".rstrip("0").rstrip(".")


def _boost_of(raw: str, term: str, boosts: Mapping[str, float] | None) -> float:
    if not boosts:
        return 1.0
    boost = boosts.get(raw, boosts.get(term, 1.0))
    if not (_MIN_BOOST <= boost < float("inf")):
        raise ValueError(f"boost for {raw!r} must be a finite number >= {_MIN_BOOST}: {boost}")
    return boost


def fulltext_query(terms: Iterable[str], boosts: Mapping[str, float] | None = None) -> str:
    """An OR query of `terms` for a Neo4j fulltext index, safe whatever the terms contain.

    Terms are normalised and lowercased (both fields are case-insensitive, and lowercase
    and/or/not are never operators); terms without a letter or digit, empty terms and
    duplicates are dropped (a duplicate keeps the highest boost); terms with spaces become
    quoted phrases. `boosts` maps a term (as given or normalised) to a factor >= 0.0001.
    Returns "" when nothing is left: the caller must then skip the query.
    """
    clauses: dict[str, float] = {}
    for raw in terms:
        term = normalize(raw).lower()
        if not _has_alnum(term):
            continue
        boost = _boost_of(raw, term, boosts)
        clauses[term] = max(boost, clauses.get(term, boost))
    rendered = []
    for term, boost in clauses.items():
        clause = f'"{lucene_escape(term)}"' if " " in term else lucene_escape(term)
        if boost != 1.0:
            clause += "^" + _format_boost(boost)
        rendered.append(clause)
    return " OR ".join(rendered)
