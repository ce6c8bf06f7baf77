"""Coverage logic without a database: text signals, the checks on hand-made facts, the
version diff and unanswered-demand grouping."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from kg.coverage import (
    Acknowledgement,
    DocumentFacts,
    PassageFacts,
    QueryLogEntry,
    StatementFacts,
    StatementText,
    TopicFacts,
    VersionFacts,
)
from ontology.governance import ChangeKind, FindingKind
from search_api.coverage.acknowledgements import finding_basis, triage
from search_api.coverage.changes import diff_passages
from search_api.coverage.demand import demand, likely_topic, why_unanswered
from search_api.coverage.findings import Analysis, CoverageFacts, Finding
from search_api.coverage.signals import (
    conflicting_numbers,
    first_offence,
    first_stage,
    mask_markets,
    numbers,
)

TODAY = dt.date(2026, 11, 1)


# --- signals ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("First violation: the listing is removed and the seller receives a warning. "
         "Second violation within 90 days: listing suspended for 14 days.", "en",
         {"removal", "warning"}),
        ("First confirmed violation: the listing is removed and the shop is suspended "
         "immediately, with no warning stage.", "en", {"removal", "account suspension"}),
        ("Listings judged counterfeit are removed. First violation: a warning and one strike; "
         "second within 90 days: 7-day listing suspension; third: account suspension.", "en",
         {"removal", "warning", "strike"}),
        ("The listing is removed and the seller receives one strike; three strikes within 180 "
         "days lead to account suspension.", "en", {"removal", "strike"}),
        ("初回は出品を削除し、セラーに警告する。90日以内の2回目は14日間の出品停止とする。", "ja",
         {"removal", "warning"}),
        ("違反が確認された場合は初回から、出品を削除しショップを即時停止する。警告の段階は設けない。",
         "ja", {"removal", "account suspension"}),
        ("鑑定で模倣品と判定された場合は、初回であっても出品を削除し、アカウントを即時停止する。", "ja",
         {"removal", "account suspension"}),
    ],
)  # fmt: skip
def test_first_offence_sanctions(text: str, lang: str, expected: set[str]) -> None:
    assert first_offence(text, lang) == expected


def test_first_stage_stops_at_the_second_violation() -> None:
    text = "First violation: warning. Second violation within 90 days: suspension."
    assert first_stage(text, "en") == "First violation: warning."
    assert first_stage("初回は警告、90日以内の2回目は停止する。", "ja") == "初回は警告、"


def test_numbers_fold_japanese_units_and_words() -> None:
    assert numbers("5万円以上") == {"50000"}
    assert numbers("at least 3 real photos, including one that shows damage") == {"1", "3"}
    assert numbers("90日以内の2回目は") == {"90"}  # 2回目 is a stage, not a quantity
    assert numbers("before 16:00 on 10,000 items") == {"16", "10000"}


def test_conflicting_numbers_need_the_same_unit() -> None:
    assert conflicting_numbers("within 24 hours", "within 48 hours") == [("hour", "24", "48")]
    assert conflicting_numbers("within 24 hours", "after 3 days") == []
    assert conflicting_numbers("18歳未満", "21歳未満") == [("歳", "18", "21")]


def test_mask_markets() -> None:
    assert mask_markets("Alcohol in Singapore") == mask_markets("Alcohol in  Malaysia")
    assert mask_markets("酒類（シンガポール）") == mask_markets("酒類（マレーシア）")


# --- checks on hand-made facts --------------------------------------------------------------
def _doc(
    doc_id: str, topic: str = "t/a", markets: tuple[str, ...] = ("JP",),
    langs: tuple[str, ...] = ("en", "ja"), review_by: dt.date | None = dt.date(2027, 6, 1),
    translation: tuple[str, str] | None = None, source_version: str = "1.0",
) -> DocumentFacts:  # fmt: skip
    """The first language is the source; the others translate `translation` (lang, version),
    by default the source's version."""
    source, *others = langs
    versions = [VersionFacts(f"{doc_id}@{source}@{source_version}", source, source_version,
                             doc_id, dt.date(2026, 1, 1), review_by, True, None, None)]  # fmt: skip
    tr_lang, tr_version = translation or (source, source_version)
    versions += [
        VersionFacts(f"{doc_id}@{lang}@{tr_version}", lang, tr_version, doc_id,
                     dt.date(2026, 1, 1), review_by, True, tr_lang, tr_version)
        for lang in others
    ]  # fmt: skip
    return DocumentFacts(doc_id, topic, markets, f"owner of {doc_id}", source, (), tuple(versions))


