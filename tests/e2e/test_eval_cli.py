"""`sopkg eval` end to end: a judged set ingested into its own local Neo4j instance, its
queries run through the retriever, and `--against` comparing two runs query by query."""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from statistics import mean
from typing import Any

import pytest

from kg.local_neo4j import LocalNeo4j
from kg.settings import Settings, get_settings
from sopkg.cli import main
from sopkg.evaluation import EvalSet
from tests.e2e.conftest import MINI, TODAY

pytestmark = pytest.mark.e2e

QUERIES = Path(__file__).resolve().parents[1] / "data" / "mini_eval_queries.jsonl"


@pytest.fixture()
def eval_env(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A state folder of its own (so the eval instance, named after the corpus path, is
    this test's alone and leaves nothing behind), sharing the suite's Neo4j jars."""
    if os.environ.get("SOPKG_TEST_NEO4J_URI"):
        pytest.skip("sopkg eval always runs its own local Neo4j; this run uses an external one")
    LocalNeo4j(settings, "test").ensure_jars()  # the cache the symlink below points to
    state = tmp_path / "state"
    state.mkdir()
    (state / "neo4j-lib").symlink_to(settings.state_dir / "neo4j-lib")
    monkeypatch.setenv("SOPKG_STATE_DIR", str(state))
    monkeypatch.setenv("SOPKG_TODAY", TODAY.isoformat())
    get_settings.cache_clear()
    corpus = tmp_path / "mini"
    corpus.symlink_to(MINI, target_is_directory=True)
    yield corpus
    LocalNeo4j(get_settings(), EvalSet(corpus, QUERIES).instance).stop()
    get_settings.cache_clear()


def _eval(corpus: Path, *extra: str) -> list[str]:
    return ["eval", "--set", str(corpus), str(QUERIES), "--mode", "hybrid", "--mode", "lexical",
            "--json", *extra]  # fmt: skip


def _ndcg10(ranked: list[str], grades: dict[str, int]) -> float:
    """nDCG@10 with linear gains, as trec_eval computes it."""
    dcg = sum(grades.get(u, 0) / math.log2(i + 2) for i, u in enumerate(ranked[:10]))
    ideal = sorted(grades.values(), reverse=True)[:10]
    return dcg / sum(g / math.log2(i + 2) for i, g in enumerate(ideal))


def test_eval_against_an_earlier_run_pairs_the_queries(
    eval_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tmp_path / "before.json"
    runs = tmp_path / "runs"
    assert main(_eval(eval_env, "--per-query", "--out", str(before), "--runs", str(runs))) == 0
    base: dict[str, Any] = json.loads(capsys.readouterr().out)
    hybrid = base["sets"][0]["modes"]["hybrid"]
    # The raw results in the TREC files, scored again here from those files alone.
    name = base["sets"][0]["name"]
    files = {f"{name}.qrels", f"{name}.hybrid.run", f"{name}.lexical.run"}
    assert {Path(p).name for p in base["runs"]} == files
    qrels: dict[str, dict[str, int]] = {}
    for line in (runs / f"{name}.qrels").read_text(encoding="utf-8").splitlines():
        qid, _, unit, grade = line.split()
        qrels.setdefault(qid, {})[unit] = int(grade)
    assert len(qrels) == 5
    for mode in ("hybrid", "lexical"):
        ranked: dict[str, list[tuple[int, float, str]]] = {}
        for line in (runs / f"{name}.{mode}.run").read_text(encoding="utf-8").splitlines():
            qid, q0, unit, rank, score, tag = line.split()
            assert (q0, tag) == ("Q0", f"sopkg-{mode}")
            ranked.setdefault(qid, []).append((int(rank), float(score), unit))
        for row in base["sets"][0]["modes"][mode]["per_query"]:
            lines = ranked.get(row["id"], [])
            by_score = [u for _, _, u in sorted(lines, key=lambda x: -x[1])]  # as trec_eval
            assert by_score == [u for _, _, u in sorted(lines)] == row["ranked"]
            assert _ndcg10(by_score, qrels[row["id"]]) == pytest.approx(row["ndcg@10"], abs=1e-4)
    assert hybrid["overall"]["queries"] == 5 and hybrid["overall"]["ndcg@10"] > 0.5
    # Each query's score had its documents' units been in the best order bounds its own.
    for r in hybrid["per_query"]:
        assert r["ndcg@10"] - 1e-4 <= r["ordered_ndcg@10"] <= 1.0
    assert hybrid["overall"]["ordered_ndcg@10"] == pytest.approx(
        mean(r["ordered_ndcg@10"] for r in hybrid["per_query"]), abs=1e-4
    )
    # The default paired with its lexical arm in the same run.
    arm = base["hybrid_against_arms"]["sets"][0]["modes"]["hybrid vs lexical"]
    lexical = {r["id"]: r["ndcg@10"] for r in base["sets"][0]["modes"]["lexical"]["per_query"]}
    gap = mean(r["ndcg@10"] - lexical[r["id"]] for r in hybrid["per_query"])
    assert arm["delta"]["ndcg@10"] == pytest.approx(gap, abs=1e-4)

    # The same settings again: the ranking is deterministic, so every query ties.
    assert main(_eval(eval_env, "--against", str(before))) == 0
    same = json.loads(capsys.readouterr().out)
    assert "per_query" not in same["sets"][0]["modes"]["hybrid"]  # not asked for
    for c in same["against"]["sets"][0]["modes"].values():
        assert (c["wins"], c["losses"], c["ties"], c["p_value"]) == (0, 0, 5, 1.0)
    assert same["environment"] == base["environment"]  # the same machine and packages
    assert same["against"]["environment_changes"] == []

    # A fusion constant that reorders the top (k=1: the first rank all but decides): the
    # comparison is the per-query difference. (Lexical evidence switched off no longer
    # moves any of these five queries since the dictionary carries them across languages.)
    assert main(_eval(eval_env, "--per-query", "--param", "k=1",
                      "--against", str(before))) == 0  # fmt: skip
    after = json.loads(capsys.readouterr().out)
    c = after["against"]["sets"][0]["modes"]["hybrid"]
    old = {r["id"]: r["ndcg@10"] for r in hybrid["per_query"]}
    new = {r["id"]: r["ndcg@10"] for r in after["sets"][0]["modes"]["hybrid"]["per_query"]}
    assert c["delta"]["ndcg@10"] == pytest.approx(mean(new[i] - old[i] for i in old), abs=1e-4)
    assert c["wins"] + c["losses"] + c["ties"] == 5 and c["ties"] < 5
    assert c["wins"] == sum(new[i] > old[i] + 1e-4 for i in old)
    assert after["against"]["fusion_before"] == base["fusion"]

    # The Markdown summary carries both pairings.
    argv = ["eval", "--set", str(eval_env), str(QUERIES), "--mode", "hybrid", "--mode",
            "lexical", "--format", "table", "--against", str(before)]  # fmt: skip
    assert main(argv) == 0
    table = capsys.readouterr().out
    name = base["sets"][0]["name"]
    assert f"| {name} | hybrid vs lexical |" in table
    assert f"| {name} | lexical | +0.0000 |" in table  # the same settings as `before`
    assert "Measured differently" not in table
    ordered = hybrid["overall"]["ordered_ndcg@10"]
    assert (f"| {name} | hybrid | {hybrid['overall']['ndcg@10']:.3f} | {ordered:.3f} |") in table

    # An earlier report measured on another CPU: the summary says so under the comparison.
    moved = tmp_path / "elsewhere.json"
    moved.write_text(json.dumps({**base, "environment": {**base["environment"], "cpu": "X"}}))
    assert main([*argv[:-1], str(moved)]) == 0
    note = capsys.readouterr().out.splitlines()[-1]
    assert note.startswith("Measured differently") and "CPU 'X' -> " in note


@pytest.mark.parametrize(
    ("report", "message"),
    [
        (None, "no such file"),
        ("not json", "not a JSON report"),
        ({"sets": [{"name": "mini", "modes": {"hybrid": {"overall": {}}}}]}, "--per-query"),
    ],
)
def test_eval_against_refuses_a_report_it_cannot_compare_before_any_work(
    eval_env: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    report: Any,
    message: str,
) -> None:
    path = tmp_path / "report.json"
    if report is not None:
        path.write_text(report if isinstance(report, str) else json.dumps(report))
    assert main(_eval(eval_env, "--against", str(path))) == 2
    assert message in capsys.readouterr().err
    # Refused before the eval instance was even started.
    assert not LocalNeo4j(get_settings(), EvalSet(eval_env, QUERIES).instance).status().running


@pytest.mark.parametrize(
    ("flag", "under_a_file", "message"),
    [
        ("--runs", "runs", "cannot make a folder there"),
        ("--out", "report.json", "is a file, not a folder"),
        ("--out", "", "is a folder, not a file"),
    ],
)
def test_eval_refuses_an_output_it_cannot_write_before_any_work(
    eval_env: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    flag: str,
    under_a_file: str,
    message: str,
) -> None:
    taken = tmp_path / "a-file"
    taken.write_text("not a folder", encoding="utf-8")
    target = taken / under_a_file if under_a_file else tmp_path
    assert main(_eval(eval_env, flag, str(target))) == 2
    assert message in capsys.readouterr().err
    assert taken.read_text(encoding="utf-8") == "not a folder"
    # Refused before the eval instance was even started, so no work is lost after it.
    assert not LocalNeo4j(get_settings(), EvalSet(eval_env, QUERIES).instance).status().running


def test_a_set_graph_that_would_be_rewritten_is_built_again_from_nothing(
    eval_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A corpus of its own to edit (eval_env's is the shared mini corpus itself).
    corpus = tmp_path / "editable"
    shutil.copytree(MINI, corpus)
    instance = EvalSet(corpus, QUERIES).instance

    def ingest_of(*extra: str) -> dict[str, Any]:
        assert main(_eval(corpus, *extra)) == 0
        report: dict[str, Any] = json.loads(capsys.readouterr().out)
        return {"report": report, **report["sets"][0]["ingest"]}

    try:
        first = ingest_of()
        assert (first["rebuilt"], first["written"], first["skipped"]) == (False, 2, 0)
        again = ingest_of()  # nothing changed: the graph is used as it is
        assert (again["rebuilt"], again["written"], again["skipped"]) == (False, 0, 2)

        path = corpus / "offplatform.en.md"
        path.write_text(path.read_text(encoding="utf-8") + "\nOne more line.\n", "utf-8")
        edited = ingest_of("--per-query", "--out", str(tmp_path / "edited.json"))
        # One file changed: the graph is written again whole, as a first run writes it.
        assert (edited["rebuilt"], edited["written"], edited["skipped"]) == (True, 2, 0)

        fresh = ingest_of("--fresh", "--against", str(tmp_path / "edited.json"))
        assert (fresh["rebuilt"], fresh["written"]) == (False, 2)
        for c in fresh["report"]["against"]["sets"][0]["modes"].values():
            assert (c["wins"], c["losses"], c["ties"]) == (0, 0, 5)
    finally:
        LocalNeo4j(get_settings(), instance).stop()
