"""The change feed and the query log, in a real Neo4j.

A sample document (reg-vape-th, en + ja) is ingested, then a new English version of it
with one statement reworded, one added, one removed and one (same text) made to apply to
another policy too and one (same text) given another severity: the change feed must show
exactly those five edits, and the coverage report must name them on the now outdated Japanese
translation (the old English version is in the graph, so the diff is exact)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
from neo4j import Driver

from ingest.pipeline import ingest_corpus
from kg.coverage import CoverageReader, QueryLogEntry
from kg.embedders import Embedder
from ontology.governance import ChangeKind, FindingKind
from search_api.coverage import build_report, change_feed
from search_api.coverage.render import changes_markdown
from search_api.querylog import QueryLogger
from tests.conftest import count

pytestmark = pytest.mark.integration

SAMPLE = Path(__file__).resolve().parents[2] / "sample_corpus"
DOC = "reg-vape-th"
OLD_P2 = (
    "Creators and sellers may not show or promote vaping in videos or live streams shown to "
    "Thai audiences."
)
NEW_P2 = (
    "Creators and sellers may not show, promote or sell vaping products in videos, live "
    "streams or posts shown to Thai audiences."
)
NEW_P4 = "Listings may not link to chat groups or websites that sell vaping products."


def _edit(path: Path) -> str:
    """Bump the version, reword p2, add p4, remove x2, make a2 apply to p4 too and a1 less
    severe; returns the removed x2 text."""
    text = path.read_text(encoding="utf-8")
    removed = re.search(r"- \{#x2 [^}]*\} (.*)\n", text)
    assert removed is not None
    text = text.replace('version: "1.0"', 'version: "1.1"')
    text = text.replace("effective: 2026-08-15", "effective: 2026-12-01")
    assert OLD_P2 in text
    text = text.replace(OLD_P2, NEW_P2)
    p3 = re.search(r"- \{#p3\} .*\n", text)
    assert p3 is not None
    text = text[: p3.end()] + f"- {{#p4}} {NEW_P4}\n" + text[p3.end() :]
    text = text.replace(removed.group(0), "")
    assert "{#a2 applies_to=p2 " in text
    text = text.replace("{#a2 applies_to=p2 ", "{#a2 applies_to=p2,p4 ")
    assert "{#a1 applies_to=p1,p3 severity=high}" in text
    text = text.replace(
        "{#a1 applies_to=p1,p3 severity=high}", "{#a1 applies_to=p1,p3 severity=medium}"
    )
    path.write_text(text, encoding="utf-8")
    return removed.group(1)


def test_change_feed_shows_exactly_the_edits_of_a_new_version(
    clean_driver: Driver, embedder: Embedder, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for f in (SAMPLE / "listings").glob(f"{DOC}.*.md"):
        shutil.copy(f, corpus / f.name)
    first = ingest_corpus(corpus, clean_driver, "neo4j", embedder, corpus_name="cf")
    assert first.errors == []
    reader = CoverageReader(clean_driver, "neo4j")
    assert change_feed(reader, dt.date(2026, 12, 1)) == []

    x2 = _edit(corpus / f"{DOC}.en.md")
    second = ingest_corpus(corpus, clean_driver, "neo4j", embedder, corpus_name="cf")
    assert second.errors == [] and second.written == 1

    feed = change_feed(reader, dt.date(2026, 12, 1))
    assert [(v.doc_id, v.lang, v.version, v.previous_version) for v in feed] == [
        (DOC, "en", "1.1", "1.0")
    ]
    got = {(c.change, c.item_id, c.old_text, c.new_text) for c in feed[0].changes}
    a1, a2 = (next(c for c in feed[0].changes if c.item_id == i) for i in ("a1", "a2"))
    assert a2.old_text == a2.new_text and a2.new_text
    assert got == {
        (ChangeKind.REWORDED, "p2", OLD_P2, NEW_P2),
        (ChangeKind.ADDED, "p4", None, NEW_P4),
        (ChangeKind.RETAGGED, "a1", a1.old_text, a1.old_text),
        (ChangeKind.RETAGGED, "a2", a2.old_text, a2.new_text),
        (ChangeKind.REMOVED, "x2", x2, None),
    }
    assert (a2.old_applies_to, a2.new_applies_to) == (("p2",), ("p2", "p4"))
    assert (a2.old_attributes, a2.new_attributes) == (None, None)  # severity=medium both
    assert (a1.old_applies_to, a1.new_applies_to) == (None, None)
    assert (a1.old_attributes, a1.new_attributes) == (("severity=high",), ("severity=medium",))
    # document order
    assert [c.item_id for c in feed[0].changes] == ["p2", "p4", "a1", "a2", "x2"]
    assert {c.section for c in feed[0].changes} == {"policy", "enforcement", "escalation"}
    assert feed[0].counts() == {"added": 1, "removed": 1, "reworded": 1, "retagged": 2}
    md = changes_markdown(feed, "2026-12-01")
    assert "**reworded** policy p2" in md and NEW_P4 in md
    assert "**retagged** enforcement a2" in md and "applies_to: p2 -> p2,p4" in md
    assert "attributes: severity=high -> severity=medium" in md

    # The first versions are in the feed from their own effective date, with nothing to diff.
    older = change_feed(reader, dt.date(2026, 8, 15), dt.date(2026, 8, 31))
    assert {(v.lang, v.version, v.new_document) for v in older} == {
        ("en", "1.0", True),
        ("ja", "1.0", True),
    }

    # The Japanese translation now follows en@1.0: the report names the changed statements.
    report = build_report(reader, dt.date(2026, 12, 2), 30)
    outdated = {
        (f.lang, f.item) for f in report.findings if f.kind is FindingKind.OUTDATED_TRANSLATION
    }
    assert outdated == {("ja", "p2"), ("ja", "p4"), ("ja", "a1"), ("ja", "a2"), ("ja", "x2")}
    # An item with no other attribute keeps an empty list (not "unknown") in the graph.
    policy = [p for ps in reader.version_passages([f"{DOC}@en@1.1"]).values() for p in ps]
    assert any(p.item_id == "p1" and p.attributes == () for p in policy)


def _entry(n: int) -> QueryLogEntry:
    return QueryLogEntry(
        id=f"q{n}",
        at=dt.datetime(2026, 11, 1, 9, 0, n, tzinfo=dt.UTC),
        query=f"question {n}",
        query_lang="en",
        mode="hybrid",
        result_count=1,
        best_score=0.01 * n,
        top_scores=[0.01 * n],
        result_ids=[f"doc#p{n}"],
        result_topics=["ipr/counterfeit"],
    )


def test_query_log_is_bounded_and_takes_feedback(clean_driver: Driver) -> None:
    reader = CoverageReader(clean_driver, "neo4j")
    trimmed = [reader.log_queries([_entry(n)], keep=3) for n in range(1, 5)]
    assert trimmed == [0, 0, 0, 1]
    assert reader.log_queries([_entry(5), _entry(6)], keep=3) == 2  # a batch, trimmed once
    assert count(clean_driver, "MATCH (q:QueryLog) RETURN count(q)") == 3
    assert [e.id for e in reader.query_log(10)] == ["q6", "q5", "q4"]  # newest kept
    assert reader.query_feedback("q5", answered=False)
    assert not reader.query_feedback("q1", answered=True)  # trimmed away
    logged = {e.id: e for e in reader.query_log(10)}
    assert logged["q5"].answered is False and logged["q6"].answered is None
    assert logged["q6"].result_topics == ["ipr/counterfeit"]


def test_query_logger_writes_a_burst_in_few_transactions_and_loses_none(
    clean_driver: Driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    transactions: list[int] = []
    original = CoverageReader.log_queries

    def counting(self: CoverageReader, entries: list[QueryLogEntry], keep: int) -> int:
        transactions.append(len(entries))
        return original(self, entries, keep)

    monkeypatch.setattr(CoverageReader, "log_queries", counting)
    logger = QueryLogger(keep=1000, driver=lambda: (clean_driver, "neo4j"))
    for n in range(120):
        logger.submit(dataclasses.replace(_entry(n % 59 + 1), id=f"burst-{n}"))
    logger.flush()
    logger.close()
    assert count(clean_driver, "MATCH (q:QueryLog) RETURN count(q)") == 120
    assert logger.stats()["written"] == 120 and logger.stats()["dropped"] == 0
    assert sum(transactions) == 120 and len(transactions) < 120  # batched, not one by one
    assert max(transactions) <= 100
