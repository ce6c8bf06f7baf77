"""Several corpora in one graph, each with its own taxonomy and glossary, on a real Neo4j:
what search and browsing read is the same whichever was ingested last, ingesting them again
in turn changes nothing, and one of them can be taken out."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from neo4j import Driver

from ingest.pipeline import IngestSummary, ingest_corpus, remove_corpus
from kg.errors import NotFound
from kg.reader import GraphReader

pytestmark = pytest.mark.integration
MINI = Path(__file__).resolve().parents[1] / "data" / "mini_corpus"
RETURNS_TAXONOMY = """\
topics:
  - id: returns
    en: Returns
    ja: 返品
    children:
      - id: refunds
        en: Refunds
        ja: 返金
"""
# The same first group as the mini corpus's glossary (key 1:counterfeit), other words.
KNOCKOFF_GLOSSARY = "terms:\n  - en: [counterfeit, knockoff]\n    ja: [模倣品, パチモン]\n"


@pytest.fixture()
def corpora(tmp_path: Path) -> tuple[Path, Path]:
    mini = tmp_path / "mini"
    shutil.copytree(MINI, mini)
    other = tmp_path / "other"
    other.mkdir()
    (other / "taxonomy.yaml").write_text(RETURNS_TAXONOMY, encoding="utf-8")
    doc = (MINI / "offplatform.en.md").read_text(encoding="utf-8")
    (other / "refunds.en.md").write_text(
        doc.replace("id: mini-offplatform", "id: other-refunds")
        .replace("topic: sellers/off-platform", "topic: returns")
        .replace(" See [[mini-missing-doc]].", ""),
        encoding="utf-8",
    )
    return mini, other


def _ingest(driver: Driver, root: Path, embedder) -> IngestSummary:  # type: ignore[no-untyped-def]
    summary = ingest_corpus(root, driver, "neo4j", embedder, corpus_name=root.name)
    assert summary.errors == []
    return summary


def _listed(driver: Driver) -> set[str]:
    return {t["path"] for t in GraphReader(driver, "neo4j").topics()}


def test_each_corpus_keeps_its_topics_listed(
    clean_driver: Driver, corpora: tuple[Path, Path], embedder
) -> None:  # type: ignore[no-untyped-def]
    mini, other = corpora
    _ingest(clean_driver, mini, embedder)
    _ingest(clean_driver, other, embedder)
    listed = _listed(clean_driver)
    assert {"sellers/off-platform", "ipr/counterfeit", "returns", "returns/refunds"} <= listed

    stamp = GraphReader(clean_driver, "neo4j").corpus_stamp()
    assert not _ingest(clean_driver, mini, embedder).changed
    assert not _ingest(clean_driver, other, embedder).changed
    assert GraphReader(clean_driver, "neo4j").corpus_stamp() == stamp
    assert _listed(clean_driver) == listed

    # A topic its own corpus drops leaves the list; the other corpus's stay.
    text = RETURNS_TAXONOMY.split("    children:")[0]
    (other / "taxonomy.yaml").write_text(text, encoding="utf-8")
    assert _ingest(clean_driver, other, embedder).changed
    assert _listed(clean_driver) == listed - {"returns/refunds"}


def _labels(driver: Driver) -> dict[str, tuple[str, str]]:
    return {t["path"]: (t["en"], t["ja"]) for t in GraphReader(driver, "neo4j").topics()}


def _terms(driver: Driver) -> dict[str, tuple[list[str], list[str]]]:
    return {t["key"]: (t["en"], t["ja"]) for t in GraphReader(driver, "neo4j").glossary()}


def test_a_topic_two_corpora_label_shows_one_label_whichever_ran_last(
    clean_driver: Driver, corpora: tuple[Path, Path], embedder
) -> None:  # type: ignore[no-untyped-def]
    mini, other = corpora
    theirs = "  - id: ipr\n    en: IP\n    ja: 知財\n    children:\n"
    theirs += "      - id: counterfeit\n        en: Fakes\n        ja: 偽物\n"
    (other / "taxonomy.yaml").write_text(RETURNS_TAXONOMY + theirs, encoding="utf-8")
    first = _ingest(clean_driver, other, embedder)
    assert not [w for w in first.warning_lines if "topic-label" in w]  # none lists it yet
    assert _labels(clean_driver)["ipr/counterfeit"] == ("Fakes", "偽物")

    _ingest(clean_driver, mini, embedder)
    shown = _labels(clean_driver)
    # "mini" comes before "other" by name: its labels, whichever corpus ran last.
    assert shown["ipr/counterfeit"] == ("Counterfeit goods", "模倣品")
    assert shown["ipr"] == ("Intellectual property", "知的財産")
    stamp = GraphReader(clean_driver, "neo4j").corpus_stamp()

    again = _ingest(clean_driver, other, embedder)
    assert not again.changed
    assert GraphReader(clean_driver, "neo4j").corpus_stamp() == stamp
    assert _labels(clean_driver) == shown
    # Its knowledge owners are told, at the lines of their taxonomy.yaml that differ.
    told = [w for w in again.warning_lines if ": topic-label: " in w]
    assert [w.split(": warning: ")[0] for w in told] == ["taxonomy.yaml:9", "taxonomy.yaml:13"]
    assert all("'mini'" in w for w in told)
    assert again.warnings >= len(told)
    assert not _ingest(clean_driver, mini, embedder).changed


def test_a_term_two_corpora_define_carries_both_and_outlives_either(
    clean_driver: Driver, corpora: tuple[Path, Path], embedder
) -> None:  # type: ignore[no-untyped-def]
    mini, other = corpora
    (other / "glossary.yaml").write_text(KNOCKOFF_GLOSSARY, encoding="utf-8")
    _ingest(clean_driver, other, embedder)
    _ingest(clean_driver, mini, embedder)
    words = (
        ["counterfeit", "fake", "replica", "knockoff"],
        ["模倣品", "偽物", "コピー品", "パチモン"],
    )
    assert _terms(clean_driver)["1:counterfeit"] == words
    assert not _ingest(clean_driver, other, embedder).changed
    assert _terms(clean_driver)["1:counterfeit"] == words

    (other / "glossary.yaml").write_text("terms: []\n", encoding="utf-8")
    assert _ingest(clean_driver, other, embedder).changed
    assert _terms(clean_driver)["1:counterfeit"] == (
        ["counterfeit", "fake", "replica"],
        ["模倣品", "偽物", "コピー品"],
    )
    (mini / "glossary.yaml").write_text("terms: []\n", encoding="utf-8")
    _ingest(clean_driver, mini, embedder)
    assert _terms(clean_driver) == {}


@pytest.mark.parametrize("then", ["ingest", "remove"])
def test_a_graph_written_before_per_corpus_vocabulary_keeps_the_other_corpus_words(
    clean_driver: Driver, corpora: tuple[Path, Path], embedder, then: str
) -> None:  # type: ignore[no-untyped-def]
    mini, other = corpora
    (other / "glossary.yaml").write_text("terms:\n  - en: [refund]\n    ja: [返金]\n", "utf-8")
    _ingest(clean_driver, mini, embedder)
    _ingest(clean_driver, other, embedder)
    listed, terms = _listed(clean_driver), _terms(clean_driver)
    # What the code before wrote: each corpus's topic paths on its node, each term the
    # name of the corpus that wrote it, no LISTS or DEFINES.
    clean_driver.execute_query(
        "MATCH (c:Corpus)-[l:LISTS]->(t:Topic) WITH c, collect(t.path) AS paths "
        "SET c.topic_paths = paths"
    )
    clean_driver.execute_query("MATCH (c:Corpus)-[:DEFINES]->(n:Term) SET n.corpus = c.name")
    clean_driver.execute_query("MATCH ()-[r:LISTS|DEFINES]->() DELETE r")

    if then == "ingest":
        _ingest(clean_driver, mini, embedder)
        assert (_listed(clean_driver), _terms(clean_driver)) == (listed, terms)
    else:  # the other corpus's topics and words stay; only the removed one's leave
        remove_corpus("mini", clean_driver, "neo4j")
        assert _listed(clean_driver) == {"returns", "returns/refunds"}
        assert _terms(clean_driver) == {"1:refund": (["refund"], ["返金"])}
    assert "1:refund" in terms


def test_a_removed_corpus_leaves_the_others_as_if_it_had_never_been_ingested(
    clean_driver: Driver, corpora: tuple[Path, Path], embedder
) -> None:  # type: ignore[no-untyped-def]
    mini, other = corpora
    glossary = KNOCKOFF_GLOSSARY + "  - en: [refund]\n    ja: [返金]\n"
    (other / "glossary.yaml").write_text(glossary, encoding="utf-8")
    _ingest(clean_driver, mini, embedder)
    alone = (_listed(clean_driver), _labels(clean_driver), _terms(clean_driver))
    _ingest(clean_driver, other, embedder)
    reader = GraphReader(clean_driver, "neo4j")
    stamp = reader.corpus_stamp()

    removed = remove_corpus("other", clean_driver, "neo4j")
    assert (removed.retired, removed.changed) == (1, True)
    assert reader.corpus_stamp() != stamp
    assert (_listed(clean_driver), _labels(clean_driver), _terms(clean_driver)) == alone
    assert reader.document("other-refunds")["doc"]["status"] == "retired"  # kept, for the record
    rows = {r["name"]: r for r in reader.corpora()}
    assert rows["other"]["removed_at"] is not None
    assert [rows["other"][k] for k in ("documents", "retired", "topics", "terms")] == [0, 1, 0, 0]
    assert rows["mini"]["removed_at"] is None and rows["mini"]["documents"] == 2

    stamp = reader.corpus_stamp()
    assert not remove_corpus("other", clean_driver, "neo4j").changed
    assert reader.corpus_stamp() == stamp
    with pytest.raises(NotFound, match="'nope'.*mini, other"):
        remove_corpus("nope", clean_driver, "neo4j")

    # Its folder ingested again brings it back.
    _ingest(clean_driver, other, embedder)
    rows = {r["name"]: r for r in reader.corpora()}
    assert rows["other"]["removed_at"] is None and rows["other"]["documents"] == 1
    assert "returns" in _listed(clean_driver)
