"""Examples name the statements they illustrate ("...: p1"), on a real Neo4j: the links are
derived at ingest, and a search that matches an example gives the statement it names a
share of its score; with `examples_lead` (the default) only the example that matched does,
not every example the second stage reads in the leading document."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from neo4j import Driver

from ingest.pipeline import ingest_corpus
from kg.reader import GraphReader
from search_api.expansion import Glossary
from search_api.fusion import FusionConfig
from search_api.retrieval import Retriever, SearchParams

pytestmark = pytest.mark.integration
CORPUS = Path(__file__).resolve().parents[1] / "data" / "examples_corpus"
QUERY = SearchParams(query="someone wants a small rehoming fee for a kitten", limit=20)


def scores(driver: Driver, embedder, **fusion: object) -> dict[str, float]:  # type: ignore[no-untyped-def]
    reader = GraphReader(driver, "neo4j")
    retriever = Retriever(reader, embedder, Glossary.from_rows(reader.glossary()),
                          today=dt.date(2026, 6, 1), fusion=FusionConfig(**fusion))  # type: ignore[arg-type]  # fmt: skip
    return {r.unit.key: r.score for r in retriever.search(QUERY).results}


def test_the_matching_example_lifts_the_statement_it_names(clean_driver: Driver, embedder) -> None:  # type: ignore[no-untyped-def]
    ingest_corpus(CORPUS, clean_driver, "neo4j", embedder, corpus_name="examples")
    reader = GraphReader(clean_driver, "neo4j")
    (section,) = [
        s for s in reader.version_sections("pets-sales@en@1.0") if s["anchor"] == "examples"
    ]
    bullets = [p["key"] for p in section["passages"]]
    assert reader.corpus_facts().illustrated(bullets) == {
        bullets[0]: ["pets-sales#p1"],
        bullets[1]: ["pets-sales#p2"],
    }

    off = scores(clean_driver, embedder, examples=0.0)
    lead = scores(clean_driver, embedder)  # the default: examples=0.5, examples_lead
    every = scores(clean_driver, embedder, examples_lead=False)
    assert FusionConfig().examples > 0 and FusionConfig().examples_lead
    assert lead["pets-sales#p1"] > off["pets-sales#p1"]
    assert lead["pets-sales#p2"] == pytest.approx(off["pets-sales#p2"])  # b2 did not match
    # Without it, the second stage's read of the whole document makes b2 "found" too.
    assert every["pets-sales#p2"] > off["pets-sales#p2"]
    assert lead["pets-sales#p3"] == pytest.approx(off["pets-sales#p3"])  # named by none


def test_examples_are_views_of_the_statements_they_name(clean_driver: Driver, embedder) -> None:  # type: ignore[no-untyped-def]
    """`example_views`: in a passage list, a statement's passage moves half way up to the
    score of the example (same list) that names it, and the list is re-sorted."""
    ingest_corpus(CORPUS, clean_driver, "neo4j", embedder, corpus_name="examples")
    reader = GraphReader(clean_driver, "neo4j")
    retriever = Retriever(reader, embedder, Glossary.from_rows(reader.glossary()),
                          today=dt.date(2026, 6, 1))  # fmt: skip
    assert FusionConfig().example_views == 0.5
    # The example's own words: it is the nearest passage, far above the statement it names.
    query = "A breeder sends puppies in a cardboard box through the post"
    (qvec,) = embedder.embed_queries([query])
    plain = reader.document_passages({"en": [float(x) for x in qvec]}, ["pets-sales"],
                                     dt.date(2026, 6, 1))  # fmt: skip
    viewed = retriever.example_views(plain)
    before = {h.unit: h.score for h in plain["en"] if h.statement_key}
    after = {h.unit: h.score for h in viewed["en"] if h.statement_key}
    example = max(plain["en"], key=lambda h: h.score)
    assert example.unit == "pets-sales#examples"
    assert after["pets-sales#p2"] == pytest.approx(
        before["pets-sales#p2"] + 0.5 * (example.score - before["pets-sales#p2"])
    )
    assert after["pets-sales#p3"] == before["pets-sales#p3"]  # named by no example
    scores = [h.score for h in viewed["en"]]
    assert scores == sorted(scores, reverse=True)
    # p1 is named by the other example, further from the query: it gains less than p2.
    assert after["pets-sales#p1"] - before["pets-sales#p1"] < (
        after["pets-sales#p2"] - before["pets-sales#p2"]
    )


def test_an_examples_section_follows_the_statements_it_illustrates(
    clean_driver: Driver, embedder
) -> None:  # type: ignore[no-untyped-def]
    """`illustrating`: the examples section gets a share of the best score of the
    statements its examples name (p1 and p2 here, not p3), after the other re-ranking."""
    ingest_corpus(CORPUS, clean_driver, "neo4j", embedder, corpus_name="examples")
    assert FusionConfig().illustrating > 0
    off = scores(clean_driver, embedder, illustrating=0.0)
    on = scores(clean_driver, embedder, illustrating=0.5)
    named = max(off["pets-sales#p1"], off["pets-sales#p2"])
    assert on["pets-sales#examples"] == pytest.approx(
        off["pets-sales#examples"] + named / 2, abs=1e-5
    )  # scores are rounded to 6 digits
    for statement in ("pets-sales#p1", "pets-sales#p2", "pets-sales#p3"):
        assert on[statement] == pytest.approx(off[statement])
