"""The coverage report on the sample corpus, in a real Neo4j: exactly the gaps written into
it (tests/data/sample_corpus_expected.json), the topic-by-market matrix, owner dashboards."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from neo4j import Driver

from ingest.pipeline import ingest_corpus
from kg.connection import Connection
from kg.coverage import CoverageReader
from kg.embedders import Embedder
from kg.writer import GraphWriter
from ontology.governance import FindingKind
from ontology.vocabulary import MARKETS
from search_api.coverage import CoverageReport, build_report, owner_dashboard
from search_api.coverage.render import dashboard_markdown, report_html, report_markdown

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_corpus"
EXPECTED = json.loads(
    (ROOT / "tests" / "data" / "sample_corpus_expected.json").read_text(encoding="utf-8")
)
TODAY = dt.date(2026, 11, 26)


@pytest.fixture(scope="module")
def sample_reader(
    neo4j_driver: Driver, neo4j_connection: Connection, embedder: Embedder
) -> CoverageReader:
    """The test graph wiped, then the sample corpus ingested (once for this module)."""
    db = neo4j_connection.database
    GraphWriter(neo4j_driver, db).wipe()
    summary = ingest_corpus(SAMPLE, neo4j_driver, db, embedder, corpus_name="sample")
    assert summary.errors == [], summary.errors
    return CoverageReader(neo4j_driver, db)


@pytest.fixture(scope="module")
def report(sample_reader: CoverageReader) -> CoverageReport:
    return build_report(sample_reader, TODAY, 30)


def _rows(findings: Any) -> set[tuple[str, str, str, str]]:
    return {(f["kind"], f["doc"], f["lang"], f["item"]) for f in findings}


def test_findings_are_exactly_the_gaps_of_the_sample_corpus(report: CoverageReport) -> None:
    found = _rows(f.as_json() for f in report.findings)
    expected = _rows(EXPECTED["gaps"])
    assert found - expected == set(), "findings the sample corpus does not have"
    assert expected - found == set(), "gaps of the sample corpus not found"


def test_each_finding_says_who_and_why(report: CoverageReport) -> None:
    for f in report.findings:
        assert f.reason and "\n" not in f.reason
        if f.kind is not FindingKind.TOPIC_WITHOUT_DOCUMENT:
            assert f.owner, f
    by_key = {(f.kind, f.doc): f for f in report.findings}
    outdated = by_key[(FindingKind.OUTDATED_TRANSLATION, "listing-misleading-claims")]
    assert outdated.reason.startswith("ja follows en@1.1 but en is 1.2")
    contradiction = by_key[(FindingKind.CONTRADICTION, "reg-vape-sea")]
    assert contradiction.related == ("reg-vape-th#a1",)
    assert "market TH" in contradiction.reason and "first offence" in contradiction.reason
    stale = by_key[(FindingKind.STALE, "order-diversion-my")]
    assert "2026-09-30" in stale.reason


def test_dangling_links_agree_with_the_ingest_expectations(report: CoverageReport) -> None:
    dangling = [f for f in report.findings if f.kind is FindingKind.DANGLING_LINK]
    pairs = {(f.doc, f.reason.split("[[")[1].split("]]")[0]) for f in dangling}
    assert pairs == {(d["doc"], d["target"]) for d in EXPECTED["dangling_links"]}


def test_superseded_documents_are_not_checked(report: CoverageReport) -> None:
    # seller-onboarding-sea is superseded by seller-verification-sea: same topic and
    # markets, different limits, but not a contradiction (it is no longer in effect).
    assert all(f.doc != "seller-onboarding-sea" for f in report.findings)
    status = {d.id: d for d in report.documents}
    assert status["seller-onboarding-sea"].state == "superseded"
    assert status["prohibited-adult-id"].state == "stale"


def test_matrix_covers_each_market_and_all(report: CoverageReport) -> None:
    rows = {r.path: r for r in report.matrix}
    # a document for ALL covers every market
    assert all("listing-misleading-claims" in rows["listings/misleading-claims"].cells[m]
               for m in MARKETS)  # fmt: skip
    # a topic without a document is empty everywhere; a parent counts its subtopics
    assert rows["creators/harassment"].state == "none"
    assert rows["listings/regulated/alcohol"].cells["VN"] == ["reg-alcohol-vn"]
    assert rows["listings/regulated/alcohol"].cells["JP"] == []
    assert "reg-alcohol-vn" in rows["listings/regulated"].cells["VN"]
    uncovered = {f.doc for f in report.findings if f.kind is FindingKind.TOPIC_WITHOUT_DOCUMENT}
    assert uncovered == {r.path for r in report.matrix if r.leaf and r.state == "none"}


def test_owner_dashboard(report: CoverageReport) -> None:
    dash = owner_dashboard(report, "listing quality apac")  # case forgiven
    assert dash is not None and dash.owner == "Listing Quality APAC"
    assert [d.id for d in dash.documents] == ["listing-misleading-claims"]
    assert {f.kind for f in dash.findings} == {FindingKind.OUTDATED_TRANSLATION}
    assert dash.topics == ["listings/misleading-claims"]
    assert "listing-misleading-claims" in dashboard_markdown(dash)
    stale = owner_dashboard(report, "Trust & Safety ID")
    assert stale is not None and [d.id for d in stale.stale] == ["prohibited-adult-id"]
    assert owner_dashboard(report, "nobody at all") is None


def test_due_soon_is_relative_to_today(sample_reader: CoverageReader) -> None:
    # prohibited-adult-id's review_by is 2026-06-30: due soon on 2026-06-15, stale after.
    early = build_report(sample_reader, dt.date(2026, 6, 15), 30)
    kinds = {(f.kind, f.doc) for f in early.findings}
    assert (FindingKind.DUE_SOON, "prohibited-adult-id") in kinds
    assert (FindingKind.STALE, "prohibited-adult-id") not in kinds


def test_renderings(report: CoverageReport) -> None:
    md = report_markdown(report)
    assert "## Topics by market" in md and "reg-vape-th" in md
    # seller-onboarding-sea is superseded: counted apart from the documents in effect.
    in_effect = len(report.documents) - 1
    assert f"over {in_effect} document(s) in effect and 1 superseded;" in md
    page = report_html(report)
    assert f"{in_effect} document(s) in effect and 1 superseded;" in page
    assert page.startswith("<!doctype html>") and 'class="matrix"' in page
    assert page.count("<tr") > len(report.matrix)
