"""The SOP parser: the format's example, what else it accepts, and one broken file per rule."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path

import pytest

from ingest.concepts import build_version
from ingest.model import Issue, ParsedFile, Severity
from ingest.parser import parse_bytes, parse_file
from ontology.taxonomy import Taxonomy
from ontology.vocabulary import SectionKind, StatementKind

DATA = Path(__file__).resolve().parents[1] / "data" / "lint"
VALID = DATA / "valid"
# The Japanese example of the authoring format, verbatim (30 lines; the line numbers in the
# tables below refer to it).
SPEC_JA = (VALID / "ipr" / "ipr-counterfeit.ja.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return Taxonomy.from_yaml((VALID / "taxonomy.yaml").read_text(encoding="utf-8"), "test")


def parse(text: str | bytes, taxonomy: Taxonomy) -> tuple[ParsedFile | None, list[Issue]]:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return parse_bytes(data, Path("case.md"), "case.md", taxonomy)


def edit(old: str, new: str) -> str:
    """The format's example with one change."""
    assert SPEC_JA.count(old) == 1, old
    return SPEC_JA.replace(old, new)


def errors(issues: list[Issue]) -> list[Issue]:
    return [i for i in issues if i.severity is Severity.ERROR]


FRONT = SPEC_JA.split("# 模倣品")[0]  # the front matter and its closing line