def _st(
    doc: str, item: str, kind: str, texts: dict[str, str], applies_to: tuple[str, ...] = (),
    vec: tuple[float, ...] | None = None,
) -> StatementFacts:  # fmt: skip
    return StatementFacts(
        f"{doc}#{item}", doc, item, kind, None, tuple(f"{doc}#{a}" for a in applies_to),
        tuple(StatementText(lang, t, kind, 1, vec) for lang, t in texts.items()),
    )  # fmt: skip


def _facts(docs: list[DocumentFacts], sts: list[StatementFacts]) -> CoverageFacts:
    topics = [TopicFacts("t", "T", "T", None, False), TopicFacts("t/a", "A", "A", "t", True),
              TopicFacts("t/b", "B", "B", "t", True)]  # fmt: skip
    return CoverageFacts(docs, sts, [], topics)


def _keys(facts: CoverageFacts) -> set[tuple[str, str, str, str]]:
    return {f.key for f in Analysis(facts, TODAY).findings()}


def test_structural_checks() -> None:
    docs = [
        _doc("d1", langs=("en",), review_by=dt.date(2026, 10, 1)),
        _doc("d2", review_by=dt.date(2026, 11, 20)),
    ]
    sts = [
        _st("d1", "p1", "policy", {"en": "Do not."}),
        _st("d1", "a1", "enforcement", {"en": "Removed."}, ("p1",)),
        _st("d1", "e1", "exception", {"en": "Unless."}),
        _st("d2", "p1", "policy", {"en": "No.", "ja": "禁止。"}),
        _st("d2", "x1", "escalation", {"en": "Escalate.", "ja": "回す。"}, ("p1",)),
    ]
    assert _keys(_facts(docs, sts)) == {
        ("topic-without-document", "t/b", "-", "-"),
        ("missing-translation", "d1", "ja", "-"),
        ("stale", "d1", "en", "-"),
        ("due-soon", "d2", "en,ja", "-"),
        ("policy-without-escalation", "d1", "en", "p1"),
        ("policy-without-enforcement", "d2", "en,ja", "p1"),
        ("missing-applies-to", "d1", "en", "e1"),
    }


def _lang_st(
    doc: str, item: str, kind: str, per_lang: dict[str, tuple[str, tuple[str, ...]]]
) -> StatementFacts:
    """A statement whose language versions name their own applies_to (graphs written
    since passages keep it); the statement's own is the first language's."""
    first = next(iter(per_lang.values()))[1]
    return StatementFacts(
        f"{doc}#{item}", doc, item, kind, None, tuple(f"{doc}#{a}" for a in first),
        tuple(StatementText(lang, t, kind, 1, None, tuple(f"{doc}#{a}" for a in names))
              for lang, (t, names) in per_lang.items()),
    )  # fmt: skip


POLICY_CHECKS = {"missing-applies-to", "policy-without-enforcement", "policy-without-escalation"}


def test_applies_to_is_judged_in_each_language_version() -> None:
    # The English moved on (p2 gone from a1 and x1); the Japanese, a version behind, still
    # names p2 in both, and its e1 names no policy at all.
    docs = [_doc("d", translation=("en", "1.0"), source_version="1.1")]
    sts = [
        _lang_st("d", "p1", "policy", {"en": ("One.", ()), "ja": ("一。", ())}),
        _lang_st("d", "p2", "policy", {"ja": ("二。", ())}),
        _lang_st("d", "a1", "enforcement", {"en": ("Removed.", ("p1",)),
                                            "ja": ("削除。", ("p1", "p2"))}),
        _lang_st("d", "x1", "escalation", {"en": ("Escalate.", ("p1",)),
                                           "ja": ("回す。", ("p1", "p2"))}),
        _lang_st("d", "e1", "exception", {"en": ("Unless.", ("p1",)), "ja": ("ただし。", ())}),
    ]  # fmt: skip
    found = {k for k in _keys(_facts(docs, sts)) if k[0] in POLICY_CHECKS}
    assert found == {("missing-applies-to", "d", "ja", "e1")}
    # A graph written before passages kept it: the statement's applies_to for every language.
    old = [replace(s, texts=tuple(replace(t, applies_to=None) for t in s.texts)) for s in sts]
    found = {k for k in _keys(_facts(docs, old)) if k[0] in POLICY_CHECKS}
    assert ("policy-without-enforcement", "d", "ja", "p2") in found
    assert not any(k[0] == "missing-applies-to" for k in found)


