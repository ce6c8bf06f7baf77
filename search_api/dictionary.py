"""A general Japanese-English dictionary for the query's words the glossary does not know.

The glossary names the domain's ideas and the learned term table what the corpus's aligned
statements teach; neither knows the everyday words a moderator types ("ivory", 「子犬」).
A query in one language about a document written only in the other needs those words
translated. JMdict (the Electronic Dictionary Research and Development Group's
Japanese-English dictionary, CC BY-SA; installed as the `jamdict-data` package's SQLite
database) gives each Japanese word's senses in English.

Only translations the corpus can use are kept: an English word that no passage contains
cannot be matched, and a dictionary offers many (「言う」: say, name, call). The
`Vocabulary` (every term of the graph's passages, read once per corpus change) filters
them, so the translations left are the corpus's own words for the query's ideas.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from kg.analysis import en_term_set

log = logging.getLogger(__name__)

_PARENTHESES = re.compile(r"\([^)]*\)")
# How much of an entry is read: its first senses are its usual meanings, and within a
# sense the first glosses are the plainest; later ones drift (「出品」: "exhibiting", ...,
# "entering (a work into a competition)").
ENTRIES = 2  # per written form (common entries first)
SENSES = 2
GLOSSES = 3
# English -> Japanese reads the dictionary backwards: only the common entries (the
# dictionary's priority marks) and short glosses, or every rare word whose gloss mentions
# "sell" would translate it.
REVERSE_GLOSSES = 4
REVERSE_GLOSS_WORDS = 2
REVERSE_PER_WORD = 3
# A run of the query's English words that is a whole gloss of a noun entry names that
# entry: "power bank" is モバイルバッテリー, "Act on Specified Commercial Transactions" is
# 特定商取引法, where word by word neither is found. Names of laws and things are seldom
# marked common, so every noun entry counts whose headword the corpus contains, with the
# glosses of its first senses that have PHRASE_MIN_WORDS to PHRASE_MAX_WORDS words, two of
# them content words ("too much" and "you should" are glosses too).
PHRASE_MIN_WORDS = 2
PHRASE_MAX_WORDS = 6
PHRASE_SENSES = 2
# English function words (pronouns, determiners, auxiliaries, prepositions, conjunctions,
# degree words): a phrase needs two words outside this list.
_FUNCTION_WORDS = frozenset(
    """a about above after again against all am an and any are as at be been before being
    below between both but by can could did do does doing don down during each every few
    for from further had has have having he her here hers him his how i if in into is it
    its just least less let me more most much my no nor not now of off on once one only or
    other our ours out over own same shall she should so some such than that the their
    them then there these they this those through to too under until up upon very was we
    were what when where which while who whom whose why will with would yet you your
    yours""".split()
)
_WORD = re.compile(r"[a-z0-9]+")
_IDS_PER_QUERY = 500  # SQLite's parameters per statement stay well under its limit

# English phrase (`phrase_key`) -> the corpus's Japanese headwords it names, best first.
PhraseIndex = Mapping[str, tuple[tuple[str, float], ...]]


@dataclass(frozen=True)
class Vocabulary:
    """The terms the graph's passages contain, per language, as `kg.analysis` keys them
    (`ja_term_set` / `en_term_set`)."""

    ja: frozenset[str] = frozenset()
    en: frozenset[str] = frozenset()
    # The dictionary's English phrases for the Japanese terms (BilingualDictionary.phrases),
    # built with the vocabulary because they depend on it.
    phrases: PhraseIndex = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def from_rows(
        cls,
        ja: Iterable[str],
        en: Iterable[str],
        dictionary: BilingualDictionary | None = None,
    ) -> Vocabulary:
        japanese = frozenset(ja)
        phrases = dictionary.phrases(japanese) if dictionary is not None else {}
        return cls(ja=japanese, en=frozenset(en), phrases=phrases)

    def of(self, lang: str) -> frozenset[str]:
        return self.ja if lang == "ja" else self.en


class BilingualDictionary(Protocol):
    name: str

    def ja_to_en(self, term: str) -> list[tuple[str, float]]:
        """English words for a Japanese term, best first, each with a score in (0, 1]."""
        ...

    def en_to_ja(self, word: str) -> list[tuple[str, float]]:
        """Japanese headwords for an English word (an `en_term_set` key), best first."""
        ...

    def phrases(self, japanese: frozenset[str]) -> PhraseIndex:
        """The English phrases that name an entry written as one of `japanese`, as a whole
        gloss, each with those headwords and scores in (0, 1], best first."""
        ...


# An entry is common when one of its written forms carries a priority mark (news1, ichi1...).
_COMMON = (
    "SELECT k.idseq FROM Kanji k JOIN KJP p ON p.kid = k.ID "
    "UNION SELECT k.idseq FROM Kana k JOIN KNP p ON p.kid = k.ID"
)
# English glosses as (entry, sense, gloss) in the dictionary's order, of one entry or all.
_GLOSSES = (
    "SELECT s.idseq, s.ID, g.text FROM Sense s JOIN SenseGloss g ON g.sid = s.ID "
    "WHERE (g.lang = 'eng' OR g.lang IS NULL)"
)
_ORDER = " ORDER BY s.ID, g.rowid"
# Entries with a sense marked as a common noun (futsuumeishi).
_NOUN_ENTRIES = (
    "SELECT DISTINCT s.idseq FROM pos p JOIN Sense s ON s.ID = p.sid "
    "WHERE p.text = 'noun (common) (futsuumeishi)'"
)


def phrase_key(text: str) -> str:
    """A gloss or a run of query words as phrases are keyed: lower-case words without
    parenthesised notes or punctuation ("(Japanese) Copyright Act" -> "copyright act")."""
    return " ".join(_WORD.findall(_PARENTHESES.sub(" ", text).lower()))


def _is_phrase(key: str) -> bool:
    words = key.split()
    content = sum(1 for w in words if w not in _FUNCTION_WORDS)
    return PHRASE_MIN_WORDS <= len(words) <= PHRASE_MAX_WORDS and content >= 2


def phrases_in(text: str, index: PhraseIndex) -> list[tuple[str, tuple[tuple[str, float], ...]]]:
    """The runs of words of `text` that `index` holds, longest first."""
    words = phrase_key(text).split()
    found = []
    for n in range(PHRASE_MAX_WORDS, PHRASE_MIN_WORDS - 1, -1):
        for i in range(len(words) - n + 1):
            key = " ".join(words[i : i + n])
            if key in index:
                found.append((key, index[key]))
    return found


def _best_first(scores: Mapping[str, float]) -> list[tuple[str, float]]:
    """(word, score) by score, then alphabetically: one order for every lookup."""
    return sorted(scores.items(), key=lambda t: (-t[1], t[0]))


def _by_sense(rows: Iterable[tuple[int, int, str]]) -> dict[int, list[list[str]]]:
    """(entry, sense, gloss) rows in sense order -> each entry's senses, their glosses."""
    senses: dict[int, dict[int, list[str]]] = {}
    for idseq, sid, text in rows:
        senses.setdefault(idseq, {}).setdefault(sid, []).append(text)
    return {idseq: list(by_sense.values()) for idseq, by_sense in senses.items()}