# (text, rule, line): each text breaks exactly one rule, and only that rule.
ERROR_CASES = [
    pytest.param(edit("---\nid:", "id:"), "front-matter", 1, id="no-opening-line"),
    pytest.param(edit("[商標法]\n---\n", "[商標法]\n"), "front-matter", 1, id="not-closed"),
    pytest.param("---\n- a\n- b\n---\n## X\n", "front-matter", 2, id="not-a-mapping"),
    pytest.param(edit("owner: IPR Policy JP", "owner: IPR: JP"), "yaml", 7, id="yaml"),
    pytest.param(edit("owner: IPR Policy JP", "owner: IPR\x00JP"), "yaml", 7, id="yaml-nul"),
    pytest.param(
        edit("owner: IPR Policy JP\n", "owner: IPR Policy JP\nlang: en\n"),
        "duplicate-key",
        8,
        id="duplicate-key",
    ),
    pytest.param(edit("owner: IPR Policy JP\n", ""), "required-key", 1, id="required-missing"),
    pytest.param(edit("owner: IPR Policy JP", "owner:"), "required-key", 7, id="required-empty"),
    pytest.param(edit("markets: [JP]", "markets: []"), "required-key", 6, id="required-empty-list"),
    pytest.param(
        edit("title: 模倣品・偽ブランド品の出品", "title: [模倣品, 偽物]"),
        "value-type",
        4,
        id="title-is-a-list",
    ),
    pytest.param(edit("markets: [JP]", "markets: JP"), "value-type", 6, id="markets-not-a-list"),
    pytest.param(edit('version: "2.3"', "version: yes"), "value-type", 8, id="version-bool"),
    pytest.param(
        edit("regulations: [商標法]", "regulations: [商標法, ~]"),
        "value-type",
        12,
        id="regulations-null-entry",
    ),
    pytest.param(edit("id: ipr-counterfeit", "id: IPR_Counterfeit"), "id", 2, id="id"),
    pytest.param(edit("lang: ja", "lang: fr"), "lang", 3, id="lang"),
    pytest.param(edit("topic: ipr/counterfeit", "topic: ipr/fakes"), "topic", 5, id="topic"),
    pytest.param(edit("markets: [JP]", "markets: [JP, XX]"), "markets", 6, id="market"),
    pytest.param(
        edit("markets: [JP]", "markets:\n  - JP\n  - jp"), "markets", 8, id="market-entry-line"
    ),
    pytest.param(edit("2026-04-01", "2026/04/01"), "date", 9, id="date-format"),
    pytest.param(edit("2026-04-01", "2026-02-30"), "date", 9, id="date-no-such-day"),
    pytest.param(edit("2026-04-01", "2026-04-01T09:00:00"), "date", 9, id="date-timestamp"),
    pytest.param(edit("review_by: 2026-10-01", "review_by: soon"), "date", 10, id="review-by"),
    pytest.param(edit("en@2.3", "en 2.3"), "translation-of", 11, id="translation-of-format"),
    pytest.param(edit("en@2.3", "ja@2.3"), "translation-of", 11, id="translation-of-own-lang"),
    pytest.param(edit("en@2.3", "fr@2.3"), "translation-of", 11, id="translation-of-unknown"),
    pytest.param(
        edit("[商標法]\n", "[商標法]\nsupersedes: Old Doc\n"), "supersedes", 13, id="supersedes-id"
    ),
    pytest.param(
        edit("[商標法]\n", "[商標法]\nsupersedes: ipr-counterfeit\n"),
        "supersedes",
        13,
        id="supersedes-itself",
    ),
    pytest.param(
        edit("## 例外 {#exceptions}", "# 例外\n## 例外 {#exceptions}"),
        "heading",
        23,
        id="second-title",
    ),
    pytest.param(
        edit("# 模倣品・偽ブランド品の出品\n", "前文。\n# 模倣品・偽ブランド品の出品\n"),
        "heading",
        15,
        id="title-after-text",
    ),
    pytest.param(edit("## 例外 {#exceptions}", "## {#exceptions}"), "heading", 23, id="empty-h2"),
    pytest.param(edit("{#exceptions}", "{#exc eptions}"), "anchor", 23, id="anchor-malformed"),
    pytest.param(edit("{#exceptions}", "{#exceptions} 補足"), "anchor", 23, id="anchor-not-last"),
    pytest.param(edit("{#exceptions}", "{#policy}"), "duplicate-anchor", 23, id="duplicate-anchor"),
    pytest.param(FRONT + "# 題\n\n本文のみ。\n", "no-sections", 0, id="no-sections"),
    pytest.param(FRONT, "no-sections", 0, id="empty-body"),
    pytest.param(
        edit("{#e1 applies_to=p1}", "{#e1 applies_to p1}"), "attribute", 24, id="attr-no-eq"
    ),
    pytest.param(
        edit("{#e1 applies_to=p1}", "{#e1 applies_to=p1"), "attribute", 24, id="attr-open"
    ),
    pytest.param(
        edit("applies_to=p1,p2", "applies_to=p1;p2"), "attribute", 27, id="attr-semicolon"
    ),
    pytest.param(edit("applies_to=p1,p2", "applies_to=p1, p2,"), "attribute", 27, id="attr-trail"),
    pytest.param(edit("applies_to=p1,p2", "applies_to=p1,,p2"), "attribute", 27, id="attr-empty"),
    pytest.param(
        edit("severity=high}", "severity=high severity=low}"), "attribute", 27, id="twice"
    ),
    pytest.param(edit("{#p1}", "{#p1 #p9}"), "attribute", 20, id="attr-two-ids"),
    pytest.param(edit("{#x1 applies_to", "{#x/1 applies_to"), "attribute", 30, id="attr-bad-id"),
    pytest.param(edit("{#x1 applies_to", "{id=x1 applies_to"), "attribute", 30, id="attr-id-key"),
    pytest.param(edit("{#x1 applies", "{#e1 applies"), "duplicate-item-id", 30, id="dup-item-id"),
    pytest.param(
        edit("} 判断が難しい場合は IPR Policy JP に24時間以内にエスカレーションする。", "}"),
        "empty-item",
        30,
        id="empty-item",
    ),
    pytest.param(
        edit("{#e1 applies_to=p1}", "{#e1 applies_to=p9}"), "applies-to", 24, id="unknown"
    ),
    pytest.param(edit("{#e1 applies_to=p1}", "{#e1 applies_to=e1}"), "applies-to", 24, id="itself"),
]