def test_outdated_translation_without_the_old_source_names_the_changed_statement() -> None:
    docs = [_doc("d", translation=("en", "1.0"), source_version="1.1")]
    sts = [
        _st("d", "p1", "policy", {"en": "Sell at most 3 items.", "ja": "出品は1点まで。"}),
        _st("d", "p2", "policy", {"en": "Never lie.", "ja": "嘘は禁止。"}),
    ]
    rows = [f for f in Analysis(_facts(docs, sts), TODAY).findings()
            if f.kind is FindingKind.OUTDATED_TRANSLATION]  # fmt: skip
    assert [(f.lang, f.item) for f in rows] == [("ja", "p1")]
    assert rows[0].reason.startswith("ja follows en@1.0 but en is 1.1")


def test_translation_drift_names_both_statements_values_and_lines() -> None:
    docs = [_doc("d"), _doc("old", translation=("en", "1.0"), source_version="1.1")]
    hold = {"en": "Payouts are held for 90 days.", "ja": "売上金を30日間保留する。"}
    sts = [
        _st("d", "a1", "enforcement", hold, ("p1",)),
        _st("d", "a2", "enforcement", {"en": "Hidden for 7 days.", "ja": "一週間非表示にする。"}),
        _st("old", "a1", "enforcement", hold),  # outdated: reported as outdated, not as drift
    ]
    rows = [f for f in Analysis(_facts(docs, sts), TODAY).findings()
            if f.kind is FindingKind.TRANSLATION_DRIFT]  # fmt: skip
    assert [(f.doc, f.lang, f.item) for f in rows] == [("d", "en,ja", "a1")]
    assert rows[0].reason == (
        "en@1.0 a1 (line 1) and ja@1.0 a1 (line 1) disagree although the translation is "
        "current: duration: en says 90 days, ja says 30日間"
    )


def _pair_facts(markets_b: tuple[str, ...], text_b: str) -> CoverageFacts:
    vec = (1.0, 0.0, 0.0)
    docs = [_doc("a", markets=("JP",)), _doc("b", markets=markets_b)]
    sts = []
    for doc, text in (("a", "First violation: the listing is removed and a warning."),
                      ("b", text_b)):  # fmt: skip
        sts += [
            _st(doc, "p1", "policy", {"en": f"Rule of {doc}.", "ja": "規則。"}, vec=vec),
            _st(doc, "a1", "enforcement", {"en": text, "ja": text}, ("p1",), vec=vec),
            _st(doc, "x1", "escalation", {"en": "Escalate.", "ja": "回す。"}, ("p1",), vec=vec),
        ]
    return _facts(docs, sts)


def test_contradiction_needs_a_shared_market() -> None:
    harsher = "First violation: the listing is removed and the account is suspended."
    found = _keys(_pair_facts(("JP", "SG"), harsher))
    assert ("contradiction", "a", "en,ja", "a1") in found
    assert ("contradiction", "b", "en,ja", "a1") in found
    # the same documents for different markets are not contradictions (near-duplicates)
    other_market = _keys(_pair_facts(("SG",), harsher))
    assert not any(k[0] == "contradiction" for k in other_market)
    assert ("near-duplicate", "a", "en,ja", "a1") in other_market


def test_same_requirements_are_no_contradiction() -> None:
    same = "First violation: the listing is removed and the seller is warned."
    assert not any(k[0] == "contradiction" for k in _keys(_pair_facts(("JP",), same)))


# --- change diff ----------------------------------------------------------------------------
def _p(version: str, section: str, suffix: str, text: str, item: str | None = None,
       order: int = 0, applies_to: tuple[str, ...] | None = None,
       attributes: tuple[str, ...] | None = None) -> PassageFacts:  # fmt: skip
    return PassageFacts(version, section, section.title(), section, 1, f"{version}#{section}/{suffix}",
                        item, f"d#{item}" if item else None, "policy" if item else None, order, text,
                        applies_to, attributes)  # fmt: skip


