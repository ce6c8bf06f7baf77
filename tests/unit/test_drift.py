"""Translation drift without a database: the normalisation of numbers, units, sanctions and
teams in both languages, and what two versions of a statement disagree on."""

from __future__ import annotations

import pytest

from search_api.coverage.drift import (
    Unit,
    disagreements,
    kanji_to_int,
    normalise,
    quantities,
    sanction_families,
    team_disagreement,
    unmatched,
)


@pytest.mark.parametrize(
    ("numeral", "value"),
    [("一", 1), ("十", 10), ("十五", 15), ("三十", 30), ("二十四", 24), ("百", 100),
     ("三百六十五", 365), ("千", 1000), ("五万", 50000), ("一〇", 10), ("万", 10000),
     ("abc", None), ("", None)],
)  # fmt: skip
def test_kanji_numerals(numeral: str, value: int | None) -> None:
    assert kanji_to_int(numeral) == value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("３０日以内", "30日以内"),
        ("一週間以内", "1週間以内"),
        ("二十四時間以内", "24時間以内"),
        ("二十歳未満", "20歳未満"),
        ("５万円", "5万円"),  # a multiplier after digits stays for the reader
        ("１０％", "10%"),
        ("第三者の権利", "第三者の権利"),  # words with numerals stay words
        ("一般的な出品、同一人物", "一般的な出品、同一人物"),
        ("十分な証拠", "十分な証拠"),
    ],
)
def test_normalise(text: str, expected: str) -> None:
    assert normalise(text) == expected


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("within 90 days", "en", [(2160, Unit.DURATION)]),
        ("90日以内", "ja", [(2160, Unit.DURATION)]),
        ("３０日以内", "ja", [(720, Unit.DURATION)]),
        ("一週間以内", "ja", [(168, Unit.DURATION)]),
        ("within 7 days", "en", [(168, Unit.DURATION)]),
        ("within a week", "en", [(168, Unit.DURATION)]),
        ("within thirty days", "en", [(720, Unit.DURATION)]),
        ("24時間以内", "ja", [(24, Unit.DURATION)]),
        ("within 2 business days", "en", [(2, Unit.BUSINESS_DAY)]),
        ("2営業日以内", "ja", [(2, Unit.BUSINESS_DAY)]),
        ("for 3 months", "en", [(3, Unit.MONTH)]),
        ("3か月間", "ja", [(3, Unit.MONTH)]),
        ("18歳未満", "ja", [(18, Unit.AGE)]),
        ("users aged 16", "en", [(16, Unit.AGE)]),
        ("18 or older", "en", [(18, Unit.AGE)]),
        ("below 30% of retail", "en", [(30, Unit.PERCENT)]),
        ("定価の3割未満", "ja", [(30, Unit.PERCENT)]),
        ("30パーセント", "ja", [(30, Unit.PERCENT)]),
        ("over ¥50,000", "en", [(50000, Unit.AMOUNT)]),
        ("5万円以上", "ja", [(50000, Unit.AMOUNT)]),
        ("S$500 or more", "en", [(500, Unit.AMOUNT)]),
        ("one strike", "en", [(1, Unit.STRIKE)]),
        ("three copyright strikes", "en", [(3, Unit.STRIKE)]),
        ("ストライク1を付与", "ja", [(1, Unit.STRIKE)]),
        ("ストライクが累計3つ", "ja", [(3, Unit.STRIKE)]),
        ("more than twice", "en", [(3, Unit.TIMES)]),  # a strict bound on whole things
        ("3回以上", "ja", [(3, Unit.TIMES)]),
        ("more than 5 accounts", "en", [(6, Unit.COUNT)]),
        ("6アカウント以上", "ja", [(6, Unit.COUNT)]),
        ("50件を超える申告", "ja", [(51, Unit.COUNT)]),
        ("10件以上", "ja", [(10, Unit.COUNT)]),
        # stages, articles, clock times, dates and item ids are not quantities
        ("90日以内の2回目は", "ja", [(2160, Unit.DURATION)]),
        ("民法第5条", "ja", []),
        ("6時から22時まで", "ja", []),
        ("10代のクリエイター", "ja", []),
        ("the 2nd violation", "en", []),
        ("a third strike", "en", []),
        ("effective 2026-04-01 under p4", "en", []),
        ("2026年4月1日から", "ja", []),
        ("once it is corrected", "en", []),
    ],
)
def test_quantities(text: str, lang: str, expected: list[tuple[float, Unit]]) -> None:
    assert [(q.value, q.unit) for q in quantities(text, lang)] == expected