@pytest.mark.parametrize(("text", "rule", "line"), ERROR_CASES)
def test_broken_file_is_rejected_naming_file_line_and_rule(
    taxonomy: Taxonomy, text: str, rule: str, line: int
) -> None:
    parsed, issues = parse(text, taxonomy)
    assert parsed is None
    found = errors(issues)
    assert [(i.rule, i.line) for i in found] == [(rule, line)], issues
    assert str(found[0]).startswith(f"case.md:{line}: {rule}: ")
    # No follow-on warning about what the error already explains (a broken attribute block
    # has lost the item's applies_to).
    assert ("missing-applies-to", line) not in [(i.rule, i.line) for i in issues]


def test_encoding_error_names_the_line_of_the_bad_byte(taxonomy: Taxonomy) -> None:
    data = edit("本SOPは", "本SOP\udcffは").encode("utf-8", "surrogateescape")
    parsed, issues = parse(data, taxonomy)
    assert parsed is None
    assert [(i.rule, i.line) for i in issues] == [("encoding", 17)]
    assert "0xff" in issues[0].message


def test_unknown_topic_lists_the_nearest_known_topics(taxonomy: Taxonomy) -> None:
    _, issues = parse(edit("topic: ipr/counterfeit", "topic: ipr/counterfeits"), taxonomy)
    assert "ipr/counterfeit" in issues[0].message.split("nearest known:")[1]


# (text, rule, line): allowed by the format, but worth a warning. The file is still ingested.
WARNING_CASES = [
    pytest.param(
        edit("owner: IPR Policy JP\n", "owner: IPR Policy JP\nreviewer: Aiko\n"),
        "unknown-key",
        8,
        id="unknown-key",
    ),
    pytest.param(edit("{#e1 applies_to=p1}", "{#e1}"), "missing-applies-to", 24, id="no-applies"),
    pytest.param(edit("本SOPは", "- {#o1} 本SOPは"), "attribute-in-prose", 17, id="attr-in-prose"),
    pytest.param(edit("- {#x1", "{#x1"), "attribute-in-prose", 30, id="attr-without-dash"),
    pytest.param(edit("## エスカ", "```\n## エスカ"), "unclosed-block", 29, id="unclosed-fence"),
    pytest.param(edit("## エスカ", "<!--\n## エスカ"), "unclosed-block", 29, id="unclosed-comment"),
]


@pytest.mark.parametrize(("text", "rule", "line"), WARNING_CASES)
def test_warnings_do_not_reject_the_file(
    taxonomy: Taxonomy, text: str, rule: str, line: int
) -> None:
    parsed, issues = parse(text, taxonomy)
    assert parsed is not None
    assert [(i.rule, i.line, i.severity) for i in issues] == [(rule, line, Severity.WARNING)]
    assert str(issues[0]).startswith(f"case.md:{line}: warning: {rule}: ")


@pytest.mark.parametrize(
    "data",
    [b"", b"---", b"---\n", b"\x00\x01\x02", b"---\n: :\n---\n", b"---\n[\n---\n", b"# only\n"],
)
def test_garbage_never_raises(taxonomy: Taxonomy, data: bytes) -> None:
    parsed, issues = parse(data, taxonomy)
    assert parsed is None
    assert errors(issues)


def test_parse_file_reports_an_unreadable_file(taxonomy: Taxonomy, tmp_path: Path) -> None:
    parsed, issues = parse_file(tmp_path / "missing.md", "missing.md", taxonomy)
    assert parsed is None
    assert [(i.path, i.rule) for i in issues] == [("missing.md", "read")]


# ---------------------------------------------------------------------------- the example


def test_format_example_parses_into_front_matter(taxonomy: Taxonomy) -> None:
    path = VALID / "ipr" / "ipr-counterfeit.ja.md"
    parsed, issues = parse_file(path, "ipr/ipr-counterfeit.ja.md", taxonomy)
    assert issues == []
    assert parsed is not None
    meta = parsed.meta
    assert (meta.id, meta.lang, meta.topic, meta.markets) == (
        "ipr-counterfeit",
        "ja",
        "ipr/counterfeit",
        ("JP",),
    )
    assert (meta.version, meta.effective, meta.review_by) == (
        "2.3",
        dt.date(2026, 4, 1),
        dt.date(2026, 10, 1),
    )
    assert meta.translation_of == ("en", "2.3")
    assert meta.regulations == ("商標法",)
    assert meta.supersedes is None
    assert parsed.title_line == "模倣品・偽ブランド品の出品"
    assert parsed.content_hash == hashlib.sha256(path.read_bytes()).hexdigest()
    assert parsed.path == path.resolve()
    assert parsed.meta_lines["translation_of"] == 11


