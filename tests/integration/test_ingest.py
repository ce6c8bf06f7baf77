"""Ingestion into a real Neo4j: counts, incremental re-ingest, history, broken files,
retirement, all-or-nothing writes, write stamps, and the embedder record."""

from __future__ import annotations

import datetime as dt
import shutil
from collections import OrderedDict
from pathlib import Path

import pytest
from neo4j import Driver
from neo4j.exceptions import ConstraintError

from ingest import pipeline
from ingest.concepts import DERIVATION, build_document
from ingest.corpus import load_corpus
from ingest.pipeline import ingest_corpus
from kg.digest import graph_digest
from kg.errors import EmbedderMismatch
from kg.reader import CARD_READ_ATTEMPTS, GraphReader
from kg.schema import EmbedderInfo, migrate
from kg.writer import GraphWriter
from tests.conftest import CountingEmbedder, count

pytestmark = pytest.mark.integration
MINI = Path(__file__).resolve().parents[1] / "data" / "mini_corpus"


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    dst = tmp_path / "mini"
    shutil.copytree(MINI, dst)
    return dst


def _ingest(driver: Driver, root: Path, embedder):  # type: ignore[no-untyped-def]
    return ingest_corpus(root, driver, "neo4j", embedder, corpus_name="mini")


def _snapshot(driver: Driver) -> dict[str, int]:
    return {
        "nodes": count(driver, "MATCH (n) RETURN count(n)"),
        "rels": count(driver, "MATCH ()-[r]->() RETURN count(r)"),
        "current": count(driver, "MATCH (p:Passage {current: true}) RETURN count(p)"),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("MATCH (d:Document {status: 'active'}) RETURN count(d)", 2),
        ("MATCH (v:DocumentVersion {current: true}) RETURN count(v)", 3),
        ("MATCH (p:Passage {current: true}) RETURN count(p)", 15),
        ("MATCH (p:Passage) WHERE size(p.embedding) = 384 RETURN count(p)", 15),
        ("MATCH (s:Statement {current: true}) RETURN count(s)", 8),
        ("MATCH (s:Policy) RETURN count(s)", 3),
        ("MATCH (s:Exception) RETURN count(s)", 1),
        ("MATCH (s:EnforcementAction) RETURN count(s)", 2),
        ("MATCH (s:EscalationStep) RETURN count(s)", 2),
        ("MATCH (:Passage)-[r:STATES]->(:Statement) RETURN count(r)", 13),
        ("MATCH (:Statement)-[r:APPLIES_TO]->(:Statement) RETURN count(r)", 6),
        ("MATCH (:Passage)-[r:TRANSLATION_OF]->(:Passage) RETURN count(r)", 6),
        ("MATCH (:Section)-[r:TRANSLATION_OF]->(:Section) RETURN count(r)", 5),
        (
            "MATCH (:DocumentVersion {lang: 'ja'})-[r:TRANSLATION_OF]->(:DocumentVersion {lang: 'en'}) "
            "RETURN count(r)",
            1,
        ),
        (
            "MATCH (:Passage)-[r:REFERENCES]->(:Document {id: 'mini-offplatform'}) RETURN count(r)",
            2,
        ),
        (
            "MATCH (:Passage)-[r:REFERENCES]->(:DanglingReference {target: 'mini-missing-doc'}) "
            "RETURN count(r)",
            1,
        ),
        ("MATCH (:Document {id: 'mini-fakes'})-[:APPLIES_IN]->(m:Market) RETURN count(m)", 2),
        (
            "MATCH (:Document {id: 'mini-offplatform'})-[:APPLIES_IN]->(:Market {code: 'ALL'}) "
            "RETURN count(*)",
            1,
        ),
        (
            "MATCH (:Document {id: 'mini-fakes'})-[:ABOUT]->(:Topic {path: 'ipr/counterfeit'})"
            "-[:CHILD_OF]->(:Topic {path: 'ipr'}) RETURN count(*)",
            1,
        ),
        ("MATCH (:Document)-[:OWNED_BY]->(o:Owner) RETURN count(DISTINCT o)", 2),
        ("MATCH (:Document {id: 'mini-fakes'})-[:CITES]->(r:Regulation) RETURN count(r)", 2),
        ("MATCH (t:Term) RETURN count(t)", 2),
        ("MATCH (:Statement {key: 'mini-fakes#a1'})-[:APPLIES_TO]->(p:Policy) RETURN count(p)", 2),
    ],
)
def test_counts_match_the_files(
    clean_driver: Driver,
    corpus: Path,
    embedder,
    query: str,
    expected: int,  # type: ignore[no-untyped-def]
) -> None:
    summary = _ingest(clean_driver, corpus, embedder)
    assert summary.errors == []
    assert count(clean_driver, query) == expected