def test_quantities_keep_the_text_as_written() -> None:
    assert [q.text for q in quantities("within 90 days or ¥50,000", "en")] == [
        "90 days",
        "¥50,000",
    ]
    assert [q.text for q in quantities("３０日以内または5万円", "ja")] == ["30日", "5万円"]


def test_unmatched_matches_loosely_before_giving_up() -> None:
    en = quantities("Ten or more suspected listings, within 24 hours; three strikes", "en")
    ja = quantities("疑わしい出品が10件以上の場合は24時間以内、3回に達した場合", "ja")
    assert unmatched(en, ja) == ([], [])


@pytest.mark.parametrize(
    ("en", "ja", "expected"),
    [
        # the example: payouts held for 90 days in English, 30 in Japanese
        ("Payouts are held for 90 days.", "売上金の振込を30日間保留する。",
         [("duration", "90 days", "30日間")]),
        ("Payouts are held for 30 days.", "売上金の振込を３０日間保留する。", []),
        ("Escalate within a week.", "一週間以内にエスカレーションする。", []),
        ("Escalate within 7 days.", "一週間以内にエスカレーションする。", []),
        ("Escalate within 2 days.", "一週間以内にエスカレーションする。",
         [("duration", "2 days", "1週間")]),
        # a bare number against the one value left on the other side
        ("Sellers under 18 cannot register.", "20歳未満は登録できない。", [("age", "18", "20歳")]),
        ("Users aged 16 may not go live.", "18歳未満はライブ配信できない。",
         [("age", "age 16", "18歳")]),
        ("Priced below 30% of retail.", "定価の5割未満。", [("%", "30%", "5割")]),
        ("Gifts over ¥50,000 a day.", "1日10万円を超えるギフト。",
         [("amount", "¥50,000", "10万円")]),
        ("First violation: a warning.", "初回はアカウントを停止する。",
         [("sanctions", "warning", "suspension")]),
        ("The shop's sales are suspended.", "販売を停止する。", []),  # one family: suspension
        ("The listing is removed and a warning issued.", "出品を削除する。", []),  # omission
    ],
)  # fmt: skip
def test_disagreements(en: str, ja: str, expected: list[tuple[str, str, str]]) -> None:
    found = disagreements(en, "en", ja, "ja", "enforcement")
    assert [(d.what, d.a, d.b) for d in found] == expected


def test_disagreement_reads_either_order() -> None:
    found = disagreements("30日以内", "ja", "within 90 days", "en")
    assert [(d.a, d.b) for d in found] == [("30日", "90 days")]
    assert found[0].describe("ja", "en") == "duration: ja says 30日, en says 90 days"


@pytest.mark.parametrize(
    ("en", "ja", "expected"),
    [
        ("Escalate to Seller Risk JP within 24 hours.", "24時間以内に Seller Risk JP に回す。",
         None),
        ("Escalate to Seller Risk JP within 24 hours.", "24時間以内に Seller Risk SEA に回す。",
         (["Seller Risk JP"], ["Seller Risk SEA"])),
        ("Tracks of the Commercial Music Library go to Music Licensing APAC.",
         "商用楽曲ライブラリの楽曲は Music Licensing APAC に回す。", None),
        ("Escalate to Child Safety APAC immediately.", "直ちに Child Safety にエスカレーションする。",
         None),
    ],
)  # fmt: skip
def test_teams(en: str, ja: str, expected: tuple[list[str], list[str]] | None) -> None:
    assert team_disagreement(en, ja) == expected


def test_escalation_team_is_a_disagreement_of_escalation_steps_only() -> None:
    en, ja = "Send it to Legal APAC.", "Trust & Safety JP に回す。"
    assert [d.what for d in disagreements(en, "en", ja, "ja", "escalation")] == ["escalation team"]
    assert disagreements(en, "en", ja, "ja", "policy") == []


def test_sanction_families() -> None:
    assert sanction_families("The account is suspended and the listing removed.", "en") == {
        "suspension",
        "removal",
    }
    assert sanction_families("出品を削除し、警告する。", "ja") == {"removal", "warning"}