def test_format_example_parses_into_sections_and_statements(taxonomy: Taxonomy) -> None:
    parsed, _ = parse(SPEC_JA, taxonomy)
    assert parsed is not None
    assert [(s.key, s.kind, s.heading, s.line) for s in parsed.sections] == [
        ("overview", SectionKind.OVERVIEW, "概要", 16),
        ("policy", SectionKind.POLICY, "ポリシー", 19),
        ("exceptions", SectionKind.EXCEPTIONS, "例外", 23),
        ("enforcement", SectionKind.ENFORCEMENT, "措置", 26),
        ("escalation", SectionKind.ESCALATION, "エスカレーション", 29),
    ]
    overview = parsed.sections[0]
    assert [b.text for b in overview.blocks] == [
        "本SOPは、登録商標を侵害する商品の出品に対する審査手順を定める。"
    ]
    assert overview.items == ()
    items = {it.item_id: it for it in parsed.items()}
    assert list(items) == ["p1", "p2", "e1", "a1", "x1"]
    assert [it.kind for it in items.values()] == [
        StatementKind.POLICY,
        StatementKind.POLICY,
        StatementKind.EXCEPTION,
        StatementKind.ENFORCEMENT,
        StatementKind.ESCALATION,
    ]
    assert items["e1"].applies_to == ("p1",)
    assert items["a1"].applies_to == ("p1", "p2")
    assert items["a1"].attrs == {"severity": "high"}
    assert items["a1"].text == "初回は出品削除と警告、3回目でアカウント停止とする。"
    assert (items["p2"].line_start, items["p2"].line_end, items["p2"].order) == (21, 21, 1)


def test_english_twin_keeps_continuation_lines_and_links(taxonomy: Taxonomy) -> None:
    path = VALID / "ipr" / "ipr-counterfeit.en.md"
    parsed, issues = parse_file(path, "ipr/ipr-counterfeit.en.md", taxonomy)
    assert issues == []
    assert parsed is not None
    items = {it.item_id: it for it in parsed.items()}
    p1 = items["p1"]
    assert (p1.line_start, p1.line_end) == (20, 21)
    assert p1.text == (
        "Listings that use a registered trademark's logo or name without the rights holder's\n"
        "permission are prohibited."
    )
    assert [(ln.target_doc, ln.target_section, ln.line) for ln in parsed.links()] == [
        ("seller-kyc", None, 17),
        ("ipr-counterfeit", "policy", 27),  # `[[#policy]]`: this document
        ("ipr-counterfeit", "exceptions", 35),
    ]
    assert items["x1"].links[0].line == 35
    overview = parsed.sections[0]
    assert (overview.blocks[0].line_start, overview.blocks[0].line_end) == (16, 17)
    # The twin shares section keys and item ids with the Japanese version.
    ja, _ = parse(SPEC_JA, taxonomy)
    assert ja is not None
    assert [s.key for s in parsed.sections] == [s.key for s in ja.sections]
    assert [it.item_id for it in parsed.items()] == [it.item_id for it in ja.items()]


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_sections_without_anchors_are_keyed_by_the_kind_their_heading_names(
    taxonomy: Taxonomy, lang: str
) -> None:
    parsed, issues = parse_file(VALID / "sellers" / f"seller-kyc.{lang}.md", "kyc.md", taxonomy)
    assert issues == []
    assert parsed is not None
    assert [(s.key, s.anchor, s.kind) for s in parsed.sections] == [
        ("overview", None, SectionKind.OVERVIEW),
        ("policy", None, SectionKind.POLICY),
        ("examples", None, SectionKind.EXAMPLES),
    ]
    # Items without ids are ingested and keep their order; nested lines belong to the item.
    policy = parsed.sections[1]
    assert [(it.item_id, it.order, it.line_start, it.line_end) for it in policy.items] == [
        (None, 0, 24, 26),
        (None, 1, 27, 27),
    ]
    assert policy.items[0].text.count("\n- ") == 2
    assert parsed.meta.version == "1.10"  # a YAML number, kept as written
    assert parsed.meta.effective == dt.date(2026, 1, 15)  # a quoted date
    assert len(parsed.intro) == 1
    # `###` inside a section is prose structure: the list items under it are blocks of their
    # own and remember the sub-heading.
    sub = {"en": "Documents", "ja": "書類"}[lang]
    assert [b.subheading for b in parsed.sections[0].blocks] == [None, sub, sub]
    # Fenced code is text (its `##` is no heading); comments are skipped.
    examples = parsed.sections[2]
    assert examples.blocks[0].text.startswith("```text\n## ")
    assert all("VN" not in b.text for b in examples.blocks)