@pytest.mark.parametrize(
    ("new_texts", "expected"),
    [
        # p2 removed between p1 and a reworded p3: listed where it stood, not after p3.
        ({"p1": "A.", "p3": "C!"}, [("removed", "p2"), ("reworded", "p3")]),
        # the last units removed: after the rest of their section, in their old order.
        ({"p1": "A!"}, [("reworded", "p1"), ("removed", "p2"), ("removed", "p3")]),
        # the first removed, a unit added after the rest.
        ({"p2": "B.", "p3": "C.", "p4": "D."}, [("removed", "p1"), ("added", "p4")]),
    ],
)
def test_diff_passages_lists_changes_in_document_order(
    new_texts: dict[str, str], expected: list[tuple[str, str]]
) -> None:
    old = [
        _p("v1", "policy", f"p{i}", t, f"p{i}", i - 1) for i, t in ((1, "A."), (2, "B."), (3, "C."))
    ]
    new = [_p("v2", "policy", k, t, k, n) for n, (k, t) in enumerate(new_texts.items())]
    got = [(c.change.value, c.item_id) for c in diff_passages(old, new)]
    assert got == expected


def test_diff_passages() -> None:
    old = [_p("v1", "overview", "b1", "Intro."), _p("v1", "policy", "p1", "A.", "p1", 0),
           _p("v1", "policy", "p2", "B.", "p2", 1), _p("v1", "policy", "p3", "C.", "p3", 2)]  # fmt: skip
    new = [_p("v2", "overview", "b1", "Intro."), _p("v2", "policy", "p1", "A!", "p1", 0),
           _p("v2", "policy", "p3", "C.", "p3", 1), _p("v2", "policy", "p4", "D.", "p4", 2)]  # fmt: skip
    got = [(c.change, c.item_id, c.old_text, c.new_text) for c in diff_passages(old, new)]
    assert got == [
        (ChangeKind.REWORDED, "p1", "A.", "A!"),
        (ChangeKind.REMOVED, "p2", "B.", None),
        (ChangeKind.ADDED, "p4", None, "D."),
    ]


@pytest.mark.parametrize(
    ("old_attrs", "new_attrs", "expected"),
    [
        (("severity=high",), ("severity=medium",), ("severity=high",)),
        ((), ("severity=high",), ()),  # a severity given where there was none
        (("severity=high",), (), ("severity=high",)),
        (None, ("severity=high",), None),  # written before passages kept them: no change
    ],
)
def test_diff_passages_lists_attribute_changes(
    old_attrs: tuple[str, ...] | None,
    new_attrs: tuple[str, ...],
    expected: tuple[str, ...] | None,
) -> None:
    old = [_p("v1", "enforcement", "a1", "A.", "a1", 0, ("d#p1",), old_attrs)]
    new = [_p("v2", "enforcement", "a1", "A.", "a1", 0, ("d#p1",), new_attrs)]
    changes = diff_passages(old, new)
    got = [(c.change, c.old_attributes, c.new_attributes) for c in changes]
    assert got == ([(ChangeKind.RETAGGED, expected, new_attrs)] if expected is not None else [])
    if expected is not None:  # as the feed's Markdown and the findings word it
        shown = ",".join(expected) or "-", ",".join(new_attrs) or "-"
        assert changes[0].retags() == [("attributes", *shown)]


@pytest.mark.parametrize(
    ("old_links", "new_links", "new_text", "expected"),
    [
        # Same text, other targets: what the enforcement covers changed.
        (("d#p1",), ("d#p1", "d#p2"), "A.", (ChangeKind.RETAGGED, ("p1",), ("p1", "p2"))),
        # Reworded and retagged: one change, both lists.
        (("d#p1",), ("d#p2",), "A!", (ChangeKind.REWORDED, ("p1",), ("p2",))),
        # The same targets in another order: no change.
        (("d#p1", "d#p2"), ("d#p2", "d#p1"), "A.", None),
        # Written before passages kept applies_to: nothing to compare, no false change.
        (None, ("d#p2",), "A.", None),
        (None, ("d#p2",), "A!", (ChangeKind.REWORDED, None, None)),
    ],
)
def test_diff_passages_lists_applies_to_changes(
    old_links: tuple[str, ...] | None,
    new_links: tuple[str, ...],
    new_text: str,
    expected: tuple[ChangeKind, tuple[str, ...] | None, tuple[str, ...] | None] | None,
) -> None:
    old = [_p("v1", "enforcement", "a1", "A.", "a1", 0, old_links)]
    new = [_p("v2", "enforcement", "a1", new_text, "a1", 0, new_links)]
    got = [(c.change, c.old_applies_to, c.new_applies_to) for c in diff_passages(old, new)]
    assert got == ([expected] if expected else [])


