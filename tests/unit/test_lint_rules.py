"""Corpus-level lint: cross-file rules, corpus files, `run_lint` output and exit codes."""

from __future__ import annotations

import io
import os
import re
import shutil
from pathlib import Path

import pytest

from ingest.corpus import load_corpus
from ingest.lint import format_issues, lint, run_lint
from ingest.model import Issue, Severity
from ingest.pipeline import label_conflict_issues
from kg.writer import LabelConflict

DATA = Path(__file__).resolve().parents[1] / "data" / "lint"
REPO = Path(__file__).resolve().parents[2]
OUTPUT_LINE = re.compile(
    r"^(?P<path>[^:]+):(?P<line>\d+): (?P<warning>warning: )?(?P<rule>[a-z-]+): "
)

DOC = """---
id: {id}
lang: {lang}
title: T
topic: {topic}
markets: [ALL]
owner: Seller Trust
version: "1"
effective: 2026-04-01
---
{body}"""


def write_corpus(root: Path, files: dict[str, str], taxonomy: bool = True) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    if taxonomy:
        shutil.copy(DATA / "valid" / "taxonomy.yaml", root / "taxonomy.yaml")
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def doc(doc_id: str, lang: str, body: str, topic: str = "sellers/kyc") -> str:
    return DOC.format(id=doc_id, lang=lang, body=body, topic=topic)


def found(issues: list[Issue]) -> set[tuple[str, str, int, Severity]]:
    return {(i.rule, i.path, i.line, i.severity) for i in issues}


# ---------------------------------------------------------------------------- clean corpus


def test_valid_bilingual_corpus_has_no_findings() -> None:
    corpus = lint(DATA / "valid")
    assert corpus.issues == []
    assert corpus.broken == []
    assert [f.rel_path for f in corpus.files] == [
        "ipr/ipr-counterfeit.en.md",
        "ipr/ipr-counterfeit.ja.md",
        "sellers/seller-kyc.en.md",
        "sellers/seller-kyc.ja.md",
    ]
    assert list(corpus.documents()) == ["ipr-counterfeit", "seller-kyc"]
    assert corpus.taxonomy.source.endswith("taxonomy.yaml")
    assert "ipr/counterfeit" in corpus.taxonomy
    assert corpus.glossary[0].terms["ja"][0] == "模倣品"


def test_run_lint_on_a_clean_corpus_prints_the_summary_and_exits_0() -> None:
    out = io.StringIO()
    assert run_lint(DATA / "valid", out=out) == 0
    assert out.getvalue() == "4 files (0 broken), 2 documents, 0 errors, 0 warnings\n"


# ---------------------------------------------------------------------------- warnings

GAP_WARNINGS = [
    ("dangling-link", "alpha.en.md", 14),
    ("dangling-section", "alpha.en.md", 14),
    ("missing-applies-to", "alpha.en.md", 21),
    ("alignment", "alpha.ja.md", 17),  # item ids: ja lacks p2 (at its policy section)
    ("alignment", "alpha.ja.md", 21),  # e1's applies_to differs
    ("outdated-translation", "alpha.ja.md", 10),
    ("missing-translation", "beta.en.md", 3),
    ("missing-source", "beta.en.md", 10),
    ("unknown-supersedes", "beta.en.md", 11),
    ("translation-ahead", "gamma.ja.md", 10),
]


def test_coverage_gaps_are_warnings_at_their_lines() -> None:
    corpus = lint(DATA / "gaps")
    assert found(corpus.issues) == {(r, p, n, Severity.WARNING) for r, p, n in GAP_WARNINGS}
    assert corpus.broken == []
    assert len(corpus.files) == 5


def test_warnings_alone_exit_0_and_are_marked() -> None:
    out = io.StringIO()
    assert run_lint(DATA / "gaps", out=out) == 0
    lines = out.getvalue().splitlines()
    assert lines[-1] == "5 files (0 broken), 3 documents, 0 errors, 10 warnings"
    assert all(OUTPUT_LINE.match(ln) and ": warning: " in ln for ln in lines[:-1])
    assert any(ln.startswith("alpha.ja.md:10: warning: outdated-translation: follows en@1.0")
               for ln in lines)  # fmt: skip


def test_sections_aligned_by_order_must_agree(tmp_path: Path) -> None:
    root = write_corpus(
        tmp_path,
        {
            "d.en.md": doc("d", "en", "## Policy\n- One.\n- Two.\n\n## Examples\nText.\n"),
            "d.ja.md": doc(
                "d", "ja", "## ポリシー\n- 一。\n\n## 事例\n本文。\n\n## 参考\n本文。\n"
            ),
        },
    )
    issues = load_corpus(root).issues
    assert found(issues) == {
        ("alignment", "d.ja.md", 17, Severity.WARNING),  # s3 (line 17) has no en twin
        ("alignment", "d.ja.md", 11, Severity.WARNING),  # 1 id-less item vs 2
    }