@pytest.mark.parametrize(
    ("headings", "keys"),
    [
        # A kind named once is the key, wherever the section stands.
        (["## Policy", "## Notes", "## 例外"], ["policy", "s2", "exceptions"]),
        # A kind named twice, or also an anchor: those sections keep their order.
        (["## Policy", "## Rules", "## Notes"], ["s1", "s2", "s3"]),
        (["## Policy {#policy}", "## Policy"], ["policy", "s2"]),
        (["## Background {#policy}", "## Policy"], ["policy", "s2"]),
        (["## Overview {#intro}", "## Policy"], ["intro", "policy"]),
    ],
)
def test_the_key_of_an_unanchored_section(
    taxonomy: Taxonomy, headings: list[str], keys: list[str]
) -> None:
    body = "\n\n".join(f"{h}\nText." for h in headings)
    text = SPEC_JA[: SPEC_JA.index("---\n", 4) + 4] + body + "\n"
    parsed, _ = parse(text, taxonomy)
    assert parsed is not None
    assert [s.key for s in parsed.sections] == keys


@pytest.mark.parametrize(
    ("heading", "kind"),
    [
        ("概要", SectionKind.OVERVIEW),
        ("適用範囲", SectionKind.SCOPE),
        ("定義", SectionKind.DEFINITIONS),
        ("ポリシー", SectionKind.POLICY),
        ("例外", SectionKind.EXCEPTIONS),
        ("措置", SectionKind.ENFORCEMENT),
        ("エスカレーション", SectionKind.ESCALATION),
        ("事例", SectionKind.EXAMPLES),
        ("参考", SectionKind.REFERENCES),
        ("Scope", SectionKind.SCOPE),
        ("Enforcement", SectionKind.ENFORCEMENT),
        ("Escalation", SectionKind.ESCALATION),
        ("Background", SectionKind.OTHER),
        # Numbers, brackets, colons and full-width letters around the usual words.
        ("1. Policy", SectionKind.POLICY),
        ("2) Exceptions:", SectionKind.EXCEPTIONS),
        ("（3）例外（適用除外）", SectionKind.EXCEPTIONS),
        ("第2章 措置", SectionKind.ENFORCEMENT),
        ("2.1 Escalation path", SectionKind.ESCALATION),
        ("ポリシー：", SectionKind.POLICY),
        ("Ｅｘａｍｐｌｅｓ (JP)", SectionKind.EXAMPLES),
        # The usual variants of the words.
        ("Enforcement actions", SectionKind.ENFORCEMENT),
        ("禁止事項", SectionKind.POLICY),
        ("具体例", SectionKind.EXAMPLES),
        ("用語", SectionKind.DEFINITIONS),
        ("See also", SectionKind.REFERENCES),
        # A heading that only mentions a kind is not that kind.
        ("Policy history", SectionKind.OTHER),
        ("例外の申請方法", SectionKind.OTHER),
    ],
)
def test_section_kind_from_heading_text(taxonomy: Taxonomy, heading: str, kind: str) -> None:
    parsed, _ = parse(edit("## 概要 {#overview}", f"## {heading}"), taxonomy)
    assert parsed is not None
    assert parsed.sections[0].kind == kind
    assert parsed.sections[0].anchor is None