@dataclass(eq=False)  # hashed by identity: its lookups are cached per instance
class JMdict:
    """JMdict read from its SQLite database: forward lookups by indexed query (cached),
    the common entries and the reverse index of their glosses read once into memory."""

    path: Path
    name: str = "jmdict"
    _local: threading.local = field(default_factory=threading.local, repr=False)
    _common: frozenset[int] | None = field(default=None, repr=False)
    _reverse: dict[str, dict[str, float]] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _db(self) -> sqlite3.Connection:
        # One read-only connection per thread: sqlite3 connections are not shared.
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            self._local.db = db
        return db

    @lru_cache(maxsize=1 << 14)  # noqa: B019 - one dictionary a process, never freed
    def ja_to_en(self, term: str) -> list[tuple[str, float]]:
        db = self._db()
        ids = [
            r[0]
            for r in db.execute(
                "SELECT idseq FROM Kanji WHERE text = ? UNION SELECT idseq FROM Kana WHERE text = ?",
                (term, term),
            )
        ]
        common = self._common_entries()
        best: dict[str, float] = {}
        for e, idseq in enumerate(sorted(ids, key=lambda i: (i not in common, i))[:ENTRIES]):
            senses = _by_sense(db.execute(_GLOSSES + " AND s.idseq = ?" + _ORDER, (idseq,)))
            for s, glosses in enumerate(senses.get(idseq, [])[:SENSES]):
                for g, gloss in enumerate(glosses[:GLOSSES]):
                    score = 1.0 / (1 + e + s + 0.25 * g)
                    for word in sorted(en_term_set(_PARENTHESES.sub(" ", gloss))):
                        best[word] = max(best.get(word, 0.0), score)
        return _best_first(best)

    def en_to_ja(self, word: str) -> list[tuple[str, float]]:
        heads = self._reverse_index().get(word, {})
        return _best_first(heads)

    def _common_entries(self) -> frozenset[int]:
        with self._lock:
            if self._common is None:
                self._common = frozenset(r[0] for r in self._db().execute(_COMMON))
            return self._common

    def _reverse_index(self) -> dict[str, dict[str, float]]:
        common = self._common_entries()
        with self._lock:
            if self._reverse is None:
                self._reverse = self._build_reverse(common)
            return self._reverse

    def phrases(self, japanese: frozenset[str]) -> PhraseIndex:
        # Built per vocabulary, so only the corpus's headwords are held: the whole
        # dictionary's 125,000 phrases took about 100 MB in a server (docs/evaluation.md).
        db = self._db()
        head = self._headwords(lambda _, text: text in japanese)
        common = self._common_entries()
        found: dict[str, dict[str, float]] = {}
        ids = sorted(head)
        for start in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ids[start : start + _IDS_PER_QUERY]
            among = f" AND s.idseq IN ({','.join('?' * len(chunk))})"
            nouns = {r[0] for r in db.execute(_NOUN_ENTRIES + among, chunk)}
            rows = db.execute(_GLOSSES + among + _ORDER, chunk)
            for idseq, by_sense in _by_sense(r for r in rows if r[0] in nouns).items():
                score = 1.0 if idseq in common else 0.8
                for glosses in by_sense[:PHRASE_SENSES]:
                    for key in map(phrase_key, glosses):
                        if _is_phrase(key):
                            heads = found.setdefault(key, {})
                            heads[head[idseq]] = max(heads.get(head[idseq], 0.0), score)
        return {key: tuple(_best_first(heads)) for key, heads in found.items()}

    def _headwords(self, keep: Callable[[int, str], bool]) -> dict[int, str]:
        """Each entry's headword among the written forms `keep` accepts: its first kanji
        form, else its first reading."""
        head: dict[int, str] = {}
        for table in ("Kana", "Kanji"):  # a kanji form, when there is one, wins
            for idseq, text in self._db().execute(
                f"SELECT idseq, text FROM {table} ORDER BY ID DESC"
            ):
                if keep(idseq, text):
                    head[idseq] = text
        return head

    def _build_reverse(self, common: frozenset[int]) -> dict[str, dict[str, float]]:
        """English word -> {headword: score} over the common entries' short glosses."""
        db = self._db()
        head = self._headwords(lambda idseq, _: idseq in common)
        senses = _by_sense(r for r in db.execute(_GLOSSES + _ORDER) if r[0] in common)
        out: dict[str, dict[str, float]] = {}
        for idseq, by_sense in senses.items():
            for s, glosses in enumerate(by_sense[:SENSES]):
                for g, gloss in enumerate(glosses[:REVERSE_GLOSSES]):
                    gloss = _PARENTHESES.sub(" ", gloss).strip()
                    words = en_term_set(gloss)
                    if not words or len(gloss.split()) > REVERSE_GLOSS_WORDS:
                        continue
                    score = (1.0 if len(words) == 1 else 0.6) / (1 + s + 0.25 * g)
                    for w in words:
                        heads = out.setdefault(w, {})
                        heads[head[idseq]] = max(heads.get(head[idseq], 0.0), score)
        return out