def test_unanchored_sections_align_by_order_when_one_heading_names_no_kind(
    tmp_path: Path,
) -> None:
    # `## Scope` names a kind, its Japanese twin's heading does not: both keep the order's key
    # (the format's rule) and pair; `## Policy` and `## ポリシー` both name theirs and keep it.
    root = write_corpus(
        tmp_path,
        {
            "d.en.md": doc("d", "en", "## Scope\nText.\n\n## Policy\n- {#p1} One.\n"),
            "d.ja.md": doc("d", "ja", "## 対象となる行為\n本文。\n\n## ポリシー\n- {#p1} 一。\n"),
        },
    )
    corpus = load_corpus(root)
    assert corpus.issues == []
    keys = {f.meta.lang: [s.key for s in f.sections] for f in corpus.files}
    assert keys == {"en": ["s1", "policy"], "ja": ["s1", "policy"]}


def test_hidden_paths_are_left_out_and_said_to_be(tmp_path: Path) -> None:
    body = "## Policy\n- One.\n"
    root = write_corpus(
        tmp_path,
        {
            "d.en.md": doc("d", "en", body),
            ".drafts/e.en.md": doc("e", "en", body),
            ".drafts/sub/f.en.md": doc("f", "en", body),
            "topic/.old.md": doc("g", "en", body),
            ".github/ISSUE_TEMPLATE/bug.md": "---\nname: Bug\nabout: a bug\n---\nText.\n",
        },
    )
    corpus = load_corpus(root)
    assert [f.meta.id for f in corpus.files] == ["d"]
    hidden = [(i.path, i.line, i.severity) for i in corpus.issues if i.rule == "hidden-path"]
    assert hidden == [(".drafts", 0, Severity.WARNING), ("topic/.old.md", 0, Severity.WARNING)]
    assert "2 SOP file(s)" in next(i.message for i in corpus.issues if i.path == ".drafts")


def test_a_dangling_link_is_quoted_as_written(tmp_path: Path) -> None:
    body = "## Overview\nSee [[nowhere#exceptions]] and [[nowhere]].\n"
    root = write_corpus(tmp_path, {"d.en.md": doc("d", "en", body)})
    messages = [i.message for i in load_corpus(root).issues if i.rule == "dangling-link"]
    assert sorted(messages) == [
        "[[nowhere#exceptions]] names no document in the corpus",
        "[[nowhere]] names no document in the corpus",
    ]


def test_item_ids_that_differ_are_reported_at_the_item(tmp_path: Path) -> None:
    root = write_corpus(
        tmp_path,
        {
            "d.en.md": doc("d", "en", "## Policy\n- {#p1} One.\n- {#p2} Two.\n"),
            "d.ja.md": doc("d", "ja", "## ポリシー\n- {#p1} 一。\n- {#p２} 二。\n"),
        },
    )
    (issue,) = load_corpus(root).issues
    assert (issue.rule, issue.path, issue.line) == ("alignment", "d.ja.md", 13)
    assert (
        issue.message
        == "item ids differ from the en version: missing p2; not in the en version: p２"
    )


# ---------------------------------------------------------------------------- errors

BROKEN_ERRORS = [
    ("applies-to", "bad-applies-to.en.md", 15),
    ("topic", "bad-topic.ja.md", 5),
    ("duplicate-document", "good2.en.md", 2),
]


def test_broken_files_are_reported_and_left_out() -> None:
    corpus = lint(DATA / "broken")
    assert {(i.rule, i.path, i.line) for i in corpus.errors} == set(BROKEN_ERRORS)
    assert corpus.broken == ["bad-applies-to.en.md", "bad-topic.ja.md", "good2.en.md"]
    assert [f.rel_path for f in corpus.files] == ["good.en.md"]
    # The document that remains is still checked: it has no Japanese version.
    assert [(i.rule, i.path) for i in corpus.warnings] == [("missing-translation", "good.en.md")]


