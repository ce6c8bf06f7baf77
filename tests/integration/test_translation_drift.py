"""Translation drift in a real Neo4j: a corpus with one planted same-version disagreement
(tests/data/drift_corpus: payouts held for 90 days in English, ３０日間 in Japanese, both at
version 1.2) gets exactly that finding. Equivalent values written differently (一週間 / a
week, 十件 / ten, 二十四時間 / 24 hours, 3割 / 30%) are no finding, and differences in an
outdated translation are reported as an outdated translation, not as drift."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from neo4j import Driver

from ingest.pipeline import ingest_corpus
from kg.connection import Connection
from kg.coverage import CoverageReader
from kg.embedders import Embedder
from ontology.governance import FindingKind
from search_api.coverage import build_report

pytestmark = pytest.mark.integration

CORPUS = Path(__file__).resolve().parents[1] / "data" / "drift_corpus"


def test_the_planted_disagreement_is_the_only_drift_finding(
    clean_driver: Driver, neo4j_connection: Connection, embedder: Embedder
) -> None:
    db = neo4j_connection.database
    summary = ingest_corpus(CORPUS, clean_driver, db, embedder, corpus_name="drift")
    assert summary.errors == [], summary.errors
    report = build_report(CoverageReader(clean_driver, db), dt.date(2026, 11, 1))
    drift = [f for f in report.findings if f.kind is FindingKind.TRANSLATION_DRIFT]
    assert [(f.doc, f.lang, f.item) for f in drift] == [("drift-payout-holds", "en,ja", "a1")]
    reason = drift[0].reason
    # both statements, both values, both lines
    assert "en@1.2 a1 (line 19)" in reason and "ja@1.2 a1 (line 20)" in reason
    assert "en says 90 days, ja says 30日間" in reason
    assert report.counts()["translation-drift"] == 1
    outdated = {f.item for f in report.findings if f.kind is FindingKind.OUTDATED_TRANSLATION}
    assert outdated, "the gift-limits translation follows en@1.0 and is reported as outdated"
