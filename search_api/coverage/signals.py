"""Small, explainable text signals the coverage checks rely on (pure functions, no I/O).

- numbers a statement names (`numbers`, `unit_numbers`), in either language, so that a
  translation that lost a number, or two statements that set different limits, show;
- the sanctions a statement's first stage names (`first_offence`), from a bilingual
  vocabulary, so that two enforcement items about the same violation can be compared;
- market names masked (`mask_markets`), so two documents that differ only in the market
  they govern compare equal;
- cosine similarity of stored passage embeddings.

Each signal is deliberately simple: a finding must say why it was raised, in a sentence a
knowledge owner can check against the text.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence

from kg.analysis import en_terms, ja_terms
from ontology.vocabulary import MARKET_NAMES

# --- numbers ------------------------------------------------------------------------------
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_TIME = re.compile(r"\b(\d{1,2}):(\d{2})\b")
_EN_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "twice": 2,
}  # fmt: skip
_EN_WORD_RE = re.compile(r"\b(" + "|".join(_EN_WORDS) + r")\b", re.IGNORECASE)
# Japanese ordinals of a stage (2回目 = "second violation") are not quantities.
_JA_ORDINAL_AFTER = re.compile(r"^\s*(回目|度目|番目)")
_JA_MULTIPLIER = {"万": 10_000, "億": 100_000_000}
_UNIT_WORD = re.compile(r"^[\s-]*([A-Za-z%¥$]+|[^\sA-Za-z0-9、。,.]{1,3})")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _value(raw: str) -> float:
    return float(raw.replace(",", ""))


def _fmt(v: float) -> str:
    return str(int(v)) if v == int(v) else f"{v:g}"


def unit_numbers(text: str) -> list[tuple[str, str]]:
    """(number, unit) pairs a text names: `within 90 days` -> ("90", "day"), `18歳` ->
    ("18", "歳"), `5万円` -> ("50000", "円"); English number words count (`one strike`)."""
    text = _fold(text)
    text = _TIME.sub(lambda m: m.group(1) if m.group(2) == "00" else m.group(0), text)
    text = _EN_WORD_RE.sub(lambda m: str(_EN_WORDS[m.group(1).lower()]), text)
    out: list[tuple[str, str]] = []
    for m in _NUMBER.finditer(text):
        rest = text[m.end() : m.end() + 12]
        if _JA_ORDINAL_AFTER.match(rest):
            continue
        value = _value(m.group(0)) if m.group(0).replace(",", "").replace(".", "").isdigit() else 0
        if rest[:1] in _JA_MULTIPLIER:
            value *= _JA_MULTIPLIER[rest[0]]
            rest = rest[1:]
        unit = _UNIT_WORD.match(rest)
        word = unit.group(1).lower() if unit else ""
        if word and not word.isascii():
            word = word[0]  # a Japanese counter: 日, 時 (時間), 歳, 件, 円 ...
        elif word.endswith("s") and not word.endswith("ss") and len(word) > 3:
            word = word[:-1]
        out.append((_fmt(value), word))
    return out


def numbers(text: str) -> set[str]:
    """The quantities a text names, as normalised strings (`1万` and `10,000` -> 10000)."""
    return {n for n, _ in unit_numbers(text)}


def conflicting_numbers(a: str, b: str) -> list[tuple[str, str, str]]:
    """(unit, numbers of a, numbers of b) for each unit both texts give a number for, with
    different numbers: `under 18` / `under 21`, `within 1 business day` / `within 2`."""
    ua: dict[str, set[str]] = {}
    ub: dict[str, set[str]] = {}
    for n, u in unit_numbers(a):
        if u:
            ua.setdefault(u, set()).add(n)
    for n, u in unit_numbers(b):
        if u:
            ub.setdefault(u, set()).add(n)
    out = []
    for unit in sorted(set(ua) & set(ub)):
        if ua[unit] != ub[unit]:
            out.append((unit, ",".join(sorted(ua[unit])), ",".join(sorted(ub[unit]))))
    return out


# --- sanctions ----------------------------------------------------------------------------
# Canonical sanctions, most severe first: a clause is read for the first one that matches
# at each place, so "the account is deleted" is an account sanction, not a removal.
SANCTIONS: tuple[tuple[str, str, str], ...] = (
    (
        "account suspension",
        r"\b(account|shop|store)s?\b[^.;,]{0,40}?\b(suspend\w*|clos\w*|terminat\w*|banned|delet\w*)"
        r"|\b(suspend\w*|terminat\w*|ban|clos\w*)\b[^.;,]{0,15}\b(the |their )?(account|shop|store)\b"
        r"|\baccount (suspension|ban|termination)|\bpermanent(ly)? ban\w*",
        r"(アカウント|ショップ)[をはも]?[^。、の]{0,6}?(停止|削除|凍結|閉鎖|取り消)"
        r"|(アカウント|ショップ)(停止|削除|凍結|閉鎖)",
    ),
    (
        "feature suspension",
        r"\b(live|stream\w*|gift\w*|feature|posting|upload\w*)\b[^.;,]{0,30}\b(disabled|suspend\w*|remov\w*|restrict\w*)"
        r"|\b(disable|suspend)\w*\b[^.;,]{0,20}\b(live|stream\w*|gift\w*|feature)"
        r"|\b(lose|loses|losing|lost)\b[^.;,]{0,30}\b(features?|access|privileges?)\b",
        r"(機能|配信|ライブ|投稿|ギフト)[をのは]?[^。、]{0,10}(停止|制限|外す)",
    ),
    (
        "listing restriction",
        r"\blisting\w*\b[^.;,]{0,25}\b(suspend\w*|restrict\w*)|\b(listing|selling) (suspension|restriction|ban)"
        r"|\bselling is (suspended|restricted)|\brestrict\w*|\block(ed|s)?\b",
        r"出品[をのは]?[^。、]{0,8}(停止|制限)|出品(停止|制限)|販売[をの]?[^。、]{0,6}(停止|制限)|ロック",
    ),
    (
        "payout hold",
        r"\b(payouts?|earnings|proceeds|revenue)\b[^.;,]{0,25}\b(held|hold|withheld|frozen)"
        r"|\bhold\w*\b[^.;,]{0,10}(payouts?|earnings|proceeds)",
        r"(売上金|振込|支払|収益)[^。]{0,12}保留",
    ),
    ("strike", r"\bstrikes?\b", r"ストライク"),
    ("removal", r"\b(remov\w*|delet\w*|taken down|take\w* down)", r"削除|取り下げ"),
    ("hiding", r"\b(hid(e|den|ing)|unlist\w*|made private)\b", r"非公開|非表示"),
    ("warning", r"\bwarn\w*", r"警告"),
    ("demotion", r"\b(demot\w*|ranked lower|lower in search)", r"順位を下げ"),
    (
        "edit request",
        r"\b(edit request|asked to (edit|fix|correct|add|change)|request\w* (an? )?(edit|correction|change))",
        r"修正[^。、]{0,3}依頼|依頼",
    ),
)
_SANCTION_RES = [
    (name, re.compile(en, re.IGNORECASE), re.compile(ja)) for name, en, ja in SANCTIONS
]
_NEGATION_EN = re.compile(r"\b(no|without|not|never)\s+(\w+\s+){0,2}$", re.IGNORECASE)
_NEGATION_JA = re.compile(
    r"^(なし|なく|なしに|は(行わ|し)ない|を?付与しない|の段階は設けない|を?設けず)"
)
_LATER_STAGE_EN = re.compile(
    r"\b(second|third|fourth|2nd|3rd|repeat\w*|again|subsequent\w*|further (violation|offen[cs]e)s?"
    r"|(two|three|four|five|\d+) (strikes|violations|times|offen[cs]es))\b",
    re.IGNORECASE,
)
_LATER_STAGE_JA = re.compile(
    r"[2-9２-９二三四五]\s*(回目|度目)|再違反|再度|繰り返|[2-9]回(違反|に達|以上)|ストライクが[2-9]|以降"
)
_CLAUSE = re.compile(r"[.;。；]\s*|:\s+|：")


def _negated(clause: str, start: int, end: int, japanese: bool) -> bool:
    if japanese:
        return bool(_NEGATION_JA.match(clause[end : end + 12]))
    return bool(_NEGATION_EN.search(clause[:start]))


def sanctions(text: str, lang: str) -> set[str]:
    """Canonical sanctions a text names (negated mentions, "with no warning", left out)."""
    japanese = lang == "ja"
    found: set[str] = set()
    for clause in _CLAUSE.split(_fold(text)):
        taken: list[tuple[int, int]] = []
        for name, en, ja in _SANCTION_RES:
            for m in (ja if japanese else en).finditer(clause):
                if any(m.start() < e and s < m.end() for s, e in taken):
                    continue
                taken.append((m.start(), m.end()))
                if not _negated(clause, m.start(), m.end(), japanese):
                    found.add(name)
    return found


def first_stage(text: str, lang: str) -> str:
    """The part of an enforcement text before its later stages ("Second violation ...",
    "90日以内の2回目は ..."): what happens on a first offence."""
    later = _LATER_STAGE_JA if lang == "ja" else _LATER_STAGE_EN
    text = _fold(text)
    kept = []
    for clause in re.split(r"(?<=[.;。；、,])", text):
        if later.search(clause):
            break
        kept.append(clause)
    return "".join(kept).strip()


def first_offence(text: str, lang: str) -> set[str]:
    """Sanctions of an enforcement text's first stage."""
    return sanctions(first_stage(text, lang), lang)