@pytest.mark.parametrize(
    ("broken_ja", "warned"),
    [
        # The body breaks the format: the front matter still says which version it is.
        ("## ポリシー\n- {#p1} 一。\n- {#p1} 二。\n", []),
        # The front matter itself is broken: nothing says the file is d's Japanese version.
        (None, ["missing-source", "missing-translation"]),
    ],
)
def test_a_broken_version_is_not_also_reported_missing(
    tmp_path: Path, broken_ja: str | None, warned: list[str]
) -> None:
    ja = doc("d", "ja", broken_ja) if broken_ja else "---\nid: d\nlang: [ja\n---\n# D\n"
    en = doc("d", "en", "## Policy\n- {#p1} One.\n").replace(
        "lang: en", "lang: en\ntranslation_of: ja@1.0"
    )
    corpus = load_corpus(write_corpus(tmp_path, {"d.en.md": en, "d.ja.md": ja}))
    assert corpus.broken == ["d.ja.md"] and corpus.errors
    # When it can tell, neither a missing translation nor a missing source: d.ja.md's
    # error says what to fix.
    assert sorted(i.rule for i in corpus.warnings) == warned


def test_run_lint_prints_file_line_rule_message_and_exits_1() -> None:
    out = io.StringIO()
    assert run_lint(DATA / "broken", out=out) == 1
    lines = out.getvalue().splitlines()
    assert lines[-1] == "4 files (3 broken), 1 document, 3 errors, 1 warning"
    assert "bad-applies-to.en.md:15: applies-to: applies_to names 'p7'" in lines[0]
    assert "bad-topic.ja.md:5: topic: unknown topic 'sellers/kyc-jp'; nearest known: " in lines[1]
    for line in lines[:-1]:
        m = OUTPUT_LINE.match(line)
        assert m is not None, line
    assert format_issues(lint(DATA / "broken").issues).splitlines() == lines[:-1]


def test_run_lint_writes_to_stdout_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_lint(DATA / "broken") == 1
    assert capsys.readouterr().out.endswith("3 errors, 1 warning\n")


def test_broken_taxonomy_and_glossary(tmp_path: Path) -> None:
    root = write_corpus(
        tmp_path,
        {
            "taxonomy.yaml": "topics:\n  - id: sellers\n    en: [unclosed\n",
            "glossary.yaml": "terms: not a list\n",
            "d.en.md": doc("d", "en", "## Policy\n- One.\n"),
        },
        taxonomy=False,
    )
    corpus = load_corpus(root)
    assert {(i.rule, i.path, i.line) for i in corpus.errors} == {
        ("taxonomy", "taxonomy.yaml", 4),
        ("glossary", "glossary.yaml", 0),
        ("topic", "d.en.md", 5),  # no topic is known without a taxonomy
    }
    assert corpus.glossary == []


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("terms:\n  - en: [fake]\n    ja: [偽物]\n  - note: none\n", 4, "names no term"),
        ("terms:\n  - en: [fake]\n  - just text\n", 3, "is not a mapping"),
        ("terms:\n  - en: [fake\n  - ja: [偽物]\n", 3, "invalid YAML: "),
    ],
)
def test_glossary_findings_name_the_group_s_line(
    tmp_path: Path, text: str, line: int, says: str
) -> None:
    root = write_corpus(tmp_path, {"glossary.yaml": text})
    errors = load_corpus(root).errors
    ((rule, at, message),) = [(i.rule, i.line, i.message) for i in errors if i.path != "."]
    assert (rule, at) == ("glossary", line) and says in message
    assert "\n" not in message and "<unicode string>" not in message


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("topics: {id: x}\n", 0, "top-level `topics:` list"),
        ("topics:\n  - id: x\n    en: X\n    children:\n      - en: Y\n", 5, "lacks `id`"),
        ("topics:\n  - id: a/b\n    en: X\n", 2, "has a `/`"),
        ("topics:\n  - id: x\n    en: X\n  - id: x\n    en: X\n", 4, "defined twice"),
        ("topics:\n  - id: x\n    en: X\n    children: {id: y}\n", 2, "not a list"),
        ("topics:\n  - id: x\n    children:\n      - just text\n", 2, "not a mapping"),
    ],
)
def test_taxonomy_that_is_no_topic_tree(tmp_path: Path, text: str, line: int, says: str) -> None:
    root = write_corpus(tmp_path, {"taxonomy.yaml": text}, taxonomy=False)
    errors = load_corpus(root).errors  # besides the corpus's own (no SOP file)
    ((rule, at, message),) = [(i.rule, i.line, i.message) for i in errors if i.path != "."]
    assert (rule, at) == ("taxonomy", line) and says in message


