"""Long passages' windows on a real graph: written at ingest, held by the snapshot as rows
of their passage, searched by their best vector, and embedded again by `sopkg reembed`."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from neo4j import Driver

from ingest.pipeline import ingest_corpus, reembed_graph
from kg.embedders import Embedder
from kg.reader import GraphReader, HitFilter
from kg.resident import load_resident
from tests.conftest import count

pytestmark = pytest.mark.integration
MINI = Path(__file__).resolve().parents[1] / "data" / "mini_corpus"
SENTENCES = [
    "This guide explains how the seller support desk works.",
    "Sellers open a ticket from the shop dashboard.",
    "Tickets about payouts are answered within two business days.",
    "A seller may ask for a call back in Japanese or English.",
    "Photos of damaged parcels must be uploaded within seven days of delivery.",
    "Refunds for lost parcels are paid from the carrier claim once it is settled.",
    "The desk never asks a seller for a password.",
]
WINDOWED = "MATCH (p:Passage {retired: false}) WHERE p.window_texts IS NOT NULL "


def _corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "mini"
    shutil.copytree(MINI, corpus)
    (corpus / "guide.en.md").write_text(
        "---\nid: mini-guide\nlang: en\ntitle: Seller support guide\ntopic: sellers/off-platform\n"
        'markets: [ALL]\nowner: Seller Trust\nversion: "1.0"\neffective: 2026-03-01\n---\n'
        "# Seller support guide\n\n## Overview {#overview}\n" + " ".join(SENTENCES) + "\n\n"
        "## Policy {#policy}\n- {#p1} Sellers must use the support desk for payout questions.\n",
        encoding="utf-8",
    )
    return corpus


def _windows(driver: Driver) -> tuple[str, np.ndarray, np.ndarray]:
    recs, _, _ = driver.execute_query(
        WINDOWED + "RETURN p.key AS key, p.embedding AS own, p.windows AS windows"
    )
    assert len(recs) == 1
    own = np.asarray(recs[0]["own"], np.float32)
    return recs[0]["key"], own, np.asarray(recs[0]["windows"], np.float32).reshape(-1, own.size)


def test_a_long_passage_is_found_by_its_best_window(
    clean_driver: Driver, embedder: Embedder, tmp_path: Path
) -> None:
    summary = ingest_corpus(_corpus(tmp_path), clean_driver, "neo4j", embedder)
    assert summary.errors == []
    # Seven sentences: windows at the first, third, fifth and seventh.
    assert count(clean_driver, WINDOWED + "AND size(p.window_texts) = 4 RETURN count(p)") == 1
    key, own, windows = _windows(clean_driver)
    assert windows.shape == (4, embedder.dim)

    reader = GraphReader(clean_driver, "neo4j")
    snap = load_resident(reader, second=False, max_passages=1_000)
    assert snap is not None
    assert snap.passages == count(
        clean_driver, "MATCH (p:Passage {retired: false}) RETURN count(p)"
    )
    query = embedder.embed_queries([SENTENCES[5]])[0]
    flt = HitFilter(as_of=dt.date(2026, 6, 1))
    hits = snap.vector([float(x) for x in query], "en", flt, 10)
    assert hits[0].key == key and [h.key for h in hits].count(key) == 1
    unit = np.vstack([own, windows])
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    best = float((unit @ query).max())
    assert hits[0].score == pytest.approx((1 + best) / 2, abs=1e-5)
    # Neo4j's index holds the passage's own vector only: the window scores above it.
    indexed = {h.key: h.score for h in reader.vector([float(x) for x in query], "en", flt, 10)}
    assert indexed[key] < hits[0].score - 0.01


class _Renamed:
    """The test embedder under another name: a "new model" for `sopkg reembed`."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.dim = inner, "renamed-model", inner.dim

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_queries(texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_passages(texts)


def test_a_reembedding_embeds_the_windows_again(
    clean_driver: Driver, embedder: Embedder, tmp_path: Path
) -> None:
    ingest_corpus(_corpus(tmp_path), clean_driver, "neo4j", embedder)
    _, _, before = _windows(clean_driver)
    reembed_graph(clean_driver, "neo4j", _Renamed(embedder))  # type: ignore[arg-type]
    _, _, after = _windows(clean_driver)
    assert count(clean_driver, WINDOWED + "AND p.windows IS NULL RETURN count(p)") == 0
    assert np.allclose(after, before, atol=1e-5)  # the same model under another name