def test_passage_citation_fields(clean_driver: Driver, corpus: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    _ingest(clean_driver, corpus, embedder)
    recs, _, _ = clean_driver.execute_query(
        "MATCH (p:Passage {key: 'mini-fakes@ja@1.0#policy/p2'}) RETURN p", database_="neo4j"
    )
    p = recs[0]["p"]
    assert p["lang"] == "ja" and p["item_id"] == "p2" and p["doc_id"] == "mini-fakes"
    assert p["source_path"] == "fakes.ja.md"
    assert (p["line_start"], p["line_end"]) == (21, 21)
    assert p["heading_path"] == ["偽ブランド品", "ポリシー"]
    assert "30" in p["search_ja"] and "非表示" in p["search_ja"]


def test_unchanged_reingest_skips_everything(clean_driver: Driver, corpus: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    _ingest(clean_driver, corpus, embedder)
    before = _snapshot(clean_driver)
    again = _ingest(clean_driver, corpus, embedder)
    assert (again.written, again.skipped, again.passages) == (0, 2, 0)
    assert _snapshot(clean_driver) == before


def _new_english_version(corpus: Path) -> None:
    """mini-fakes en 1.1, effective 2026-09-01, with one sentence changed (30% -> 25%)."""
    en = corpus / "fakes.en.md"
    text = en.read_text(encoding="utf-8")
    en.write_text(
        text.replace('version: "1.0"', 'version: "1.1"')
        .replace("effective: 2026-01-01", "effective: 2026-09-01")
        .replace("below 30% of retail", "below 25% of retail"),
        encoding="utf-8",
    )


def test_new_version_keeps_history(clean_driver: Driver, corpus: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    _ingest(clean_driver, corpus, embedder)
    _new_english_version(corpus)
    summary = _ingest(clean_driver, corpus, embedder)
    assert (summary.written, summary.skipped) == (1, 1)
    recs, _, _ = clean_driver.execute_query(
        "MATCH (new:DocumentVersion {key: 'mini-fakes@en@1.1'})-[:PREVIOUS_VERSION]->"
        "(old:DocumentVersion {key: 'mini-fakes@en@1.0'}) "
        "RETURN new.current AS nc, old.current AS oc, toString(old.valid_until) AS until",
        database_="neo4j",
    )
    assert [(r["nc"], r["oc"], r["until"]) for r in recs] == [(True, False, "2026-09-01")]
    old_text = count(
        clean_driver,
        "MATCH (p:Passage {key: 'mini-fakes@en@1.0#policy/p2'}) "
        "WHERE p.text CONTAINS '30%' AND NOT p.current AND NOT p.retired RETURN count(p)",
    )
    assert old_text == 1
    # The ja translation (unchanged) now pairs with the new English passages.
    assert (
        count(
            clean_driver,
            "MATCH (:Passage {key: 'mini-fakes@ja@1.0#policy/p2'})-[:TRANSLATION_OF]->"
            "(:Passage {key: 'mini-fakes@en@1.1#policy/p2'}) RETURN count(*)",
        )
        == 1
    )


@pytest.fixture()
def ingested_before(
    clean_driver: Driver,
    corpus: Path,
    embedder,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The corpus ingested, and the test's next ingest run as a new process runs it: with
    no passage embedding remembered in memory (the shared memo is left as it was)."""
    monkeypatch.setattr(pipeline, "_MEMO", OrderedDict())
    _ingest(clean_driver, corpus, embedder)
    pipeline._MEMO.clear()


def _vectors(driver: Driver) -> dict[str, list[float]]:
    recs, _, _ = driver.execute_query(
        "MATCH (p:Passage) RETURN p.key AS key, p.embedding AS e", database_="neo4j"
    )
    return {r["key"]: r["e"] for r in recs}


def test_a_graph_derived_by_older_code_is_derived_again_and_keeps_its_vectors(
    clean_driver: Driver,
    corpus: Path,
    embedder,  # type: ignore[no-untyped-def]
    ingested_before: None,
) -> None:
    fresh, vectors = graph_digest(clean_driver, "neo4j"), _vectors(clean_driver)
    # What an older release left: versions stamped with an older derivation (or none, before
    # the stamp existed), and fulltext fields its analysis wrote differently.
    clean_driver.execute_query(
        "MATCH (v:DocumentVersion) SET v.derivation = CASE v.lang WHEN 'ja' THEN null "
        "ELSE $old END",
        old=DERIVATION - 1,
        database_="neo4j",
    )
    clean_driver.execute_query(
        "MATCH (p:Passage) SET p.search_ja = 'older analysis', p.search_en = 'older analysis'",
        database_="neo4j",
    )
    assert graph_digest(clean_driver, "neo4j").documents != fresh.documents
    counting = CountingEmbedder(embedder)
    again = _ingest(clean_driver, corpus, counting)
    assert (again.written, again.rederived, again.skipped, again.errors) == (2, 2, 0, [])
    assert counting.passage_calls == []  # every text kept the vector it had
    assert graph_digest(clean_driver, "neo4j") == fresh  # what a fresh ingest writes
    assert _vectors(clean_driver) == vectors
    third = _ingest(clean_driver, corpus, counting)
    assert (third.written, third.rederived, third.skipped) == (0, 0, 2)


def test_a_new_version_embeds_only_its_new_texts(
    clean_driver: Driver,
    corpus: Path,
    embedder,  # type: ignore[no-untyped-def]
    ingested_before: None,
) -> None:
    before = {p.embed_text for v in _records(corpus, "mini-fakes") for p in v.passages}
    _new_english_version(corpus)
    en_texts = [
        p.embed_text for v in _records(corpus, "mini-fakes") if v.lang == "en" for p in v.passages
    ]
    new_texts = set(en_texts) - before
    counting = CountingEmbedder(embedder)
    summary = _ingest(clean_driver, corpus, counting)
    assert (summary.written, summary.rederived) == (1, 0)
    assert 0 < len(new_texts) < len(en_texts)
    assert {t for call in counting.passage_calls for t in call} == new_texts


def _records(root: Path, doc_id: str):  # type: ignore[no-untyped-def]
    corpus = load_corpus(root)
    return build_document(corpus.documents()[doc_id], "mini").versions


def _stamps(driver: Driver, doc_id: str) -> set[str | None]:
    recs, _, _ = driver.execute_query(
        "MATCH (p:Passage {doc_id: $id}) RETURN collect(DISTINCT p.written) AS w",
        id=doc_id, database_="neo4j",
    )  # fmt: skip
    return set(recs[0]["w"])


def test_a_write_restamps_the_document_and_a_read_across_two_writes_is_never_shown_mixed(
    clean_driver: Driver,
    corpus: Path,
    embedder,  # type: ignore[no-untyped-def]
) -> None:
    _ingest(clean_driver, corpus, embedder)
    first, other = _stamps(clean_driver, "mini-fakes"), _stamps(clean_driver, "mini-offplatform")
    assert len(first) == 1 and None not in first
    # The same version edited in place: its passages are replaced, the ja ones are not.
    en = corpus / "fakes.en.md"
    en.write_text(en.read_text(encoding="utf-8").replace("below 30%", "below 25%"), "utf-8")
    assert _ingest(clean_driver, corpus, embedder).written == 1
    second = _stamps(clean_driver, "mini-fakes")
    assert len(second) == 1 and second != first  # the unchanged ja passages too
    assert _stamps(clean_driver, "mini-offplatform") == other

    keys = ["mini-fakes@en@1.0#policy/p2", "mini-fakes@en@1.0#policy/p1"]
    reads: list[str] = []
    reader = GraphReader(clean_driver, "neo4j", observe=lambda cypher, s: reads.append(cypher))
    twins, quiet = reader.cards(keys, dt.date(2026, 6, 1))
    assert len(reads) == 1 and set(keys) <= set(quiet)
    assert "25%" in quiet[keys[0]]["text"] and all(twins[k] for k in keys)
    # What a read straddling the next write sees: one passage still from an older write.
    clean_driver.execute_query(
        "MATCH (p:Passage {key: $k}) SET p.written = '0'", k=keys[1], database_="neo4j"
    )
    reads.clear()
    _, mixed = reader.cards(keys, dt.date(2026, 6, 1))
    assert len(reads) == CARD_READ_ATTEMPTS  # read again while the stamps disagree
    assert set(mixed) == set(quiet) - {keys[1]}  # never the older write beside the newer


def test_broken_file_is_skipped_and_loses_nothing(
    clean_driver: Driver,
    corpus: Path,
    embedder,  # type: ignore[no-untyped-def]
) -> None:
    _ingest(clean_driver, corpus, embedder)
    ja = corpus / "fakes.ja.md"
    ja.write_text(ja.read_text(encoding="utf-8").replace("owner: IPR Team\n", ""), "utf-8")
    en = corpus / "offplatform.en.md"
    en.write_text(en.read_text(encoding="utf-8").replace("7-day", "14-day"), encoding="utf-8")
    summary = _ingest(clean_driver, corpus, embedder)
    assert any("fakes.ja.md" in e and "owner" in e for e in summary.errors)
    assert (
        count(
            clean_driver,
            "MATCH (v:DocumentVersion {key: 'mini-fakes@ja@1.0', current: true}) RETURN count(v)",
        )
        == 1
    )
    assert (
        count(
            clean_driver,
            "MATCH (p:Passage {current: true}) WHERE p.text CONTAINS '14-day' RETURN count(p)",
        )
        == 1
    )
    assert count(clean_driver, "MATCH (d:Document {status: 'active'}) RETURN count(d)") == 2


@pytest.mark.parametrize("broken", ["glossary.yaml", "taxonomy.yaml"])
def test_an_unreadable_vocabulary_file_keeps_the_stored_copy(
    clean_driver: Driver,
    corpus: Path,
    embedder,
    broken: str,  # type: ignore[no-untyped-def]
) -> None:
    _ingest(clean_driver, corpus, embedder)
    reader = GraphReader(clean_driver, "neo4j")
    glossary, topics = reader.glossary(), reader.topics()
    assert glossary and topics
    (corpus / broken).write_text("terms:\n  - en: [a\n", encoding="utf-8")
    summary = _ingest(clean_driver, corpus, embedder)
    assert any(e.startswith(f"{broken}:") for e in summary.errors)
    # The error is reported; the glossary and topics stay as the last good file made them.
    assert reader.glossary() == glossary and reader.topics() == topics
    assert count(clean_driver, "MATCH (d:Document {status: 'active'}) RETURN count(d)") == 2


def test_an_empty_folder_retires_nothing(
    clean_driver: Driver,
    corpus: Path,
    embedder,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    _ingest(clean_driver, corpus, embedder)
    before = graph_digest(clean_driver, "neo4j")
    empty = tmp_path / "unmounted"
    empty.mkdir()
    # As a volume that is not mounted looks: the corpus's name, no SOP file under it.
    summary = ingest_corpus(empty, clean_driver, "neo4j", embedder, corpus_name="mini")
    assert [e.split(": ")[1] for e in summary.errors] == ["empty-corpus"]
    assert summary.retired == 0 and not summary.changed
    assert graph_digest(clean_driver, "neo4j") == before


def test_a_document_id_belongs_to_one_corpus(
    clean_driver: Driver,
    corpus: Path,
    embedder,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    _ingest(clean_driver, corpus, embedder)
    other = tmp_path / "other"
    other.mkdir()
    for name in ("fakes.en.md", "fakes.ja.md", "taxonomy.yaml"):
        shutil.copy(corpus / name, other / name)
    refused = ingest_corpus(other, clean_driver, "neo4j", embedder, corpus_name="other")
    assert [e.split(": ")[1] for e in refused.errors] == ["document-corpus"]
    assert refused.errors[0].startswith("fakes.en.md:2: ") and "'mini'" in refused.errors[0]
    docs = "MATCH (d:Document {status: 'active'})-[:IN_CORPUS]->(c) RETURN d.id + '@' + c.name AS x"
    in_corpus = lambda: sorted(r["x"] for r in clean_driver.execute_query(docs).records)  # noqa: E731
    assert in_corpus() == ["mini-fakes@mini", "mini-offplatform@mini"]

    # Once the first corpus is removed, the other may take the id; removing the first
    # again (or ingesting it without the files) then leaves the document where it is.
    pipeline.remove_corpus("mini", clean_driver, "neo4j")
    taken = ingest_corpus(other, clean_driver, "neo4j", embedder, corpus_name="other")
    assert not taken.errors and taken.written == 1
    assert in_corpus() == ["mini-fakes@other"]
    (corpus / "fakes.en.md").unlink()
    (corpus / "fakes.ja.md").unlink()
    assert _ingest(clean_driver, corpus, embedder).retired == 0
    assert in_corpus() == ["mini-fakes@other", "mini-offplatform@mini"]


def test_deleted_document_is_retired(clean_driver: Driver, corpus: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    _ingest(clean_driver, corpus, embedder)
    (corpus / "offplatform.en.md").unlink()
    summary = _ingest(clean_driver, corpus, embedder)
    assert summary.retired == 1
    recs, _, _ = clean_driver.execute_query(
        "MATCH (d:Document {id: 'mini-offplatform'})-[:HAS_VERSION]->(v)-[:HAS_SECTION]->()"
        "-[:HAS_PASSAGE]->(p) RETURN d.status AS s, collect(DISTINCT p.retired) AS r, "
        "count(p.embedding) AS emb",
        database_="neo4j",
    )
    assert (recs[0]["s"], recs[0]["r"], recs[0]["emb"]) == ("retired", [True], 0)


def test_failed_write_leaves_graph_as_it_was(
    clean_driver: Driver,
    corpus: Path,
    embedder,  # type: ignore[no-untyped-def]
) -> None:
    _ingest(clean_driver, corpus, embedder)
    before = _snapshot(clean_driver)
    parsed = load_corpus(corpus)
    files = parsed.documents()["mini-fakes"]
    record = build_document(files, "mini")
    version = record.versions[0]
    version.key = version.key.replace("1.0", "9.9")  # a new version...
    for p in version.passages:
        p.embedding = [0.0] * 384
    # ...whose last passage collides with an existing key: the write fails half-way.
    version.passages[-1].key = "mini-fakes@ja@1.0#policy/p1"
    with pytest.raises(ConstraintError):
        GraphWriter(clean_driver, "neo4j").write_document(record, [version])
    assert _snapshot(clean_driver) == before


def test_graph_records_its_embedder(clean_driver: Driver, corpus: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    _ingest(clean_driver, corpus, embedder)
    with pytest.raises(EmbedderMismatch, match="sopkg reembed"):
        migrate(clean_driver, "neo4j", EmbedderInfo("some-other-model", embedder.dim))