SOFT_SANCTIONS = frozenset({"edit request", "demotion"})


def describe_sanctions(found: Iterable[str]) -> str:
    order = [name for name, _, _ in SANCTIONS]
    names = sorted(found, key=order.index)
    return " + ".join(names) if names else "no sanction named"


# --- markets ------------------------------------------------------------------------------
_MARKET_RE = re.compile(
    "|".join(
        sorted(
            (re.escape(n) for names in MARKET_NAMES.values() for n in names if len(n) > 2),
            key=len,
            reverse=True,
        )
    ),
    re.IGNORECASE,
)
_SPACES = re.compile(r"\s+")


def mask_markets(text: str) -> str:
    """The text with market names (Singapore, マレーシア, ...) replaced by one token,
    NFKC-folded and with whitespace collapsed."""
    return _SPACES.sub(" ", _MARKET_RE.sub("<market>", _fold(text))).strip().lower()


# --- words ---------------------------------------------------------------------------------
_EN_SUFFIXES = ("ing", "ed", "es", "s", "ly")
_FILLER = frozenset(
    "may must can any all other only also more than when which who from has have does do "
    "its our your been being would should could per".split()
)


def _stem(word: str) -> str:
    for suffix in _EN_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def content_words(text: str, lang: str) -> set[str]:
    """Content words of a text, crudely stemmed in English (`names` and `name` meet)."""
    if lang == "ja":
        return {t for t in ja_terms(text) if len(t) > 1}
    return {_stem(w) for w in en_terms(text) if w not in _FILLER and not w.isdigit()}


# --- vectors -------------------------------------------------------------------------------
def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0
