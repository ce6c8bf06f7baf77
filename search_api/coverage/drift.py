"""What a statement requires, read the same way in Japanese and English, and where a
statement and its translation disagree (pure functions, no I/O).

A translation can be marked current (`translation_of` names the source's current version)
and still say something else: 30 days in Japanese, 90 in English. Three things a moderator
acts on are compared, after normalising both languages to one form:

- **quantities** with their unit: full-width digits, kanji numerals (`三十日`, `一週間`),
  English number words (`thirty days`, `a week`, `twice`) and unit words in either language
  become one value in one unit class (durations in hours, so `一週間` = `7 days` = 168 h;
  business days, months, years, ages, percentages (`3割` = 30%), amounts (`5万円` = 50000),
  strikes, times, counts). Stages (`2回目`, `第2段階`, `2nd`), dates and item ids (`p4`) are
  not quantities;
- **sanctions** the text names (`search_api.coverage.signals.sanctions`: removal, warning,
  account suspension, ...);
- **teams** named in an escalation step (names in Latin letters, which both language
  versions write the same way: `Seller Risk JP`).

`disagreements(en_text, ja_text, kind)` lists what differs, each with both sides' values as
written, for a `translation-drift` finding.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from search_api.coverage.signals import SOFT_SANCTIONS, sanctions


class Unit(StrEnum):
    """The unit class a quantity is compared in."""

    DURATION = "hours"  # minutes, hours, days, weeks: in hours
    BUSINESS_DAY = "business days"
    MONTH = "months"
    YEAR = "years"
    AGE = "age"
    PERCENT = "%"
    AMOUNT = "amount"
    STRIKE = "strikes"
    TIMES = "times"
    COUNT = "count"  # listings, photos, accounts, 件, 枚, ...
    NONE = ""  # a bare number ("under 18", "Article 5")


@dataclass(frozen=True)
class Quantity:
    value: float
    unit: Unit
    text: str  # as written (after width folding), for the finding's reason


# --- normalisation ------------------------------------------------------------------------
_KANJI_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6,
                 "七": 7, "八": 8, "九": 9}  # fmt: skip
_KANJI_SMALL = {"十": 10, "百": 100, "千": 1000}
_KANJI_LARGE = {"万": 10_000, "億": 100_000_000}
# Counters after which a kanji numeral is a number: elsewhere 一 is a word (一部, 一般,
# 同一, 第三者, 十分な), so numerals are converted only in front of one of these.
_JA_COUNTERS = (
    "営業日|日間|日|週間|週|か月|ヶ月|ケ月|カ月|ヵ月|箇月|年間|年|時間|分間|分以内|秒|歳|才|回|度|"
    "件|枚|点|個|人|名|本|社|通|品|つ|割|円|パーセント|ストライク"
)
_KANJI_NUMERAL = re.compile(r"(?<![\d第同唯統均単〇零一二三四五六七八九十百千万億])([〇零一二三四五六七八九十百千万億]+)"
                            rf"(?=(?:{_JA_COUNTERS}))")  # fmt: skip


def kanji_to_int(numeral: str) -> int | None:
    """`三十` -> 30, `二十四` -> 24, `五万` -> 50000, `一〇` -> 10; None if not a numeral."""
    if not numeral or any(
        c not in _KANJI_DIGITS and c not in _KANJI_SMALL and c not in _KANJI_LARGE for c in numeral
    ):
        return None
    if all(c in _KANJI_DIGITS for c in numeral) and len(numeral) > 1:  # positional: 一〇
        return int("".join(str(_KANJI_DIGITS[c]) for c in numeral))
    total = section = digit = 0
    seen = False
    for c in numeral:
        if c in _KANJI_DIGITS:
            digit, seen = _KANJI_DIGITS[c], True
        elif c in _KANJI_SMALL:
            section += (digit if seen else 1) * _KANJI_SMALL[c]
            digit, seen = 0, False
        else:
            total += (section + digit or 1) * _KANJI_LARGE[c]
            section = digit = 0
            seen = False
    return total + section + digit


def normalise(text: str) -> str:
    """NFKC (full-width digits and letters to ASCII, `％` to `%`), and kanji numerals in
    front of a counter as digits: `３０日` -> `30日`, `一週間` -> `1週間`, `二十歳` -> `20歳`."""
    text = unicodedata.normalize("NFKC", text)

    def digits(m: re.Match[str]) -> str:
        value = kanji_to_int(m.group(1))
        return m.group(0) if value is None else str(value)

    return _KANJI_NUMERAL.sub(digits, text)


# --- quantities ---------------------------------------------------------------------------
_EN_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "ninety": 90,
    "hundred": 100,
}  # fmt: skip
_EN_TIMES = {"twice": 2, "thrice": 3}  # not "once": mostly "as soon as"
# English unit words -> (unit, factor). Longest first where one is a prefix of another.
_EN_UNITS: tuple[tuple[str, Unit, float], ...] = (
    (r"business days?|working days?", Unit.BUSINESS_DAY, 1),
    (r"calendar days?|days?", Unit.DURATION, 24),
    (r"weeks?", Unit.DURATION, 168),
    (r"hours?|hrs?|h", Unit.DURATION, 1),
    (r"minutes?|mins?", Unit.DURATION, 1 / 60),
    (r"months?", Unit.MONTH, 1),
    (r"years? old|years? of age|-year-olds?", Unit.AGE, 1),
    (r"years?", Unit.YEAR, 1),
    (r"percent|per cent|%", Unit.PERCENT, 1),
    (r"yen|jpy|sgd|usd|myr|thb|vnd|php|idr|baht|dollars?|ringgit|pesos?|rupiah|dong",
     Unit.AMOUNT, 1),
    (r"(?:[a-z]+ )?strikes?", Unit.STRIKE, 1),
    (r"times?", Unit.TIMES, 1),
)  # fmt: skip
_EN_UNIT_RES = [(re.compile(rf"(?:{p})(?![A-Za-z])", re.IGNORECASE), u, f) for p, u, f in _EN_UNITS]
_EN_CURRENCY_BEFORE = re.compile(
    r"(?:¥|S\$|US\$|\$|RM|฿|₱|₫|Rp\.?|JPY|SGD|USD|MYR|THB|VND|PHP|IDR)\s?$", re.IGNORECASE
)
_EN_AGE_BEFORE = re.compile(r"\b(?:aged?|ages)\s+(?:of\s+)?$", re.IGNORECASE)
_EN_AGE_AFTER = re.compile(r"^\s*(?:\+|or (?:older|over|younger|above))", re.IGNORECASE)
_EN_SKIP = re.compile(
    r"^(?:\s*(?:or|and|to)\s+(?:more|fewer|less|above|over|under|below|higher|lower)\b"
    r"|\s*\+|\s*-)*",
    re.IGNORECASE,
)
_EN_FUNCTION_WORDS = frozenset(
    "or and to of in on at per for from by with within than is are was were be a an the "
    "but if when that this these those it its their after before under over can cannot may "
    "must will should shall do does not need needs".split()
)
# Japanese counters -> (unit, factor); checked in this order at the text after a number.
_JA_UNITS: tuple[tuple[str, Unit, float], ...] = (
    ("営業日", Unit.BUSINESS_DAY, 1),
    ("日間|日", Unit.DURATION, 24),
    ("週間|週", Unit.DURATION, 168),
    ("時間", Unit.DURATION, 1),
    ("分", Unit.DURATION, 1 / 60),
    ("か月|ヶ月|ケ月|カ月|ヵ月|箇月|月間", Unit.MONTH, 1),
    ("歳|才", Unit.AGE, 1),
    ("年間|年", Unit.YEAR, 1),
    ("%|パーセント", Unit.PERCENT, 1),
    ("割", Unit.PERCENT, 10),
    ("円|ドル|バーツ|ドン|ペソ|ルピア|リンギット", Unit.AMOUNT, 1),
    ("ストライク", Unit.STRIKE, 1),
    ("回(?!目)|度(?!目)", Unit.TIMES, 1),
    ("件|枚|点|個|人|名|本|社|通|品|つ|アカウント", Unit.COUNT, 1),
)
_JA_UNIT_RES = [(re.compile(p), u, f) for p, u, f in _JA_UNITS]
# Stages, article numbers, decades (10代 = teens) and clock times (22時) are not quantities.
_JA_STAGE_AFTER = re.compile(r"^(?:回目|度目|番目|次|段階|条|項|号|位|代|時(?!間)|月\d)")
_JA_STRIKE_BEFORE = re.compile(r"ストライク[^。、\d]{0,4}$")
_JA_MULTIPLIER = {"万": 10_000, "億": 100_000_000, "千": 1000}

_NUMBER = re.compile(r"(?<![A-Za-z0-9.,_#])\d+(?:,\d{3})*(?:\.\d+)?(?![\d])")
_DATES = re.compile(
    r"\b\d{4}-\d{2}-\d{2}\b|\d{4}年\d{1,2}月(?:\d{1,2}日)?|\d{1,2}月\d{1,2}日|\b\d{1,2}:\d{2}\b"
    r"|\b\d{4}/\d{1,2}/\d{1,2}\b"
)
_EN_ORDINAL = re.compile(r"^(?:st|nd|rd|th)\b")
_EN_WORD_NUMBER = re.compile(
    r"\b(" + "|".join(w for w in _EN_NUMBER_WORDS if w not in {"a", "an"}) + r")(?:[\s-]+)"
    r"(?=[a-z])|\b(a|an)\s+(?=(?:(?!first|second|third|fourth|fifth|further|new)[a-z]+ )?(?:day|week|month|year|hour|strike|business day|"
    r"minute)\b)",
    re.IGNORECASE,
)
_EN_TIMES_RE = re.compile(r"\b(twice|thrice)\b", re.IGNORECASE)


_EN_STRICT_BEFORE = re.compile(
    r"\b(?:more than|over|exceeding|in excess of|above)\s+(?:[¥$]|S\$|RM\s?)?$", re.IGNORECASE
)
_JA_STRICT_AFTER = re.compile(r"^[^\d、。,]{0,6}?(?:を)?超")
# "more than 5 accounts" is "6アカウント以上": for whole things, a strict bound is the next
# number's inclusive one. Durations and amounts are left as written ("more than 30 days"
# and "30日を超えて" agree; "30日以上" differs only at the boundary, not worth a finding).
_DISCRETE = frozenset({Unit.COUNT, Unit.TIMES, Unit.STRIKE})


def _unit_after(rest: str, japanese: bool) -> tuple[Unit, float, str]:
    for regex, unit, factor in _JA_UNIT_RES if japanese else _EN_UNIT_RES:
        m = regex.match(rest)
        if m:
            return unit, factor, m.group(0)
    return Unit.NONE, 1, ""


def _en_quantity(text: str, start: int, end: int) -> tuple[Unit, float, str] | None:
    """Unit, factor and how it is written (`S$500`, `90 days`) of the English number at
    text[start:end]; None for an ordinal (`2nd`)."""
    before, rest, number = text[:start], text[end:], text[start:end]
    if _EN_ORDINAL.match(rest):
        return None
    currency = _EN_CURRENCY_BEFORE.search(before)
    if currency:
        return Unit.AMOUNT, 1, currency.group(0).strip() + number
    if _EN_AGE_BEFORE.search(before) or _EN_AGE_AFTER.match(rest):
        return Unit.AGE, 1, f"age {number}"
    rest = rest[_EN_SKIP.match(rest).end() :]  # type: ignore[union-attr]
    unit, factor, word = _unit_after(rest.lstrip(" -"), japanese=False)
    if unit is not Unit.NONE:
        return unit, factor, number + (" " if word[:1].isalpha() else "") + word
    nxt = re.match(r"\s+([a-z][A-Za-z]*)", rest)
    if nxt and nxt.group(1) not in _EN_FUNCTION_WORDS:
        # "10 listings", "3 real photos": a count of something.
        return Unit.COUNT, 1, f"{number} {nxt.group(1)}"
    return Unit.NONE, 1, number


def _ja_quantity(text: str, start: int, end: int) -> tuple[Unit, float, str] | None:
    """Unit, factor and how it is written (`5万円`, `30日`) of the number at text[start:end];
    None for a stage, an article or a clock time."""
    rest, number = text[end : end + 30], text[start:end]
    if text[max(0, start - 1) : start] == "第" or _JA_STAGE_AFTER.match(rest):
        return None
    factor: float = 1
    if rest[:1] in _JA_MULTIPLIER:
        factor = _JA_MULTIPLIER[rest[0]]
        number, rest = number + rest[0], rest[1:]
    unit, per_unit, word = _unit_after(rest, japanese=True)
    if unit in (Unit.NONE, Unit.COUNT) and _JA_STRIKE_BEFORE.search(text[:start]):
        return Unit.STRIKE, factor, f"ストライク{number}"  # ストライク1を付与, 累計3つ
    return unit, factor * per_unit, number + word


def quantities(text: str, lang: str) -> list[Quantity]:
    """The quantities a text names, normalised (see the module docstring)."""
    japanese = lang == "ja"
    text = _DATES.sub(" ", normalise(text))
    if not japanese:
        text = _EN_WORD_NUMBER.sub(
            lambda m: f"{_EN_NUMBER_WORDS[(m.group(1) or m.group(2)).lower()]} ", text
        )
        text = _EN_TIMES_RE.sub(lambda m: f"{_EN_TIMES[m.group(1).lower()]} times", text)
    out: list[Quantity] = []
    for m in _NUMBER.finditer(text):
        found = (_ja_quantity if japanese else _en_quantity)(text, m.start(), m.end())
        if found is None:
            continue
        unit, factor, written = found
        value = float(m.group(0).replace(",", "")) * factor
        strict = (
            _JA_STRICT_AFTER.match(text[m.end() : m.end() + 12])
            if japanese
            else _EN_STRICT_BEFORE.search(text[: m.start()])
        )
        if strict and unit in _DISCRETE:
            value += 1
        out.append(Quantity(round(value, 6), unit, written))
    return out


# How two quantities may match by value, tried in this order: the same class; a bare number
# or an English "count" (read from whatever noun follows the number, so weak) against any
# class; tallies of violations, which one language counts in strikes ("3 strikes") and the
# other in times (3回に達した場合) or things ("3 violations").
_TALLIES = frozenset({Unit.COUNT, Unit.TIMES, Unit.STRIKE})


def _same_class(a: Quantity, b: Quantity) -> bool:
    return a.unit == b.unit


def _weak_class(a: Quantity, b: Quantity) -> bool:
    return Unit.NONE in (a.unit, b.unit) or Unit.COUNT in (a.unit, b.unit)


def _tallies(a: Quantity, b: Quantity) -> bool:
    return a.unit in _TALLIES and b.unit in _TALLIES


def unmatched(
    a: Sequence[Quantity], b: Sequence[Quantity]
) -> tuple[list[Quantity], list[Quantity]]:
    """The quantities of each side that no quantity of the other side matches."""
    left_a, left_b = list(a), list(b)
    for matches in (_same_class, _weak_class, _tallies):
        for qa in list(left_a):
            qb = next((q for q in left_b if q.value == qa.value and matches(qa, q)), None)
            if qb is not None:
                left_a.remove(qa)
                left_b.remove(qb)
    return left_a, left_b


def quantity_disagreements(
    a: Sequence[Quantity], b: Sequence[Quantity]
) -> list[tuple[Unit, list[Quantity], list[Quantity]]]:
    """(unit, a's, b's) for each unit class in which the two texts name different values.

    Values are matched first within their class, then more loosely (`_weak_class`,
    `_tallies`). What is left over in one class on both sides disagrees (tallies of
    violations count as one class); so does a single number left on each side when one of
    them is bare or an English count, whose class the text did not say ("under 18" /
    "21歳未満"). A number that only one side names is an omission, not a disagreement, and
    is not reported (a translation often says "the same day" for "within 24 hours")."""
    left_a, left_b = unmatched(a, b)
    if len(left_a) == len(left_b) == 1 and _weak_class(left_a[0], left_b[0]):
        unit = left_b[0].unit if left_a[0].unit in (Unit.NONE, Unit.COUNT) else left_a[0].unit
        return [(unit, left_a, left_b)]
    out = []
    for unit in Unit:
        group = _TALLIES if unit in _TALLIES else {unit}
        if unit in _TALLIES and unit is not Unit.COUNT:
            continue  # the tallies are compared once, as COUNT
        xs = [q for q in left_a if q.unit in group]
        ys = [q for q in left_b if q.unit in group]
        if xs and ys:
            out.append((unit, xs, ys))
    return out


# --- teams --------------------------------------------------------------------------------
_NAME = re.compile(r"(?<![A-Za-z])(?:[A-Z][A-Za-z]*|&)(?:\s+(?:[A-Z][A-Za-z]*|&))+")


def team_names(text: str) -> set[str]:
    """Names of two or more capitalised Latin words (`Seller Risk JP`, `Legal APAC`)."""
    found = set()
    for m in _NAME.finditer(unicodedata.normalize("NFKC", text)):
        words = m.group(0).split()
        while words and words[-1] == "&":
            words.pop()
        if len(words) >= 2:
            found.add(" ".join(words))
    return found


def _named_in(name: str, text: str) -> bool:
    return name.casefold() in " ".join(unicodedata.normalize("NFKC", text).split()).casefold()


def team_disagreement(en: str, ja: str) -> tuple[list[str], list[str]] | None:
    """(names only the English text gives, names only the Japanese gives) when each side
    names a team the other does not: an escalation step sending cases elsewhere."""
    only_en = sorted(n for n in team_names(en) if not _named_in(n, ja))
    only_ja = sorted(n for n in team_names(ja) if not _named_in(n, en))
    # A name the other side writes as a longer one ("Child Safety" / "Child Safety APAC")
    # is the same team.
    only_en = [n for n in only_en if not any(n in m or m in n for m in team_names(ja))]
    only_ja = [n for n in only_ja if not any(n in m or m in n for m in team_names(en))]
    return (only_en, only_ja) if only_en and only_ja else None


# --- sanctions ------------------------------------------------------------------------------
# What a moderator does, in families: which thing is suspended (the account, its listings, a
# feature, its payouts) is worded too differently across languages to compare reliably
# ("the shop's sales are suspended" / 販売を停止), whether something is suspended is not.
SANCTION_FAMILY = {
    "account suspension": "suspension",
    "feature suspension": "suspension",
    "listing restriction": "suspension",
    "payout hold": "suspension",
    "strike": "strike",
    "removal": "removal",
    "hiding": "hiding",
    "warning": "warning",
}


def sanction_families(text: str, lang: str) -> set[str]:
    """The families of the sanctions a text names (edit requests and demotions left out)."""
    return {SANCTION_FAMILY.get(s, s) for s in sanctions(text, lang) - SOFT_SANCTIONS}


# --- the comparison -------------------------------------------------------------------------
@dataclass(frozen=True)
class Disagreement:
    """One thing a statement and its translation disagree on."""

    what: str  # "hours", "sanctions", "escalation team", ...
    a: str  # the first text's value(s), as written
    b: str  # the second text's

    def describe(self, lang_a: str, lang_b: str) -> str:
        return f"{self.what}: {lang_a} says {self.a}, {lang_b} says {self.b}"


_UNIT_LABEL = {
    Unit.DURATION: "duration",
    Unit.NONE: "number",
}


def disagreements(
    text_a: str, lang_a: str, text_b: str, lang_b: str, kind: str | None = None
) -> list[Disagreement]:
    """What two language versions of one statement disagree on: quantities by unit class,
    the sanctions named, and (escalation steps) the teams named."""
    out = []
    for unit, xs, ys in quantity_disagreements(
        quantities(text_a, lang_a), quantities(text_b, lang_b)
    ):
        out.append(
            Disagreement(
                _UNIT_LABEL.get(unit, unit.value),
                ", ".join(q.text for q in xs),
                ", ".join(q.text for q in ys),
            )
        )
    sa = sanction_families(text_a, lang_a)
    sb = sanction_families(text_b, lang_b)
    # Each side must name a sanction the other does not: a sanction only one side names is
    # often the same step in other words ("loses access to the category" / 出品権限を停止).
    if sa - sb and sb - sa:
        out.append(Disagreement("sanctions", " + ".join(sorted(sa)), " + ".join(sorted(sb))))
    if kind == "escalation":
        en, ja = (text_a, text_b) if lang_a == "en" else (text_b, text_a)
        teams = team_disagreement(en, ja)
        if teams is not None:
            ours, theirs = teams if lang_a == "en" else (teams[1], teams[0])
            out.append(Disagreement("escalation team", ", ".join(ours), ", ".join(theirs)))
    return out
