"""Several corpora in one graph, each with its own taxonomy, on a real Neo4j: the topics
any of them lists stay listed whichever was ingested last, and ingesting them again in
turn changes nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from neo4j import Driver

from ingest.pipeline import IngestSummary, ingest_corpus
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
