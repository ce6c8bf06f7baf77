"""When an ingest moves the corpus stamp, on a real Neo4j: only when it changed the graph.

Servers read their corpus data again, and drop their vector snapshots and vocabulary files,
on a new stamp. So a run that writes nothing (`sopkg up` ingests its corpus at every start)
must leave the stamp as it was, and every run that changes what they hold must move it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from neo4j import Driver

from ingest.pipeline import IngestSummary, ingest_corpus
from kg.reader import GraphReader
from kg.writer import CorpusFinish, GraphWriter
from tests.conftest import count

pytestmark = pytest.mark.integration
MINI = Path(__file__).resolve().parents[1] / "data" / "mini_corpus"
MINI_IDS = ["mini-fakes", "mini-offplatform"]


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    dst = tmp_path / "mini"
    shutil.copytree(MINI, dst)
    return dst


def _ingest(driver: Driver, root: Path, embedder, name: str = "mini") -> IngestSummary:  # type: ignore[no-untyped-def]
    return ingest_corpus(root, driver, "neo4j", embedder, corpus_name=name)


def _stamp(driver: Driver) -> str | None:
    return GraphReader(driver, "neo4j").corpus_stamp()


LINKS = "MATCH ()-[r:REFERENCES|SUPERSEDES|ILLUSTRATES]->() "


def _mark_links(driver: Driver) -> int:
    return count(driver, LINKS + "SET r.kept = true RETURN count(r)")


def test_a_run_that_writes_nothing_leaves_the_stamp_and_the_links(
    clean_driver: Driver, corpus: Path, embedder
) -> None:  # type: ignore[no-untyped-def]
    first = _ingest(clean_driver, corpus, embedder)
    assert first.changed
    stamp, links = _stamp(clean_driver), _mark_links(clean_driver)
    assert stamp is not None and links > 0

    again = _ingest(clean_driver, corpus, embedder)
    assert (again.written, again.changed) == (0, False)
    assert _stamp(clean_driver) == stamp
    # Kept, not deleted and made again (which would lose the mark): the relinks write only
    # what differs.
    assert count(clean_driver, LINKS + "WHERE r.kept RETURN count(r)") == links
    assert count(clean_driver, LINKS + "RETURN count(r)") == links


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def _glossary_term(root: Path) -> None:
    _edit(
        root / "glossary.yaml",
        "[counterfeit, fake, replica]",
        "[counterfeit, fake, replica, knockoff]",
    )


def _taxonomy_label(root: Path) -> None:
    _edit(root / "taxonomy.yaml", "en: Off-platform dealing", "en: Dealing off the platform")


def _document_version(root: Path) -> None:
    _edit(root / "offplatform.en.md", 'version: "2.0"', 'version: "2.1"')
    _edit(root / "offplatform.en.md", "within 24 hours", "within 12 hours")


def _document_gone(root: Path) -> None:
    (root / "offplatform.en.md").unlink()


@pytest.mark.parametrize(
    "change", [_glossary_term, _taxonomy_label, _document_version, _document_gone]
)
def test_a_run_that_changes_the_graph_moves_the_stamp(
    clean_driver: Driver, corpus: Path, embedder, change: Callable[[Path], None]
) -> None:  # type: ignore[no-untyped-def]
    _ingest(clean_driver, corpus, embedder)
    stamp = _stamp(clean_driver)
    change(corpus)
    summary = _ingest(clean_driver, corpus, embedder)
    assert summary.changed and not summary.errors
    assert _stamp(clean_driver) not in (None, stamp)


def test_a_target_another_corpus_brings_is_linked_at_the_next_finish(
    clean_driver: Driver, corpus: Path, embedder, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    # mini-offplatform cites [[mini-missing-doc]]; here it also replaces that document.
    _edit(corpus / "offplatform.en.md", "version:", "supersedes: mini-missing-doc\nversion:")
    _ingest(clean_driver, corpus, embedder)
    writer = GraphWriter(clean_driver, "neo4j")
    assert writer.finish_corpus("mini", MINI_IDS, []) == CorpusFinish(0, False)

    other = tmp_path / "other"
    other.mkdir()
    doc = (MINI / "offplatform.en.md").read_text(encoding="utf-8")
    (other / "missing.en.md").write_text(
        doc.replace("id: mini-offplatform", "id: mini-missing-doc").replace(
            " See [[mini-missing-doc]].", ""
        ),
        encoding="utf-8",
    )
    _ingest(clean_driver, other, embedder, name="other")
    assert count(clean_driver, "MATCH (:DanglingReference) RETURN count(*)") == 1

    assert writer.finish_corpus("mini", MINI_IDS, []) == CorpusFinish(0, True)
    assert count(clean_driver, "MATCH (:DanglingReference) RETURN count(*)") == 0
    linked = (
        "MATCH (:Document {id: 'mini-offplatform'})-[:HAS_VERSION]->()-[:HAS_SECTION]->()"
        "-[:HAS_PASSAGE]->()-[:REFERENCES]->(:Document {id: 'mini-missing-doc'}) "
        "RETURN count(*)"
    )
    assert count(clean_driver, linked) == 1
    replaces = (
        "MATCH (:Document {id: 'mini-offplatform'})-[:SUPERSEDES]->"
        "(:Document {id: 'mini-missing-doc'}) RETURN count(*)"
    )
    assert count(clean_driver, replaces) == 1
    assert writer.finish_corpus("mini", MINI_IDS, []) == CorpusFinish(0, False)


# Killed after its documents were written, or just before it set the stamp.
@pytest.mark.parametrize("step", ["finish_corpus", "stamp_corpus"])
def test_a_run_after_one_that_did_not_end_moves_the_stamp(
    clean_driver: Driver, corpus: Path, embedder, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:  # type: ignore[no-untyped-def]
    _ingest(clean_driver, corpus, embedder)
    stamp = _stamp(clean_driver)
    _document_version(corpus)

    def killed(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"killed at {step}")

    with monkeypatch.context() as m:
        m.setattr(GraphWriter, step, killed)
        with pytest.raises(RuntimeError):
            _ingest(clean_driver, corpus, embedder)
    assert _stamp(clean_driver) == stamp  # the new version is in the graph, unstamped

    rerun = _ingest(clean_driver, corpus, embedder)
    assert (rerun.written, rerun.changed) == (0, True)
    assert _stamp(clean_driver) not in (None, stamp)
    assert not _ingest(clean_driver, corpus, embedder).changed
