"""ingest.concepts.DERIVATION: what makes an ingest derive unchanged files again.

A graph keeps what the code of its last write derived from each file (passages, statements,
embed texts, fulltext fields). When today's code derives the same file differently, the
stamp must change, or `sopkg ingest` keeps serving the older records beside queries
analysed by today's code. The fingerprint below is of today's derivation of the test
corpora: a change that moves it must raise DERIVATION.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import pytest

from ingest.concepts import DERIVATION, build_document, version_key
from ingest.corpus import load_corpus
from ingest.model import ParsedFile
from ingest.pipeline import changed_versions, unchanged
from kg.records import DocumentRecord
from kg.writer import ExistingVersion

DATA = Path(__file__).resolve().parents[1] / "data"
CORPORA = ("mini_corpus", "examples_corpus", "definitions_corpus", "aligned_corpus")

# DERIVATION -> the fingerprint of what it derives from CORPORA. When the test fails:
# - the code derives differently: raise DERIVATION and add its fingerprint here;
# - only the test corpora changed: replace the fingerprint of the current DERIVATION.
FINGERPRINTS = {
    1: "d12b18284d545ad709a7c780cc52e1fc9a968056feff59a0dbb9492a2c39f2e6",
    # 2: section kinds from more headings (numbered, with an aside, the usual variants);
    # attribute blocks with spaces inside (`{ #a1 applies_to=p1, p2 }`); U+3000 after markers
    2: "45927acfd6c895c009856584c30ef1aa73369fae2e44b274e974324be556eea7",
    # 3: an unanchored section keyed by the kind its heading names (when no other has it)
    3: "cb361e140014cbeae23837faea5eb3ceb8a6412b7e0f40a7a565bbebf7f1e3ba",
    # 4: long passages' windows (their embed texts)
    4: "db0098432b160ba3c6ec62d625c72a51e88513a1605a35ac7d50b0f97a5e2b85",
    # 5: each language version's own applies_to on its passages (coverage per language)
    5: "067e201e4921477f84f29cd826761fcda3a110b63b032aeba94e58772359dd6e",
    # 6: each language version's item attributes (severity=...) on its passages (change feed)
    6: "024e0bd62372eaeb5056e1b75f52982bb64848b0258c3e4a5079093c2371f7bb",
}


def _derived() -> list[DocumentRecord]:
    out = []
    for name in CORPORA:
        corpus = load_corpus(DATA / name)
        docs = corpus.documents()
        out.extend(build_document(docs[doc_id], name) for doc_id in sorted(docs))
    return out


def fingerprint(records: list[DocumentRecord]) -> str:
    text = json.dumps([asdict(r) for r in records], sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_the_derivation_stamp_names_what_this_code_derives() -> None:
    got = fingerprint(_derived())
    assert FINGERPRINTS.get(DERIVATION) == got, (
        f"ingest derives the test corpora differently (fingerprint {got}): if the code "
        "changed, raise ingest.concepts.DERIVATION so that graphs written by the previous "
        "release are derived again, and add the fingerprint to FINGERPRINTS"
    )


def test_every_version_carries_the_stamp() -> None:
    versions = [v for r in _derived() for v in r.versions]
    assert versions and {v.derivation for v in versions} == {DERIVATION}


def _mini() -> list[ParsedFile]:
    return load_corpus(DATA / "mini_corpus").documents()["mini-fakes"]


def _existing(files: list[ParsedFile], derivation: int | None) -> list[ExistingVersion]:
    return [
        ExistingVersion(
            key=version_key(f.meta.id, f.meta.lang, f.meta.version),
            lang=f.meta.lang,
            hash=f.content_hash,
            current=True,
            source_path=f.rel_path,
            derivation=derivation,
        )
        for f in files
    ]


@pytest.mark.parametrize(
    ("derivation", "skipped"),
    [(DERIVATION, True), (DERIVATION - 1, False), (None, False)],
    ids=["this code", "older code", "before the stamp"],
)
def test_unchanged_files_are_skipped_only_when_this_code_derived_them(
    derivation: int | None, skipped: bool
) -> None:
    files = _mini()
    existing = _existing(files, derivation)
    assert unchanged(files, existing) is skipped
    rewritten = changed_versions(build_document(files, "mini"), existing)
    assert len(rewritten) == (0 if skipped else len(files))