def test_prose_around_statements_becomes_blocks_of_the_section(taxonomy: Taxonomy) -> None:
    text = edit(
        "## ポリシー {#policy}\n",
        "## ポリシー {#policy}\n次の出品を禁止する。\n続きの行。\n\n",
    ).replace("## 例外", "補足の段落。\n\n## 例外")
    parsed, issues = parse(text, taxonomy)
    assert issues == []
    assert parsed is not None
    policy = parsed.sections[1]
    assert [it.item_id for it in policy.items] == ["p1", "p2"]
    assert [(b.text, b.line_start, b.line_end, b.order) for b in policy.blocks] == [
        ("次の出品を禁止する。\n続きの行。", 20, 21, 0),
        ("補足の段落。", 26, 26, 1),
    ]


def test_each_prose_list_item_is_its_own_block(taxonomy: Taxonomy) -> None:
    text = edit(
        "本SOPは、登録商標を侵害する商品の出品に対する審査手順を定める。\n",
        "本SOPは定める。\n- 模倣品: 偽物。\n  続き。\n- 正規品: 本物。\n",
    )
    parsed, _ = parse(text, taxonomy)
    assert parsed is not None
    assert [(b.text, b.line_start, b.line_end) for b in parsed.sections[0].blocks] == [
        ("本SOPは定める。", 17, 17),
        ("模倣品: 偽物。\n続き。", 18, 19),
        ("正規品: 本物。", 20, 20),
    ]


def test_item_continuations_lazy_indented_and_after_a_blank_line(taxonomy: Taxonomy) -> None:
    text = edit(
        "- {#p2} 「〇〇風」",
        "- {#p2}\n  第一段落。\nそのまま続く行。\n\n  第二段落。\n- {#p3} 次の項目。\n\n「〇〇風」",
    )
    parsed, _ = parse(text, taxonomy)
    assert parsed is not None
    items = parsed.sections[1].items
    assert [it.item_id for it in items] == ["p1", "p2", "p3"]
    assert items[1].text == "第一段落。\nそのまま続く行。\n\n第二段落。"
    assert (items[1].line_start, items[1].line_end) == (21, 25)
    assert parsed.sections[1].blocks[0].text.startswith("「〇〇風」")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param('version: "2.3"', "version: 2.3", id="version-number"),
        pytest.param("effective: 2026-04-01", 'effective: "2026-04-01"', id="quoted-date"),
        pytest.param("effective: 2026-04-01", "effective: 20260401", id="basic-iso-date"),
        pytest.param("[商標法]\n---\n", "[商標法]\n...\n", id="yaml-end-marker"),
        pytest.param("markets: [JP]", "markets: [ALL]", id="all-markets"),
        pytest.param("markets: [JP]", "markets:\n  - JP\n  - SG", id="block-list"),
        pytest.param("regulations: [商標法]\n", "", id="no-optional-keys"),
        pytest.param("- {#p1}", "1. {#p1}", id="ordered-list"),
        pytest.param("- {#p2}", "* {#p2}", id="star-bullet"),
        pytest.param("{#e1 applies_to=p1}", "{applies_to=p1}", id="attributes-without-id"),
        pytest.param("severity=high}", 'severity=high note="two words"}', id="quoted-attr"),
        pytest.param("applies_to=p1,p2", "applies_to=p1, p2", id="list-with-spaces"),
        pytest.param("applies_to=p1,p2 ", "applies_to=p1,  p2 ", id="list-with-two-spaces"),
        pytest.param("{#e1 applies_to=p1}", "{ #e1 applies_to=p1 }", id="spaces-in-braces"),
        pytest.param("## 例外", "##\u3000例外", id="ideographic-space-heading"),
        pytest.param("- {#p2}", "-\u3000{#p2}", id="ideographic-space-item"),
        pytest.param("# 模倣品・偽ブランド品の出品\n", "", id="no-title"),
        pytest.param("{#exceptions}", "{#例外}", id="unicode-anchor"),
        pytest.param("## 例外", "### 小見出し\n\n## 例外", id="h3-in-section"),
        pytest.param("## 概要 {#overview}\n", "前文。\n\n## 概要 {#overview}\n", id="intro"),
        pytest.param("定める。", "定める [[ipr-counterfeit|この文書]]。", id="link-label"),
        pytest.param("定める。", "定める `[[not-a-link]]`。", id="link-in-code-span"),
        pytest.param("定める。", "定める。\n<!-- メモ -->", id="comment"),
        pytest.param("定める。", "定める。\n\n---\n\n次。", id="thematic-break"),
        pytest.param("定める。", "定める #ハッシュタグ。\n#タグ", id="hashtag-is-no-heading"),
        pytest.param(
            "# 模倣品・偽ブランド品の出品\n", "模倣品・偽ブランド品の出品\n===\n", id="setext-title"
        ),
        pytest.param("owner: IPR Policy JP", "owner:\tIPR Policy JP", id="tab-after-key"),
        pytest.param("lang: ja", "lang: ja\t", id="trailing-tab"),
        pytest.param("markets: [JP]", "markets:\n  -\tJP", id="tab-after-dash"),
        pytest.param("markets: [JP]", "markets: [JP]\u3000", id="trailing-ideographic-space"),
        pytest.param("{#x1 applies_to", "{#方針1 applies_to", id="japanese-item-id"),
        pytest.param("{#x1 applies_to", "{#x２ applies_to", id="full-width-digit-item-id"),
        pytest.param("{#x1 applies_to", "{#x1.1 applies_to", id="dotted-item-id"),
    ],
)
def test_accepted_variants_parse_without_findings(taxonomy: Taxonomy, old: str, new: str) -> None:
    parsed, issues = parse(edit(old, new), taxonomy)
    assert issues == []
    assert parsed is not None
    assert len(parsed.items()) == 5


