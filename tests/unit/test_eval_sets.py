"""The judged sets kept in the repository (benchmarks/sets/*) stay usable: their corpora
follow the authoring format, their judgments name units that exist, and they keep the
promises their README makes (the missing translations in GAPS.md, and crosslingual queries
whose answers exist only in the other language)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest.corpus import load_corpus
from kg.errors import InvalidInput
from sopkg.evaluation import document_languages, load_queries

SETS = sorted(
    p for p in (Path(__file__).parents[2] / "benchmarks" / "sets").iterdir() if p.is_dir()
)
_GAP_ROW = re.compile(r"^\|\s*missing-translation\s*\|\s*([a-z0-9-]+)\s*\|\s*(en|ja)\s*\|")


@pytest.fixture(scope="module", params=SETS, ids=[p.name for p in SETS])
def judged_set(request: pytest.FixtureRequest) -> Path:
    return request.param


def test_there_is_a_set_to_check() -> None:
    assert SETS, "benchmarks/sets holds no judged set"


def test_the_corpus_lints_clean_but_for_the_listed_missing_translations(judged_set: Path) -> None:
    corpus = load_corpus(judged_set / "corpus")
    assert corpus.errors == [] and corpus.broken == []
    listed = {
        (m.group(1), m.group(2))
        for line in (judged_set / "GAPS.md").read_text(encoding="utf-8").splitlines()
        if (m := _GAP_ROW.match(line))
    }
    assert listed, "GAPS.md lists no missing translation"
    assert {w.rule for w in corpus.warnings} == {"missing-translation"}
    langs = document_languages(judged_set / "corpus")
    missing = {
        (doc, lang) for doc, has in langs.items() for lang in ("en", "ja") if lang not in has
    }
    assert missing == listed


def test_every_judged_unit_exists(judged_set: Path) -> None:
    corpus = load_corpus(judged_set / "corpus")
    units: set[tuple[str, str, str]] = set()
    for f in corpus.files:
        units |= {(f.meta.id, "section", s.key) for s in f.sections}
        units |= {(f.meta.id, "item", it.item_id) for it in f.items() if it.item_id}
    queries = load_queries(judged_set / "queries.jsonl")
    assert queries
    dangling = {(q.id, u) for q in queries for u in q.grades if u not in units}
    assert dangling == set()
    assert all(2 in q.grades.values() for q in queries), "a query without an answer"


def test_crosslingual_answers_exist_only_in_the_other_language(judged_set: Path) -> None:
    langs = document_languages(judged_set / "corpus")
    crossing = [q for q in load_queries(judged_set / "queries.jsonl") if q.kind == "crosslingual"]
    assert crossing
    for q in crossing:
        answers = {doc for (doc, _, _), grade in q.grades.items() if grade == 2}
        assert all(q.lang not in langs[doc] for doc in answers), q.id


@pytest.mark.parametrize(
    ("lines", "says"),
    [
        (['{"id": "q1", "text": "x"}'], ":1: not a judged query: no 'relevant'"),
        (["", '{"id": "q1", "text": "x", "relevant": []}', "not json"], ":3: not a judged"),
        (['{"id": "q1", "text": "x", "relevant": [{"item": "p1"}]}'], ":1: .*no 'doc'"),
        (['{"id": "q1", "text": "x", "relevant": "d#p1"}'], ":1: .*`relevant` is a list"),
        (['["q1", "x"]'], ":1: not a judged query"),
    ],
)
def test_a_malformed_queries_file_names_its_line(
    tmp_path: Path, lines: list[str], says: str
) -> None:
    path = tmp_path / "queries.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=f"queries: .*queries.jsonl{says}"):
        load_queries(path)