def translations(
    dictionary: BilingualDictionary,
    vocabulary: Vocabulary,
    terms: Iterable[str],
    query_lang: str,
    text: str = "",
) -> list[tuple[str, str, float]]:
    """(query term, its translation, score) for the query's terms (`ja_term_set` or
    `en_term_set` of it) and, for an English query `text`, its phrases that name an entry
    (`Vocabulary.phrases`): the dictionary's translations that the other language's passages
    contain; English -> Japanese keeps a word's or a phrase's `REVERSE_PER_WORD` best."""
    out: list[tuple[str, str, float]] = []
    if query_lang == "ja":
        for term in sorted(terms):
            out.extend((term, w, s) for w, s in dictionary.ja_to_en(term) if w in vocabulary.en)
        return out
    for phrase, named in phrases_in(text, vocabulary.phrases):
        out.extend((phrase, h, s) for h, s in named[:REVERSE_PER_WORD])
    for word in sorted(terms):
        heads = [(h, s) for h, s in dictionary.en_to_ja(word) if h in vocabulary.ja]
        out.extend((word, h, s) for h, s in heads[:REVERSE_PER_WORD])
    return out


def jmdict_path() -> Path | None:
    """The database the `jamdict-data` package installs, or None without it."""
    try:
        import jamdict_data  # type: ignore[import-untyped]
    except ImportError:
        return None
    path = Path(jamdict_data.JAMDICT_DB_PATH)
    return path if path.is_file() else None


@lru_cache(maxsize=4)
def load_dictionary(kind: str) -> BilingualDictionary | None:
    """The process's dictionary for the setting SOPKG_DICTIONARY (`jmdict` or `none`);
    None, with a warning, when JMdict is asked for and not installed: search still works,
    without translations of the words the glossary does not know."""
    if kind == "none":
        return None
    path = jmdict_path()
    if path is None:
        log.warning("SOPKG_DICTIONARY=jmdict but the jamdict-data package is not installed")
        return None
    return JMdict(path)