@pytest.mark.parametrize(
    ("heading", "kind"),
    [
        pytest.param("## 例外 {#exceptions}", SectionKind.EXCEPTIONS, id="anchor"),
        pytest.param("## 例外", SectionKind.EXCEPTIONS, id="heading"),
        pytest.param("## 例外 {#例外}", SectionKind.EXCEPTIONS, id="anchor-in-japanese"),
        pytest.param("## 例外 {#legacy}", SectionKind.OTHER, id="anchor-naming-no-kind"),
        pytest.param("例外 {#exceptions}\n---", SectionKind.EXCEPTIONS, id="setext"),
        pytest.param("例外\n-", SectionKind.EXCEPTIONS, id="setext-one-dash"),
    ],
)
def test_a_sections_kind_comes_from_its_anchor_else_its_heading(
    taxonomy: Taxonomy, heading: str, kind: SectionKind
) -> None:
    parsed, issues = parse(edit("## 例外 {#exceptions}", heading), taxonomy)
    assert errors(issues) == [] and parsed is not None
    assert [s.heading for s in parsed.sections][2] == "例外"
    assert parsed.sections[2].kind is kind
    # A section the anchor makes plain keeps its list as prose, and says so.
    assert [i.rule for i in issues] == (
        [] if kind is SectionKind.EXCEPTIONS else ["attribute-in-prose"]
    )


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param("- {#e1", "・{#e1", id="katakana-middle-dot"),
        pytest.param("- {#e1", "-{#e1", id="dash-without-space"),
        pytest.param("- {#e1", "2．{#e1", id="full-width-period"),
        pytest.param("- {#e1 applies_to=p1}", "- ｛＃e1 applies_to=p1｝", id="full-width-braces"),
        pytest.param(
            "対象外とする。", "対象外とする。\n・{#e2 applies_to=p1} 追加。", id="continuing"
        ),
    ],
)
def test_a_statement_the_format_cannot_read_is_pointed_out(
    taxonomy: Taxonomy, old: str, new: str
) -> None:
    text = edit(old, new)
    parsed, issues = parse(text, taxonomy)
    line = next(n for n, ln in enumerate(text.splitlines(), 1) if new.split("\n")[-1] in ln)
    assert parsed is not None and errors(issues) == []
    assert ("attribute-in-prose", line, Severity.WARNING) in [
        (i.rule, i.line, i.severity) for i in issues
    ]
    meant = re.search(r"e\d", new.split("\n")[-1])  # the statement the author meant
    assert meant is not None and meant.group() not in {it.item_id for it in parsed.items()}


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\x85"])
def test_an_invisible_line_separator_in_the_front_matter_is_a_space(
    taxonomy: Taxonomy, char: str
) -> None:
    parsed, issues = parse(
        edit("title: 模倣品・偽ブランド品", f"title: 模倣品・{char}偽ブランド品"), taxonomy
    )
    assert parsed is not None and parsed.meta.title == "模倣品・ 偽ブランド品の出品"
    assert [(i.rule, i.line, i.severity) for i in issues] == [
        ("invisible-character", 4, Severity.WARNING)
    ]
    # And a YAML error after it is reported on its own line, not one further down.
    _, issues = parse(
        edit("title: 模倣品・偽ブランド品", f"title: 模倣品・{char}偽ブランド品").replace(
            "owner: IPR Policy JP", "owner: IPR: JP"
        ),
        taxonomy,
    )
    assert ("yaml", 7) in [(i.rule, i.line) for i in errors(issues)]
    assert all("\n" not in i.message for i in issues)


