"""The TREC files of `sopkg eval --runs`: one token a unit, whatever its parts hold, and the
formats' columns as trec_eval reads them."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import pytest

from sopkg.trec import file_stems, qrels_lines, run_lines, unit_id, write_set


@pytest.mark.parametrize(
    "unit",
    [
        ("ipr-counterfeit-jp", "item", "p1"),
        ("doc", "section", "overview"),
        ("doc", "section", "two words"),
        ("doc:odd", "section", "a:b"),
        ("商品", "section", "概要\tと例"),
    ],
)
def test_a_unit_is_one_token_that_gives_its_parts_back(unit: tuple[str, str, str]) -> None:
    uid = unit_id(unit)
    assert uid.split() == [uid]
    assert tuple(unquote(part) for part in uid.split(":")) == unit


def test_qrels_and_run_columns() -> None:
    grades = {"q1": {("d", "item", "p2"): 1, ("d", "item", "p1"): 2}, "q2": {}}
    assert qrels_lines(grades) == ["q1 0 d:item:p1 2", "q1 0 d:item:p2 1"]
    lines = run_lines({"q1": ["d:item:p2", "d:section:overview", "e:item:p1"]}, "hybrid")
    rows = [line.split() for line in lines]
    assert [r[:4] for r in rows] == [
        ["q1", "Q0", "d:item:p2", "1"],
        ["q1", "Q0", "d:section:overview", "2"],
        ["q1", "Q0", "e:item:p1", "3"],
    ]
    scores = [float(r[4]) for r in rows]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) == len(scores)
    assert {r[5] for r in rows} == {"sopkg-hybrid"}


def test_sets_sharing_a_name_get_their_instances_names() -> None:
    names = ["dev", "corpus", "corpus"]
    instances = ["eval-dev-1a2b3c", "eval-corpus-aaaaaa", "eval-corpus-bbbbbb"]
    assert file_stems(names, instances) == ["dev", "corpus-aaaaaa", "corpus-bbbbbb"]


def test_write_set_writes_qrels_then_one_run_a_mode(tmp_path: Path) -> None:
    folder = tmp_path / "runs" / "new"
    written = write_set(
        folder,
        "dev",
        {"q1": {("d", "item", "p1"): 2}},
        {"hybrid": {"q1": ["d:item:p1"]}, "dense": {"q1": []}},
    )
    assert [p.name for p in written] == ["dev.qrels", "dev.hybrid.run", "dev.dense.run"]
    assert (folder / "dev.qrels").read_text(encoding="utf-8") == "q1 0 d:item:p1 2\n"
    assert (folder / "dev.hybrid.run").read_text(encoding="utf-8").split() == [
        "q1", "Q0", "d:item:p1", "1", "1", "sopkg-hybrid",
    ]  # fmt: skip
    assert (folder / "dev.dense.run").read_text(encoding="utf-8") == ""
