"""kg.analysis: normalisation, language detection, Japanese/English fields, Lucene syntax.

The escaping tests check the classic Lucene query grammar's rules in Python; the same
nasty strings were also parsed by Lucene 9.11's QueryParser (the one Neo4j 5.26 ships)
with the english and whitespace analyzers without a single error.
"""

from __future__ import annotations

import random
import threading

import pytest

from kg.analysis import (
    detect_language,
    en_search_field,
    en_terms,
    fulltext_query,
    ja_search_field,
    ja_terms,
    lucene_escape,
    normalize,
)

# --- normalize / detect_language ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  a \t b\n\nc  ", "a b c"),
        ("ＬＩＮＥ　公式", "LINE 公式"),  # full-width letters and ideographic space
        ("ｺﾋﾟｰ品", "コピー品"),  # half-width katakana
        ("３０％", "30%"),
        ("zero\u200bwidth\ufeff", "zerowidth"),
        ("", ""),
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("模倣品の販売は禁止されています。", "ja"),
        ("LINEで勧誘するアカウントはNGです", "ja"),
        ("iPhone 15 Pro Maxの偽物", "ja"),
        ("シミ", "ja"),
        ("Counterfeit goods must be removed.", "en"),
        ("Parallel imports (並行輸入品) are allowed if the seller shows proof of origin.", "en"),
        ("12345 !!!", "en"),
        ("", "en"),
    ],
)
def test_detect_language(text: str, expected: str) -> None:
    assert detect_language(text) == expected


# --- Japanese terms -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "present"),
    [
        # lemma and written form: katakana, hiragana and kanji spellings meet on 染み
        ("シミが消える", {"シミ", "染み", "消える"}),
        ("しみ", {"しみ", "染み"}),
        # loanword lemmas lose unidic's gloss ('サーバー-server')
        ("サーバ", {"サーバ", "サーバー"}),
        # inflected verbs give their dictionary form
        ("痩せた", {"痩せる"}),
        # compounds: parts, adjacent pairs and the whole run
        ("並行輸入品", {"並行", "輸入", "並行輸入", "輸入品", "並行輸入品"}),
        ("模倣品の販売", {"模倣", "模倣品", "販売"}),
        # Latin words and numbers, lowercased; numbers with units
        ("LINEで5kg痩せる", {"line", "5", "kg", "5kg", "痩せる"}),
        ("ＮＧワード", {"ng", "ワード", "ngワード"}),
        ("10,000円", {"10000", "10000円"}),
        ("1.5倍", {"1.5", "1.5倍"}),
        ("30%OFF", {"30", "30%", "off"}),
        ("18歳未満", {"18歳", "未満", "18歳未満"}),
        ("違法な表現", {"違法", "表現"}),
    ],
)
def test_ja_terms_keeps(text: str, present: set[str]) -> None:
    assert present <= set(ja_terms(text))


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        # particles, auxiliaries, punctuation, light verbs, formal nouns
        (
            "模倣品の販売は禁止されています。",
            {"の", "は", "さ", "れる", "て", "居る", "ます", "。"},
        ),
        ("違反することがある", {"為る", "する", "こと", "事", "ある", "有る"}),
        ("このような投稿", {"この", "よう", "様", "な"}),
        # inflected surfaces never match a query in another tense
        ("痩せた", {"痩せ", "た"}),
        # prefixes and suffixes only inside compounds, not alone
        ("お客様", {"お", "御", "様"}),
        # a % ends the compound
        ("30%OFF", {"%", "%off", "30%off"}),
        # English stop words
        ("the LINE of it", {"the", "of", "it"}),
    ],
)
def test_ja_terms_drops(text: str, absent: set[str]) -> None:
    assert not absent & set(ja_terms(text))


def test_ja_terms_are_lowercase_nfkc_and_space_free() -> None:
    terms = ja_terms("ＬＩＮＥ公式アカウントで iPhone を ｺﾋﾟｰ品 として 売る")
    assert terms
    for term in terms:
        assert term == term.lower()
        assert " " not in term and term.strip() == term
    assert "コピー品" in terms and "line公式アカウント" in terms


def test_ja_terms_keep_term_frequency() -> None:
    assert ja_terms("NGはNG").count("ng") == 2


def test_space_breaks_compounds() -> None:
    assert "ウォーターウオーター" not in ja_terms("ウォーター ウオーター")


@pytest.mark.parametrize("text", ["", "   ", "。、！？", "のはをが"])
def test_ja_terms_empty(text: str) -> None:
    assert ja_terms(text) == []
    assert ja_search_field(text) == ""


def test_ja_search_field_is_the_terms_joined() -> None:
    text = "並行輸入品をLINEで販売する"
    assert ja_search_field(text).split(" ") == ja_terms(text)


def test_query_matches_passage_across_spellings() -> None:
    # The point of lemma + written form: a katakana query hits a kanji passage.
    passage = set(ja_terms("染みを消す化粧品の広告は薬機法に注意"))
    assert set(ja_terms("シミ")) & passage
    assert set(ja_terms("化粧品")) & passage


def test_tagger_is_safe_across_threads() -> None:
    texts = ["並行輸入品をLINEで販売する", "シミが消える化粧品", "10,000円以上の高額商品"]
    expected = {t: ja_terms(t) for t in texts}
    mismatches: list[str] = []

    def work(seed: int) -> None:
        rnd = random.Random(seed)
        for _ in range(50):
            t = rnd.choice(texts)
            if ja_terms(t) != expected[t]:
                mismatches.append(t)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert mismatches == []