@pytest.mark.parametrize(
    "block",
    [
        "{#a1 applies_to=p1,p2 severity=high}",
        "{#a1 applies_to=p1, p2 severity=high}",
        "{ #a1  applies_to=p1,   p2  severity=high }",
        '{#a1 applies_to="p1,p2" severity=high}',
    ],
)
def test_applies_to_lists_read_alike(taxonomy: Taxonomy, block: str) -> None:
    parsed, issues = parse(edit("{#a1 applies_to=p1,p2 severity=high}", block), taxonomy)
    assert issues == [] and parsed is not None
    a1 = next(it for it in parsed.items() if it.item_id == "a1")
    assert (a1.applies_to, a1.attrs) == (("p1", "p2"), {"severity": "high"})
    assert not a1.text.startswith("{")


def test_version_number_is_stored_as_written(taxonomy: Taxonomy) -> None:
    parsed, _ = parse(edit('version: "2.3"', "version: 2.30"), taxonomy)
    assert parsed is not None
    assert parsed.meta.version == "2.30"


def test_links_in_code_are_not_links(taxonomy: Taxonomy) -> None:
    text = edit("定める。", "定める `[[x]]`。\n\n```\n[[y]]\n```\n[[z#policy]]")
    parsed, _ = parse(text, taxonomy)
    assert parsed is not None
    assert [(ln.target_doc, ln.target_section, ln.line) for ln in parsed.links()] == [
        ("z", "policy", 22)
    ]


def test_links_in_the_title_and_headings_reach_every_passage_under_them(
    taxonomy: Taxonomy,
) -> None:
    text = edit("# 模倣品・偽ブランド品の出品", "# 模倣品・偽ブランド品の出品（[[seller-kyc]]）")
    text = text.replace(
        "## 例外 {#exceptions}", "## 例外（[[ipr-trademark#exceptions]]も参照） {#exceptions}"
    )
    parsed, issues = parse(text, taxonomy)
    assert issues == [] and parsed is not None
    assert [(ln.target_doc, ln.target_section, ln.line) for ln in parsed.links()] == [
        ("seller-kyc", None, 14),
        ("ipr-trademark", "exceptions", 23),
    ]
    passages = {p.key.rsplit("/", 1)[-1]: p.link_targets for p in build_version(parsed).passages}
    assert passages["e1"] == ["seller-kyc", "ipr-trademark#exceptions"]
    assert passages["p1"] == ["seller-kyc"]


def test_crlf_and_byte_order_mark_change_nothing(taxonomy: Taxonomy) -> None:
    plain, _ = parse(SPEC_JA, taxonomy)
    data = b"\xef\xbb\xbf" + SPEC_JA.replace("\n", "\r\n").encode("utf-8")
    windows, issues = parse(data, taxonomy)
    assert issues == []
    assert plain is not None and windows is not None
    assert windows.sections == plain.sections
    assert windows.meta == plain.meta