# --- demand ---------------------------------------------------------------------------------
def _q(n: int, query: str, agreement: float | None, answered: bool | None = None,
       topics: tuple[str, ...] = ("ipr/counterfeit",)) -> QueryLogEntry:  # fmt: skip
    score = None if agreement is None else 0.05 + agreement / 10
    return QueryLogEntry(
        id=f"q{n}", at=dt.datetime(2026, 11, 1, 9, n, tzinfo=dt.UTC), query=query,
        query_lang="en", mode="hybrid", result_count=0 if score is None else 3,
        best_score=score, top_scores=[] if score is None else [score], agreement=agreement,
        result_topics=list(topics) if score is not None else [], answered=answered,
    )  # fmt: skip


def test_unanswered_demand() -> None:
    entries = [
        _q(1, "fake perfume samples", 0.0),
        _q(2, "Fake perfume sample", 0.0),
        _q(3, "counterfeit watch", 1.0, answered=False),
        _q(4, "counterfeit watch strap", 0.0, answered=True),
        _q(5, "drone batteries", None),
        _q(6, "replica bags", 0.5),
    ]
    assert [why_unanswered(e) for e in entries] == [
        "weak", "weak", "feedback", None, "no results", None,
    ]  # fmt: skip
    assert likely_topic(entries[4]) == "(no result)"
    d = demand(entries)
    assert d.logged == 6 and len(d.unanswered) == 4
    assert [(g.label, g.count) for g in d.by_topic] == [("ipr/counterfeit", 3), ("(no result)", 1)]
    wording = {g.label: g.count for g in d.by_wording}
    assert wording == {"fake perfume samples": 2, "counterfeit watch": 1, "drone batteries": 1}
    assert d.for_topics(["ipr"]).by_topic[0].count == 3


def test_repeated_wordings_join_the_group_their_first_asking_joined() -> None:
    asked = ["fake perfume samples", "counterfeit watch", "Fake perfume sample",
             "counterfeit watch", "fake perfume samples", "drone batteries", "Counterfeit watch"]  # fmt: skip
    d = demand([_q(n, text, 0.0) for n, text in enumerate(asked)])
    assert [(g.label, g.count) for g in d.by_wording] == [
        ("counterfeit watch", 3), ("fake perfume samples", 3), ("drone batteries", 1),
    ]  # fmt: skip
    assert d.by_wording[0].queries == {"counterfeit watch": 2, "Counterfeit watch": 1}


# --- acknowledgements -----------------------------------------------------------------------
def _ack(f: Finding, basis: str, expires: dt.date | None = None) -> Acknowledgement:
    return Acknowledgement(f.id, f.kind.value, f.doc, f.lang, f.item, "decided", "olga",
                           "owner", basis, expires)  # fmt: skip


def test_finding_ids_depend_on_what_the_finding_is_not_on_its_wording() -> None:
    a = Finding(FindingKind.STALE, "d", "en", "-", "review_by 2026-01-01 has passed")
    b = Finding(FindingKind.STALE, "d", "en", "-", "other words, same finding")
    c = Finding(FindingKind.STALE, "d", "ja", "-", "review_by 2026-01-01 has passed")
    assert a.id == b.id != c.id and len(a.id) == 16


def test_triage_holds_until_expiry_or_a_document_change() -> None:
    docs = {"d": _doc("d"), "e": _doc("e")}
    f = Finding(FindingKind.CONTRADICTION, "d", "en,ja", "a1", "why", related=("e#a1",))
    g = Finding(FindingKind.STALE, "e", "en", "-", "why")
    basis = finding_basis(f, docs)
    held = triage([f, g], [_ack(f, basis, TODAY)], docs, TODAY)
    assert (held.open, [x for x, _ in held.acknowledged], held.lapsed) == ([g], [f], {})
    expired = triage([f, g], [_ack(f, basis, TODAY)], docs, TODAY + dt.timedelta(days=1))
    assert expired.open == [f, g] and expired.lapsed[f.id].why == "expired"
    # a new version of the other side of the pair changes the basis
    changed = {**docs, "e": _doc("e", source_version="1.1")}
    reopened = triage([f, g], [_ack(f, basis)], changed, TODAY)
    assert reopened.lapsed[f.id].why == "documents changed" and not reopened.acknowledged