# --- English field ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Counterfeit  goods\nare removed.", "Counterfeit goods are removed."),
        ("Parallel imports (並行輸入品) are allowed", "Parallel imports ( ) are allowed"),
        ("LINEで勧誘するアカウントはNGです", "LINE NG"),
        ("模倣品の販売", ""),
        ("ｆｕｌｌ－ｗｉｄｔｈ 10,000 yen", "full-width 10000 yen"),
    ],
)
def test_en_search_field(text: str, expected: str) -> None:
    assert en_search_field(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Is the (counterfeit) item OK?", ["counterfeit", "item", "ok"]),
        ("1.5kg e-mail", ["1.5kg", "e-mail"]),
        ("LINEの勧誘", ["line"]),
        ("the and of", []),
        ("模倣品", []),
    ],
)
def test_en_terms(text: str, expected: list[str]) -> None:
    assert en_terms(text) == expected


# --- Lucene escaping ----------------------------------------------------------------

SPECIAL = set('+-&|!(){}[]^"~*?:\\/')
OPERATORS = {"AND", "OR", "NOT", "&&", "||", "!"}

NASTY = [
    "AND",
    "OR",
    "NOT",
    "a AND b",
    "AND OR NOT",
    "&&",
    "||",
    "!",
    "a && b || !c",
    "(",
    ")",
    '"',
    '""',
    '"unclosed',
    "\\",
    "trailing\\",
    "\\\\",
    "\\AND",
    "AND\\",
    "*",
    "?",
    "*:*",
    "*wild",
    "fuzzy~2",
    "boost^3",
    "field:value",
    "/regex/",
    "[a TO b]",
    "{a TO z}",
    "+must -not",
    "-",
    "--",
    "x\u3000AND\u3000y",
    "tab\tOR\nnewline",
    "AND)",
    "(AND",
    "C++",
    "l'oréal 😀",
    "並行輸入品（正規品）",
    "",
]


def _random_nasty(n: int) -> list[str]:
    rnd = random.Random(20240401)
    alphabet = list(SPECIAL) + list("ANDORT az\t\u3000並品")
    return ["".join(rnd.choices(alphabet, k=rnd.randint(1, 16))) for _ in range(n)]


def _unescape(escaped: str) -> str:
    out, i = [], 0
    while i < len(escaped):
        if escaped[i] == "\\":
            i += 1
        out.append(escaped[i])
        i += 1
    return "".join(out)


def _assert_safe(escaped: str) -> None:
    """The classic grammar's rules: no special character unescaped, no dangling escape,
    no operator as a whitespace-delimited token."""
    i = 0
    while i < len(escaped):
        ch = escaped[i]
        if ch == "\\":
            assert i + 1 < len(escaped), f"dangling backslash in {escaped!r}"
            i += 2
            continue
        assert ch not in SPECIAL, f"unescaped {ch!r} in {escaped!r}"
        i += 1
    assert not OPERATORS & set(escaped.split()), escaped


@pytest.mark.parametrize("text", NASTY + _random_nasty(300))
def test_lucene_escape_makes_any_string_safe(text: str) -> None:
    escaped = lucene_escape(text)
    _assert_safe(escaped)
    assert _unescape(escaped) == text  # nothing lost: the parser sees the original text


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("a:b", "a\\:b"),
        ("C++", "C\\+\\+"),
        ("AND", "\\AND"),
        ("ANDROID", "ANDROID"),
        ("and", "and"),
        ("x AND y", "x \\AND y"),
        ("plain", "plain"),
    ],
)
def test_lucene_escape_examples(term: str, expected: str) -> None:
    assert lucene_escape(term) == expected


# --- fulltext_query -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("terms", "boosts", "expected"),
    [
        (["LINE", "販売"], None, "line OR 販売"),
        (["a:b"], None, "a\\:b"),
        (["AND", "or", "NOT"], None, "and OR or OR not"),  # never operators
        (["foo bar"], None, '"foo bar"'),
        (['say "hi" now'], None, '"say \\"hi\\" now"'),
        (["x", "X", " x ", "ｘ"], None, "x"),  # duplicates after normalising
        (["", "  ", "-", "!!", "。"], None, ""),  # nothing searchable left
        ([], None, ""),
        (["line", "ng"], {"line": 2.0}, "line^2 OR ng"),
        (["LINE"], {"LINE": 1.5}, "line^1.5"),  # boost keyed by the term as given
        (["ng", "NG"], {"NG": 3.0}, "ng^3"),  # a duplicate keeps the highest boost
        (["a"], {"a": 0.25}, "a^0.25"),
        (["a"], {"a": 1.0}, "a"),
    ],
)
def test_fulltext_query(terms: list[str], boosts: dict[str, float] | None, expected: str) -> None:
    assert fulltext_query(terms, boosts) == expected


def test_fulltext_query_accepts_any_iterable() -> None:
    assert fulltext_query(t for t in ["a", "b"]) == "a OR b"


@pytest.mark.parametrize("boost", [0.0, -1.0, float("inf"), float("nan")])
def test_fulltext_query_rejects_bad_boosts(boost: float) -> None:
    with pytest.raises(ValueError, match="boost"):
        fulltext_query(["a"], {"a": boost})


@pytest.mark.parametrize("text", NASTY + _random_nasty(100))
def test_fulltext_query_is_safe(text: str) -> None:
    query = fulltext_query([text, f"{text} phrase", *ja_terms(text), *en_terms(text)])
    for clause in query.split(" OR ") if query else []:
        if clause.startswith('"'):
            assert clause.endswith('"') and len(clause) >= 2
            _assert_safe(clause[1:-1])
        else:
            _assert_safe(clause)