def test_a_topic_label_in_one_language_is_a_warning_and_the_other_is_shown(
    tmp_path: Path,
) -> None:
    text = "topics:\n  - id: goods\n    en: Goods\n    children:\n      - id: misc\n"
    root = write_corpus(
        tmp_path,
        {"taxonomy.yaml": text, "d.en.md": doc("d", "en", "## Policy\n- One.\n", "goods/misc")},
        taxonomy=False,
    )
    corpus = load_corpus(root)
    assert corpus.errors == [] and [f.meta.topic for f in corpus.files] == ["goods/misc"]
    gaps = [(i.rule, i.line, i.severity) for i in corpus.issues if i.path == "taxonomy.yaml"]
    warning = Severity.WARNING
    assert gaps == [
        ("topic-translation", 2, warning),  # goods: no ja
        ("topic-translation", 5, warning),  # misc: no en
        ("topic-translation", 5, warning),  # misc: no ja
    ]
    goods, misc = corpus.taxonomy.get("goods"), corpus.taxonomy.get("goods/misc")
    assert goods is not None and (goods.en, goods.ja) == ("Goods", "Goods")
    assert misc is not None and (misc.en, misc.ja) == ("misc", "misc")


def test_not_a_folder(tmp_path: Path) -> None:
    out = io.StringIO()
    assert run_lint(tmp_path / "nowhere", out=out) == 1
    assert [i.rule for i in lint(tmp_path / "nowhere").errors] == ["corpus"]
    assert out.getvalue().startswith(f"{tmp_path / 'nowhere'}:0: corpus: ")


def test_empty_corpus_is_an_error(tmp_path: Path) -> None:
    root = write_corpus(tmp_path, {})
    assert [(i.rule, i.severity) for i in lint(root).issues] == [("empty-corpus", Severity.ERROR)]


def test_a_file_name_that_is_not_utf8_is_an_error_and_is_not_read(tmp_path: Path) -> None:
    root = write_corpus(tmp_path, {"a.en.md": doc("a", "en", "## Policy\n- One.\n")})
    os.rename(root / "a.en.md", os.fsencode(root) + b"/z\xff.en.md")
    result = lint(root)
    assert [(i.path, i.rule) for i in result.errors] == [
        (".", "empty-corpus"), ("z\ufffd.en.md", "file-name")]  # fmt: skip
    assert not result.files and not result.broken  # no name Neo4j would refuse


def test_hidden_folders_are_not_the_corpus(tmp_path: Path) -> None:
    root = write_corpus(
        tmp_path,
        {
            ".github/PULL_REQUEST_TEMPLATE.md": "no front matter",
            "d.en.md": doc("d", "en", "## Policy\n- One.\n"),
            "sub/d.ja.md": doc("d", "ja", "## ポリシー\n- 一。\n"),
        },
    )
    corpus = lint(root)
    assert corpus.issues == []
    assert [f.rel_path for f in corpus.files] == ["d.en.md", "sub/d.ja.md"]


# ------------------------------------------------------------------- found at ingest only


@pytest.mark.parametrize("own_taxonomy", [True, False])
def test_topic_label_conflicts_point_at_the_topics_line(tmp_path: Path, own_taxonomy: bool) -> None:
    corpus = load_corpus(write_corpus(tmp_path, {}, taxonomy=own_taxonomy))
    conflict = LabelConflict("sellers/kyc", ("KYC", "本人確認"), ("Identity", "身元確認"), "alpha")
    (issue,) = label_conflict_issues([conflict], corpus)
    assert issue.rule == "topic-label" and issue.severity is Severity.WARNING
    assert issue.path == "taxonomy.yaml"
    text = (tmp_path / "taxonomy.yaml").read_text(encoding="utf-8") if own_taxonomy else ""
    want = next(i for i, ln in enumerate(text.splitlines(), 1) if "id: kyc" in ln) if text else 0
    assert issue.line == want
    assert "Identity / 身元確認" in issue.message and "'alpha'" in issue.message
    assert ("built-in" in issue.message) is not own_taxonomy


# ---------------------------------------------------------------------------- documentation


def test_every_documented_rule_is_tested() -> None:
    table = (REPO / "docs" / "lint-rules.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z-]+)` \| (?:error|warning) \|", table, re.M))
    here = Path(__file__).read_text(encoding="utf-8")
    parser_tests = (Path(__file__).parent / "test_parser.py").read_text(encoding="utf-8")
    # Rules that need the graph (`document-corpus`) are tested at ingest, on a real Neo4j.
    ingest_tests = (REPO / "tests" / "integration" / "test_ingest.py").read_text(encoding="utf-8")
    tested = set(re.findall(r'"([a-z-]+)"', here + parser_tests + ingest_tests))
    assert documented - tested == set()
    assert len(documented) >= 35
