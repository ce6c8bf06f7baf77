"""The ranking core without a server: fusion, graph re-ranking, the dense merge, glossary
and learned-term expansion, query intent, the term table learner, and one whole search on
a reader that answers from memory (what Neo4j would return is written out here)."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import pytest

from ingest.termtable import example_citations, learn_terms
from kg.analysis import en_search_field, en_term_set, fold_en, ja_search_field
from kg.corpus_facts import CorpusFacts, VersionSpan
from kg.errors import InvalidInput
from kg.reader import Hit, HitFilter, TwinPassage
from search_api.expansion import Glossary, TermGroupView
from search_api.fusion import (
    FusionConfig,
    UnitCandidate,
    by_mean_view,
    effective_ranks,
    family_weights,
    fuse,
    merge_dense,
    mixed_votes,
    rerank,
)
from search_api.intent import QueryIntent, understand
from search_api.models import SearchResult
from search_api.retrieval import Retriever, SearchParams, rocchio, twin_terms
from sopkg.evaluation import fusion_config, ndcg, ordered_ndcg


def hit(unit: str, lang: str = "en", score: float = 1.0, key: str | None = None) -> Hit:
    doc, _, item = unit.partition("#")
    return Hit(key or f"{unit}@{lang}", score, lang, doc, unit, item)


# --- fuse -------------------------------------------------------------------------------
def test_fuse_counts_a_statement_once_per_retriever_whatever_its_languages() -> None:
    cfg = FusionConfig(k=10)
    ranked = {"dense": [hit("a#p1", "ja"), hit("a#p1", "en"), hit("b#p1")]}
    units = fuse(ranked, cfg)
    assert [u.unit for u in units] == ["a#p1", "b#p1"]
    assert units[0].score == pytest.approx(1 / 11)
    assert units[1].retrievers == {"dense": 2}  # rank among units, not among passages


def test_fuse_takes_the_best_list_within_a_family_and_sums_families() -> None:
    cfg = FusionConfig(k=10)
    ranked = {
        "lexical": [hit("b#p1"), hit("a#p1")],
        "lexical_cross": [hit("a#p1", "ja")],
        "dense": [hit("a#p1")],
    }
    a = next(u for u in fuse(ranked, cfg) if u.unit == "a#p1")
    # lexical family: best of rank 2 and rank 1 -> 1/11; dense 1/11.
    assert a.score == pytest.approx(2 / 11)


def test_fuse_weights_scale_a_family() -> None:
    ranked = {"lexical": [hit("a#p1")], "dense": [hit("b#p1")]}
    units = fuse(ranked, FusionConfig(k=10, weights={"lexical": 0.5, "dense": 1.0}))
    assert [u.unit for u in units] == ["b#p1", "a#p1"]


def test_a_family_blind_to_a_unit_scores_it_as_dense_did() -> None:
    """A one-language English document cannot be in a Japanese fulltext list: missing
    evidence must not bury it under Japanese documents the lexical arm found."""
    ranked = {
        "lexical": [hit("ja1#p1", "ja"), hit("ja2#p1", "ja")],
        "dense": [hit("en#p1", "en"), hit("ja1#p1", "ja"), hit("ja2#p1", "ja")],
    }
    plain = fuse(ranked, FusionConfig(k=10, blind=1.0))
    assert plain[0].unit == "ja1#p1"  # without knowing it is blind: lexical outvotes
    fixed = fuse(ranked, FusionConfig(k=10, blind=1.0), blind={"en#p1": {"lexical"}})
    assert fixed[0].unit == "en#p1"
    assert fixed[0].score == pytest.approx(2 / 11)
    off = fuse(ranked, FusionConfig(k=10, blind=0.0), blind={"en#p1": {"lexical"}})
    assert off[0].unit == "ja1#p1"


def test_blind_imputation_never_lowers_what_a_family_found() -> None:
    ranked = {"lexical_cross": [hit("en#p1")], "lexical": [], "dense": [hit("x#p1"), hit("en#p1")]}
    units = fuse(ranked, FusionConfig(k=10, score_mix=0.0), blind={"en#p1": {"lexical"}})
    en = next(u for u in units if u.unit == "en#p1")
    assert en.score == pytest.approx(1 / 11 + 1 / 12)  # cross rank 1 beats imputed rank 2


@pytest.mark.parametrize(
    ("lists", "expected"),
    [
        (("lexical", "dense"), {"lexical": 1.0, "dense": 1.0}),
        (("lexical", "dense", "dense2"), {"lexical": 1.0, "dense": 0.75, "dense2": 0.25}),
    ],
)
def test_the_second_space_takes_its_share_of_the_dense_weight_only_when_searched(
    lists: tuple[str, ...], expected: dict[str, float]
) -> None:
    cfg = FusionConfig(weights={"lexical": 1.0, "dense": 1.0}, second_share=0.25)
    weights = family_weights(cfg, dict.fromkeys(lists, []))
    assert {k: weights[k] for k in expected} == pytest.approx(expected)


def test_two_dense_spaces_vote_apart_with_the_dense_weight_between_them() -> None:
    """Each model's list votes with half the dense weight: a unit both put first gets the
    whole dense vote, one that only one of them found gets half of it."""
    ranked = {"dense": [hit("a#p1"), hit("b#p1")], "dense2": [hit("a#p1"), hit("c#p1")]}
    units = {u.unit: u.score for u in fuse(ranked, FusionConfig(k=10, score_mix=0.0))}
    assert units["a#p1"] == pytest.approx(1 / 11)
    assert units["b#p1"] == pytest.approx(0.5 / 12) == units["c#p1"]


def test_a_blind_family_takes_the_best_dense_evidence_of_either_space() -> None:
    """The second space found the one-language document first, the first space third: the
    blind lexical family scores it by the better of the two."""
    ranked = {
        "lexical": [hit("ja1#p1", "ja")],
        "dense": [hit("ja1#p1", "ja"), hit("ja2#p1", "ja"), hit("en#p1", "en")],
        "dense2": [hit("en#p1", "en"), hit("ja1#p1", "ja")],
    }
    cfg = FusionConfig(k=10, score_mix=0.0)
    en = next(u for u in fuse(ranked, cfg, blind={"en#p1": {"lexical"}}) if u.unit == "en#p1")
    assert en.score == pytest.approx(0.5 / 13 + 0.5 / 11 + 1 / 11)
    first_only = replace(cfg, blind_from=("dense",))
    en1 = next(
        u for u in fuse(ranked, first_only, blind={"en#p1": {"lexical"}}) if u.unit == "en#p1"
    )
    assert en1.score == pytest.approx(0.5 / 13 + 0.5 / 11 + 1 / 13)


# --- rerank -----------------------------------------------------------------------------
def test_rerank_propagates_along_applies_to_and_adds_unseen_statements() -> None:
    cfg = FusionConfig(k=10, graph=0.5, document=0.0)
    units = fuse({"dense": [hit("a#p1"), hit("b#p1")]}, cfg)
    out = rerank(units, {"a#p1": ["a#e1"]}, cfg)
    e1 = next(u for u in out if u.unit == "a#e1")
    assert e1.score == pytest.approx(0.5 / 11)
    assert not e1.hits  # found through the graph only


def test_rerank_document_prior_lifts_the_leading_documents_other_units() -> None:
    cfg = FusionConfig(k=10, graph=0.0, document=1.0)
    units = fuse({"dense": [hit("a#p1"), hit("b#p1"), hit("a#p2")]}, cfg)
    out = rerank(units, {}, cfg)
    assert [u.unit for u in out] == ["a#p1", "a#p2", "b#p1"]


def test_rerank_gives_a_definitions_section_a_share_of_its_documents_best_statement() -> None:
    cfg = FusionConfig(k=10, score_mix=0.0, graph=0.0, document=0.0, examples=0.0, definitions=0.5)
    defs = Hit(
        "a@en#definitions/1", 1.0, "en", "a", None, "definitions", section_kind="definitions"
    )
    other = Hit(
        "b@en#definitions/1", 1.0, "en", "b", None, "definitions", section_kind="definitions"
    )
    overview = Hit("a@en#overview/1", 1.0, "en", "a", None, "overview", section_kind="overview")
    ranked = {"dense": [hit("a#p1"), hit("b#p1"), overview, hit("a#p2"), defs, other]}
    base = {u.unit: u.score for u in fuse(ranked, cfg)}
    out = {u.unit: u.score for u in rerank(fuse(ranked, cfg), {}, cfg)}
    # The best statement of a is p1 (rank 1), of b its p1 (rank 2); the others keep theirs.
    assert out["a#definitions"] == pytest.approx(base["a#definitions"] + 0.5 / 11)
    assert out["b#definitions"] == pytest.approx(base["b#definitions"] + 0.5 / 12)
    assert out["a#overview"] == pytest.approx(base["a#overview"])
    assert out["a#p2"] == pytest.approx(base["a#p2"])
    off = rerank(fuse(ranked, cfg), {}, replace(cfg, definitions=0.0))
    assert {u.unit: u.score for u in off} == pytest.approx(base)


def test_rerank_gives_an_examples_section_a_share_of_the_statements_it_illustrates() -> None:
    cfg = FusionConfig(k=10, score_mix=0.0, graph=0.0, document=0.0, examples=0.0, definitions=0.0)
    cfg = replace(cfg, illustrating=0.5)
    ranked = {"dense": [hit("d#p1"), hit("d#p2"), hit("d#examples"), hit("d#p3")]}
    base = {u.unit: u.score for u in fuse(ranked, cfg)}
    links = {"d#examples": {"d#p2", "d#p3"}}
    out = {u.unit: u.score for u in rerank(fuse(ranked, cfg), {}, cfg, illustrating=links)}
    assert out["d#examples"] == pytest.approx(base["d#examples"] + 0.5 / 12)  # p2 is best
    assert {u: out[u] for u in ("d#p1", "d#p2", "d#p3")} == pytest.approx(
        {u: base[u] for u in ("d#p1", "d#p2", "d#p3")}
    )
    off = rerank(fuse(ranked, cfg), {}, replace(cfg, illustrating=0.0), illustrating=links)
    assert {u.unit: u.score for u in off} == pytest.approx(base)


# --- merge_dense ------------------------------------------------------------------------
def test_merge_dense_raises_the_other_language_by_the_measured_gap() -> None:
    per_lang = {
        "ja": [hit(f"d#p{i}", "ja", 0.90 - i / 100) for i in range(3)],
        "en": [hit(f"d#p{i}", "en", 0.80 - i / 100) for i in range(3)]
        + [hit("en-only#p1", "en", 0.85)],
    }
    merged = merge_dense(per_lang, "ja", default_gap=0.0)
    assert merged[0].unit == "en-only#p1"  # 0.85 + median gap 0.10 = 0.95
    assert merged[0].score == pytest.approx(0.95)


def test_merge_dense_uses_the_default_gap_with_too_few_shared_units() -> None:
    per_lang = {"ja": [hit("d#p1", "ja", 0.9)], "en": [hit("d#p1", "en", 0.5)]}
    merged = merge_dense(per_lang, "ja", default_gap=0.02)
    assert [round(h.score, 3) for h in merged] == [0.9, 0.52]


# --- glossary and the learned table -----------------------------------------------------
GLOSSARY = Glossary(
    [TermGroupView(en=("counterfeit", "fake goods"), ja=("偽物", "コピー品"))],
    learned=[("転売", "resale", 0.8), ("転売", "scalping", 0.4)],
)


def test_glossary_translates_a_japanese_query_into_english_terms() -> None:
    e = GLOSSARY.expand("偽物のバッグ", "ja")
    assert e.matched == ["偽物"]
    assert e.en_terms["counterfeit"] == 1.0
    assert e.ja_terms["コピー品"] == 0.5  # an own-language synonym, at half weight
    assert not e.learned


def test_learned_translations_reach_the_other_language_weighted_by_score() -> None:
    e = GLOSSARY.expand("チケットの転売", "ja", learned=1.0)
    assert e.en_terms == {"resale": 0.8, "scalping": 0.4}
    assert ("転売", "resale", 0.8) in e.learned
    back = GLOSSARY.expand("ticket resale", "en", learned=0.5)
    assert back.ja_terms == {"転売": 0.4}
    assert GLOSSARY.expand("チケットの転売", "ja", learned=0.0).en_terms == {}


def test_glossary_from_rows_reads_graph_rows() -> None:
    g = Glossary.from_rows(
        [{"key": "t", "en": ["resale"], "ja": ["転売"]}],
        learned=[{"ja": "出品", "en": "listing", "score": 0.9, "pairs": 4}],
    )
    assert g.translate("出品する", "ja") == [("出品", "listing", 0.9)]
    assert g.translate("new listings", "en") == [("listing", "出品", 0.9)]


# --- the term table learner -------------------------------------------------------------
def test_learn_terms_pairs_words_that_keep_occurring_together() -> None:
    pairs = [
        ("チケットの転売は禁止です。", "Ticket resale is prohibited."),
        ("高額な転売を報告する。", "Report high-priced resale."),
        ("転売目的の出品を削除する。", "Remove listings made for resale."),
        ("偽物の出品を削除する。", "Remove counterfeit listings."),
        ("偽物は禁止です。", "Counterfeits are prohibited."),
    ]
    pairs = [(ja_search_field(ja), en_search_field(en)) for ja, en in pairs]  # as stored
    table = {(t.ja, t.en): t for t in learn_terms(pairs, min_pairs=2)}
    assert ("転売", "resale") in table and table[("転売", "resale")].pairs == 3
    assert ("偽物", "counterfeit") in table
    assert ("出品", "listing") in table
    assert ("転売", "counterfeit") not in table  # never together
    assert all(t.pairs >= 2 for t in table.values())
    assert [(t.ja, t.en) for t in learn_terms(pairs)] == [("転売", "resale")]  # 3 pairs


def test_english_keys_fold_plurals() -> None:
    assert fold_en("listings") == "listing"
    assert fold_en("policies") == "policy"
    assert fold_en("business") == "business"
    assert en_term_set("The listings and a listing") == {"listing"}


# --- query intent -----------------------------------------------------------------------
def test_understand_finds_the_kind_asked_for_and_the_market_named() -> None:
    i = understand("Who do I escalate this to in Singapore?")
    assert "escalation" in i.kinds and i.markets == {"SG"}
    j = understand("この出品は例外で大丈夫?")
    assert "exception" in j.kinds
    assert understand("counterfeit bag").kinds == frozenset()


# --- fusion settings from flags ---------------------------------------------------------
def test_fusion_config_from_flags_and_errors() -> None:
    cfg = fusion_config(overrides=["k=60", "weights.focus=0", "graph=0", "blind=0.5"])
    assert (cfg.k, cfg.weights["focus"], cfg.weights["dense"], cfg.graph) == (60, 0.0, 1.0, 0.0)
    assert cfg.blind == 0.5
    for bad in ("nope=1", "k=1.5", "k", "weights=1", "graph=yes"):
        with pytest.raises(InvalidInput):
            fusion_config(overrides=[bad])


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ("k=-5", "k must be at least 1"),  # a division by zero or a negative rank weight
        ("depth=0", "depth must be at least 1"),
        ("graph=-0.1", "graph must be 0 or more"),
        ("weights.focus=abc", "weights.focus must be a number"),  # failed after the ingest
        ("weights.focus=-1", "weights.focus must be 0 or more"),
        ("families.dense=3", "families.dense takes a list"),
        ("weights.focus=[dense]", "weights.focus must be a number"),
    ],
)
def test_fusion_config_refuses_values_a_ranking_cannot_use(bad: str, says: str) -> None:
    with pytest.raises(InvalidInput, match=says):
        fusion_config(overrides=[bad])


def test_fusion_config_takes_lists_for_tuple_fields() -> None:
    cfg = fusion_config(overrides=["score_ranks=0.5", "score_lists=[lexical,dense]"])
    assert (cfg.score_ranks, cfg.score_lists) == (0.5, ("lexical", "dense"))
    with pytest.raises(InvalidInput):
        fusion_config(overrides=["score_lists=lexical"])


def test_effective_ranks_demote_what_falls_far_below_a_peaked_first() -> None:
    peaked = [10.0, 2.0, 1.9, 1.8, 1.0]
    assert effective_ranks(peaked, 0.0, 5) == [1, 2, 3, 4, 5]
    full = effective_ranks(peaked, 1.0, 5)
    # Scores read as falling evenly from 10 (rank 1) to 1 (rank 5): 2.0 "is" rank 4.56.
    assert full[0] == 1 and full[1] == pytest.approx(1 + 4 * 8 / 9)
    assert full[-1] == 5  # never lower than the plain rank... nor beyond the anchor
    assert effective_ranks(peaked, 0.5, 5)[1] == pytest.approx((2 + full[1]) / 2)
    # Near ties keep their plain ranks (a unit is never promoted), and so do equal scores.
    assert effective_ranks([5.0, 4.99, 4.98, 1.0], 1.0, 4) == [1, 2, 3, 4]
    assert effective_ranks([1.0, 1.0, 1.0], 1.0, 3) == [1, 2, 3]


def test_mixed_votes_take_a_share_from_the_min_max_normalised_scores() -> None:
    ranks, scores = [1.0, 2.0, 3.0], [10.0, 2.0, 1.0]
    assert mixed_votes(ranks, scores, 10, 0.0) == pytest.approx([1 / 11, 1 / 12, 1 / 13])
    half = mixed_votes(ranks, scores, 10, 0.5)
    # The first keeps the first's vote; the second, near the bottom of a peaked list, keeps
    # half its reciprocal rank plus half of (2 - 1) / (10 - 1) of the first's vote.
    assert half[0] == pytest.approx(1 / 11)
    assert half[1] == pytest.approx(0.5 / 12 + 0.5 * (1 / 9) / 11)
    assert half[2] == pytest.approx(0.5 / 13)
    # In a flat list the second keeps nearly the first's vote, more than its rank gives.
    flat = mixed_votes(ranks, [0.90, 0.899, 0.80], 10, 0.5)
    assert flat[1] > 1 / 12
    # Equal scores (no spread to read) vote as the first on the score side; empty is empty.
    assert mixed_votes([1.0, 2.0], [3.0, 3.0], 10, 0.5)[1] == pytest.approx(0.5 / 12 + 0.5 / 11)
    assert mixed_votes([], [], 10, 0.5) == []


def test_score_mix_lets_a_peaked_list_outvote_a_flat_one_that_disagrees() -> None:
    """Rank fusion of a lexical list sure of its answer and a dense list of near ties that
    puts another unit first is an exact tie; with the scores mixed in, the sure list wins,
    and a list left out of `mix_lists` votes by rank alone."""
    ranked = {
        "lexical": [hit("a#p1", score=20.0), hit("b#p1", score=3.0), hit("c#p1", score=1.0)],
        "dense": [hit("b#p1", score=0.90), hit("a#p1", score=0.89), hit("c#p1", score=0.80)],
    }
    plain = fuse(ranked, FusionConfig(k=10, score_mix=0.0))
    assert plain[0].score == pytest.approx(plain[1].score)
    # A small share breaks such ties by score and little else.
    tiny = fuse(ranked, FusionConfig(k=10, score_mix=0.01))
    assert tiny[0].unit == "a#p1" and tiny[0].score > tiny[1].score
    assert tiny[0].score - tiny[1].score < 0.01 * (1 / 11)
    mixed = fuse(ranked, FusionConfig(k=10, score_mix=0.35))
    assert [u.unit for u in mixed][:2] == ["a#p1", "b#p1"]
    assert mixed[0].score - mixed[1].score > 0.1 * (1 / 11)  # a clear margin, not a tie-break
    assert [u.score for u in fuse(ranked, FusionConfig(k=10))] == pytest.approx(
        [u.score for u in mixed]
    )  # 0.35 is the default
    unmixed = fuse(ranked, FusionConfig(k=10, score_mix=0.35, mix_lists=()))
    assert [u.score for u in unmixed] == pytest.approx([u.score for u in plain])


def test_score_ranks_let_a_peaked_list_carry_its_answer_in_the_fusion() -> None:
    ranked = {
        "lexical": [hit("a#p1", score=20.0), hit("b#p1", score=3.0), hit("c#p1", score=2.9)],
        "dense": [hit("b#p1", score=0.90), hit("a#p1", score=0.89), hit("c#p1", score=0.88)],
    }
    plain = fuse(ranked, FusionConfig(k=10, score_mix=0.0))
    assert plain[0].unit == "a#p1" and plain[0].score == pytest.approx(plain[1].score)
    sure = fuse(ranked, FusionConfig(k=10, score_mix=0.0, score_ranks=1.0, score_depth=3))
    assert [u.unit for u in sure][:2] == ["a#p1", "b#p1"]
    assert sure[0].score > sure[1].score
    # Only the lists named: the same on dense alone changes nothing here (near ties).
    dense_only = fuse(
        ranked, FusionConfig(k=10, score_mix=0.0, score_ranks=1.0, score_lists=("dense",))
    )
    assert [u.score for u in dense_only] == pytest.approx([u.score for u in plain])


def test_ndcg_uses_linear_gain() -> None:
    grades = {("d", "item", "p1"): 2, ("d", "item", "p2"): 1}
    assert ndcg([("d", "item", "p1"), ("d", "item", "p2")], grades, 10) == pytest.approx(1.0)
    assert ndcg([("d", "item", "p2"), ("d", "item", "p1")], grades, 10) < 1.0


def _u(name: str) -> tuple[str, str, str]:
    doc, item = name.split(":")
    return (doc, "item", item)


@pytest.mark.parametrize(
    ("ranked", "ordered"),
    [
        # the right document in the wrong order: the whole loss is the order
        (["d:p2", "d:p1"], 1.0),
        # the answer not found, but its document holds a place: it would fill it
        (["d:p2", "e:p1"], 2 / (2 + 1 / math.log2(3))),
        # another document ahead: no order inside documents gets that place back
        (["e:p1", "d:p1", "d:p3"], (2 / math.log2(3) + 1 / 2) / (2 + 1 / math.log2(3))),
        # nothing of the judged documents found
        (["e:p1", "e:p2"], 0.0),
    ],
)
def test_ordered_ndcg_fills_each_documents_places_best_first(
    ranked: list[str], ordered: float
) -> None:
    grades = {_u("d:p1"): 2, _u("d:p3"): 1, _u("d:p2"): 0}
    units = [_u(n) for n in ranked]
    assert ordered_ndcg(units, grades, 10) == pytest.approx(ordered)
    assert ordered_ndcg(units, grades, 10) >= ndcg(units, grades, 10)


@pytest.mark.parametrize("seed", range(5))
def test_ordered_ndcg_is_never_below_ndcg_and_ties_it_when_documents_are_in_order(
    seed: int,
) -> None:
    rng = random.Random(seed)
    units = [(doc, "item", f"p{i}") for doc in "abcd" for i in range(4)]
    grades = {u: rng.choice([0, 0, 1, 2]) for u in rng.sample(units, 8)}
    ranked = rng.sample(units, 10)
    assert ordered_ndcg(ranked, grades, 10) >= ndcg(ranked, grades, 10) - 1e-12
    # Each document's units already best first in its places: nothing left to order.
    by_doc: dict[str, list[tuple[str, str, str]]] = {}
    for u in sorted(units, key=lambda u: -grades.get(u, 0)):
        by_doc.setdefault(u[0], []).append(u)
    taken = dict.fromkeys(by_doc, 0)
    in_order = []
    for doc, _, _ in ranked:
        in_order.append(by_doc[doc][taken[doc]])
        taken[doc] += 1
    assert ordered_ndcg(in_order, grades, 10) == pytest.approx(ndcg(in_order, grades, 10))


# --- a whole search on a reader that answers from memory --------------------------------
class MemoryReader:
    """Answers the retriever's reads from a fixed table of passages: a document `ja-doc`
    written in Japanese and English, and `en-only` written in English only."""

    PASSAGES: dict[str, dict[str, Any]] = {
        "ja-doc#p1@ja": {"lang": "ja", "text": "ライブ配信での宝くじの販売は禁止。"},
        "ja-doc#p1@en": {"lang": "en", "text": "Selling lottery tickets on live is prohibited."},
        "en-only#p1@en": {"lang": "en", "text": "Live animals may not be sold on stream."},
        "en-only#p2@en": {"lang": "en", "text": "Raffles and lottery draws need a licence."},
    }

    def __init__(self) -> None:
        self.calls: list[str] = []

    def fulltext(self, index: str, query: str, flt: HitFilter, k: int) -> list[Hit]:
        self.calls.append(f"fulltext {index}")
        if index == "passage_ja" and query:
            return [hit("ja-doc#p1", "ja", 3.0)]
        if index == "passage_en" and "lottery" in query:  # only the twin's words reach it
            return [hit("en-only#p2", "en", 2.0)]
        return []

    def vector(self, embedding: Sequence[float], lang: str, flt: HitFilter, k: int) -> list[Hit]:
        if lang == "en":
            return [hit("en-only#p1", "en", 0.90), hit("ja-doc#p1", "en", 0.80)]
        return [hit("ja-doc#p1", "ja", 0.85)]

    ILLUSTRATES: dict[str, tuple[str, ...]] = {}

    def corpus_facts(self) -> CorpusFacts:
        langs = {"ja-doc": ("ja", "en"), "en-only": ("en",), "ja-only": ("ja",)}
        since = dt.date(2020, 1, 1)
        return CorpusFacts(
            versions={
                d: tuple(VersionSpan(lang, since, None) for lang in ls) for d, ls in langs.items()
            },
            illustrates=self.ILLUSTRATES,
        )

    def document_passages(
        self,
        embeddings: dict[str, list[float]],
        doc_ids: Sequence[str],
        as_of: dt.date,
        means: Mapping[str, Sequence[float]] | None = None,
    ) -> dict[str, list[Hit]]:
        return {lang: [] for lang in embeddings}

    def statement_passages(
        self, keys: Sequence[str], as_of: dt.date, lang: str | None
    ) -> list[Hit]:
        return []

    def twins(self, keys: Sequence[str], as_of: dt.date) -> dict[str, list[str]]:
        return {k: [o for o in self.PASSAGES if o != k and o.split("@")[0] == k.split("@")[0]]
                for k in keys}  # fmt: skip

    def twin_feedback(self, keys: Sequence[str], as_of: dt.date) -> list[TwinPassage]:
        return [
            TwinPassage(k, t, self.PASSAGES[t]["lang"], self.PASSAGES[t]["text"], (0.0, 1.0))
            for k, twins in self.twins(keys, as_of).items()
            for t in twins
        ]

    def related(self, keys: Sequence[str], as_of: dt.date) -> dict[str, list[dict[str, Any]]]:
        return {}

    def cards(
        self, keys: Sequence[str], as_of: dt.date
    ) -> tuple[dict[str, list[str]], dict[str, dict[str, Any]]]:
        twins = self.twins(keys, as_of)
        out = {}
        for k in {*keys, *(t for ts in twins.values() for t in ts)}:
            unit, _ = k.split("@")
            doc, _, item = unit.partition("#")
            out[k] = {
                **self.PASSAGES[k], "key": k, "doc_id": doc, "item_id": item,
                "statement_key": unit, "statement_kind": "policy", "section_kind": "policy",
                "anchor": "policy", "align_key": item, "heading_path": [doc], "title": doc,
                "version": "1.0", "effective": dt.date(2026, 1, 1), "review_by": None,
                "owner": "team", "topic": "t", "markets": ["ALL"], "source_path": f"{doc}.md",
                "line_start": 1, "line_end": 1,
            }  # fmt: skip
        return twins, out


class FixedEmbedder:
    name = "fixed"
    dim = 2

    def embed_queries(self, texts: Sequence[str]) -> list[list[float]]:
        return [[1.0, 0.0] for _ in texts]

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        return [[1.0, 0.0] for _ in texts]


def run(mode: str, blind: float, twin: float = 0.0) -> list[SearchResult]:
    cfg = FusionConfig(blind=blind, graph=0.0, document=0.0, intent_market=0.0)
    retriever = Retriever(
        MemoryReader(),  # type: ignore[arg-type]
        FixedEmbedder(),  # type: ignore[arg-type]
        Glossary([]),
        today=dt.date(2026, 6, 1),
        fusion=replace(cfg, weights={**cfg.weights, "twin": twin}),
    )
    out = retriever.search(SearchParams(query="生きた動物をライブで売っている", mode=mode))  # type: ignore[arg-type]
    return out.results


def search(mode: str, blind: float) -> list[str]:
    return [r.unit.key for r in run(mode, blind)]


def test_a_one_language_document_dense_found_first_stays_first_in_hybrid() -> None:
    assert search("dense", 1.0)[0] == "en-only#p1"
    assert search("hybrid", 0.0)[0] == "ja-doc#p1"  # the Japanese lexical list buries it
    assert search("hybrid", 1.0)[0] == "en-only#p1"
    assert search("lexical", 1.0) == ["ja-doc#p1"]


def test_twin_feedback_reaches_a_one_language_document_through_the_twins_words() -> None:
    """The Japanese query's own-language hit (ja-doc#p1) has an English twin; the twin's
    words ("lottery") find en-only#p2, which neither the query nor the dense arm reaches."""
    assert "en-only#p2" not in search("hybrid", 1.0)
    on = {r.unit.key: r for r in run("hybrid", 1.0, twin=1.0)}
    assert "twin_lexical" in on["en-only#p2"].retrievers
    assert {"lexical", "dense"}.isdisjoint(on["en-only#p2"].retrievers)
    assert "twin_dense" in on["en-only#p1"].retrievers
    assert [r.unit.key for r in run("dense", 1.0, twin=1.0)] == search("dense", 1.0)


def test_the_twin_family_is_blind_to_documents_in_one_language() -> None:
    """Seeded by bilingual documents only: a document in either language alone is judged by
    its dense evidence at least (and the query-language index stays blind to en-only)."""
    retriever = Retriever(MemoryReader(), FixedEmbedder(), Glossary([]))  # type: ignore[arg-type]
    ranked = {
        "lexical": [hit("ja-doc#p1", "ja")],
        "dense": [hit("ja-only#p1", "ja"), hit("en-only#p1"), hit("ja-doc#p1")],
    }
    without = retriever._blind(ranked, "ja", dt.date(2026, 6, 1), None)
    assert without == {"en-only#p1": {"lexical"}}
    ranked["twin_dense"] = [hit("en-only#p1")]
    with_twin = retriever._blind(ranked, "ja", dt.date(2026, 6, 1), None)
    assert with_twin == {"en-only#p1": {"lexical", "twin"}, "ja-only#p1": {"twin"}}


def test_mean_view_ranks_a_statement_by_both_its_translations() -> None:
    hits = [
        hit("a#p1", "en", 0.90),  # one version close, its translation far
        hit("b#p1", "en", 0.85),
        hit("b#p1", "ja", 0.84),
        hit("a#p1", "ja", 0.60),
        hit("c#p1", "en", 0.80),  # one language only: its one view
    ]
    out = by_mean_view(hits)
    assert [(h.unit, h.lang) for h in out] == [
        ("b#p1", "en"), ("b#p1", "ja"), ("c#p1", "en"), ("a#p1", "en"), ("a#p1", "ja")
    ]  # fmt: skip


def twin(seed: str, text: str, lang: str = "en", emb: tuple[float, ...] = ()) -> TwinPassage:
    return TwinPassage(seed, f"{seed}-twin", lang, text, emb)


def test_twin_terms_weigh_each_term_by_the_seeds_that_carry_it() -> None:
    twins = [
        (twin("a", "Lottery tickets sold on live streams"), 1.0),
        (twin("b", "Lottery prizes paid in cash"), 0.5),
    ]
    terms = twin_terms(twins, "en", 10)
    assert terms["lottery"] == pytest.approx(1.0)  # both seeds
    assert terms["tickets"] == pytest.approx(1 / 1.5)
    assert terms["prizes"] == pytest.approx(0.5 / 1.5)
    assert "on" not in terms and list(terms)[0] == "lottery"
    assert list(twin_terms(twins, "en", 2)) == ["lottery", "tickets"]  # the leading seed first
    assert twin_terms(twins, "en", 0) == {}
    ja = twin_terms([(twin("c", "宝くじの販売は禁止", "ja"), 1.0)], "ja", 10)
    assert {"宝くじ", "販売", "禁止"} <= set(ja)


def test_rocchio_moves_the_query_toward_the_weighted_twin_mean() -> None:
    twins = [(twin("a", "", emb=(0.0, 2.0)), 1.0), (twin("b", "", emb=(0.0, -1.0)), 1.0)]
    assert rocchio([3.0, 0.0], twins, 1.0) == pytest.approx([1.0, 0.0])  # unit vectors cancel
    heavier = [(twins[0][0], 3.0), (twins[1][0], 1.0)]
    assert rocchio([3.0, 0.0], heavier, 2.0) == pytest.approx([1.0, 1.0])
    assert rocchio([1.0, 0.0], twins, 0.0) == []
    assert rocchio([1.0, 0.0], [(twin("c", ""), 1.0)], 1.0) == []  # no embedding stored


def test_the_twin_family_counts_once_and_is_imputed_where_it_is_blind() -> None:
    cfg = FusionConfig(k=10, score_mix=0.0)
    cfg = replace(cfg, weights={**cfg.weights, "twin": 1.0})
    ranked = {
        "dense": [hit("ja-only#p1", "ja"), hit("en#p1")],
        "twin_lexical": [hit("en#p1"), hit("en#p2")],
        "twin_dense": [hit("en#p2"), hit("en#p1")],
    }
    units = {u.unit: u.score for u in fuse(ranked, cfg)}
    assert units["en#p1"] == pytest.approx(1 / 12 + 1 / 11)  # dense 2, twin family best 1
    assert units["ja-only#p1"] == pytest.approx(1 / 11)
    # A document written only in the query's language is out of the twins' reach: the twin
    # family scores it as dense did, so feedback cannot bury it.
    fixed = {u.unit: u.score for u in fuse(ranked, cfg, blind={"ja-only#p1": {"twin"}})}
    assert fixed["ja-only#p1"] == pytest.approx(2 / 11)
    off = replace(cfg, blind=0.0)
    assert {u.unit: u.score for u in fuse(ranked, off, blind={"ja-only#p1": {"twin"}})} == units


def test_a_blind_family_takes_the_twin_feedback_rank_when_it_is_better() -> None:
    """An English-only unit the Japanese fulltext index cannot see: with `twin_blind` the
    lexical family takes the better of its dense rank and its rank in the twin lists; the
    twin family itself casts no vote while its weight is 0."""
    ranked = {
        "lexical": [hit("ja#p1", "ja")],
        "dense": [hit("ja#p1", "ja"), hit("x#p1"), hit("en#p1")],
        "twin_lexical": [hit("en#p1")],
    }
    blind = {"en#p1": {"lexical"}, "x#p1": {"lexical"}}
    cfg = FusionConfig(k=10, score_mix=0.0)
    plain = {u.unit: u.score for u in fuse(ranked, cfg, blind)}
    assert plain["en#p1"] == pytest.approx(2 / 13)  # twin list not counted: weight 0
    fed = {u.unit: u.score for u in fuse(ranked, replace(cfg, twin_blind=1.0), blind)}
    assert fed["en#p1"] == pytest.approx(1 / 13 + 1 / 11)
    assert fed["x#p1"] == plain["x#p1"] == pytest.approx(2 / 12)  # no feedback: dense stands
    assert fed["ja#p1"] == plain["ja#p1"]  # the query language's own units are unchanged


def test_example_citations_name_statements_of_their_own_document_only() -> None:
    items = {"p1": "d#p1", "a2": "d#a2"}
    examples = [
        ("d@en#examples/b1", "A host says 'DM me': p1 and a2.", items),
        ("d@ja#examples/b1", "「シミが消える」はp1違反。#p9 や x12 は無い。", items),
        ("d@en#examples/b2", "Step 1 of the app2 flow", items),
    ]
    assert example_citations(examples) == [
        ("d@en#examples/b1", "d#p1"),
        ("d@en#examples/b1", "d#a2"),
        ("d@ja#examples/b1", "d#p1"),
    ]


def test_rerank_gives_statements_named_by_a_found_example_a_share() -> None:
    cfg = FusionConfig(k=10, graph=0.0, document=0.0, examples=0.5)
    units = fuse({"dense": [hit("d#examples"), hit("e#p1")]}, cfg)
    out = rerank(units, {}, cfg, cited={"d#examples": ["d#p3"]})
    p3 = next(u for u in out if u.unit == "d#p3")
    assert p3.score == pytest.approx(0.5 / 11)
    off = rerank(units, {}, replace(cfg, examples=0.0), cited={"d#examples": ["d#p3"]})
    assert "d#p3" not in [u.unit for u in off]


class CitingReader(MemoryReader):
    """Example bullets b1 (names p1) and b2 (names p2) of one examples section."""

    ILLUSTRATES = {"d@en#examples/b1": ("d#p1",), "d@en#examples/b2": ("d#p2",)}


def test_only_the_example_that_matched_names_statements_with_examples_lead() -> None:
    def bullet(n: str) -> Hit:
        return Hit(f"d@en#examples/{n}", 1.0, "en", "d", None, "examples")

    # b1 gives the section its rank in both lists; b2 was found too, further down.
    ranked = {"dense": [bullet("b1"), hit("e#p1"), bullet("b2")], "focus": [bullet("b1")]}
    units = fuse(ranked, FusionConfig(k=10))
    section = next(u for u in units if u.unit == "d#examples")
    assert [h.key for h in section.leads] == ["d@en#examples/b1", "d@en#examples/b1"]

    def cited(lead: bool) -> dict[str, list[str]]:
        cfg = FusionConfig(examples=0.5, examples_lead=lead)
        retriever = Retriever(CitingReader(), FixedEmbedder(), Glossary([]), fusion=cfg)  # type: ignore[arg-type]
        return retriever._cited(units)

    assert sorted(cited(False)["d#examples"]) == ["d#p1", "d#p2"]
    assert cited(True) == {"d#examples": ["d#p1"]}


class FocusReader:
    """The second stage's reads: two documents, `one` of a single unit (in both languages),
    `many` of three units, and the example of `many` that names its p2."""

    def document_passages(
        self,
        embeddings: dict[str, list[float]],
        doc_ids: Sequence[str],
        as_of: dt.date,
        means: Mapping[str, Sequence[float]] | None = None,
    ) -> dict[str, list[Hit]]:
        return {
            "en": [hit("one#p1", "en", 0.95), hit("many#p1", "en", 0.9),
                   Hit("many#examples@en#1", 0.85, "en", "many", None, "examples"),
                   hit("many#p2", "en", 0.7)],
            "ja": [hit("one#p1", "ja", 0.9)],
        }  # fmt: skip

    def corpus_facts(self) -> CorpusFacts:
        return CorpusFacts(illustrates={"many#examples@en#1": ("many#p2",)})


def test_the_second_stage_orders_inside_documents_of_several_units_only() -> None:
    def focus(views: float) -> list[Hit]:
        retriever = Retriever(FocusReader(), FixedEmbedder(), Glossary([]),  # type: ignore[arg-type]
                              fusion=FusionConfig(example_views=views))  # fmt: skip
        units = fuse({"dense": [hit("one#p1"), hit("many#p1")]}, retriever.fusion)
        return retriever.focus(
            units, {"en": [1.0, 0.0], "ja": [1.0, 0.0]}, "en", dt.date(2026, 1, 1)
        )

    plain = focus(0.0)
    assert [h.unit for h in plain] == ["many#p1", "many#examples", "many#p2"]
    viewed = {h.unit: h.score for h in focus(0.5)}  # p2 half way up to its example
    assert viewed["many#p2"] == pytest.approx(0.775)
    assert viewed["many#p1"] == 0.9 and viewed["many#examples"] == 0.85


class GraphReachedReader(MemoryReader):
    """Passages of statements reached through the graph only (no hit of their own): every
    such statement is in the JP market; the keys asked for are kept."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def statement_passages(
        self, keys: Sequence[str], as_of: dt.date, lang: str | None
    ) -> list[Hit]:
        self.asked.extend(keys)
        return [replace(hit(k), markets=("JP",)) for k in keys]


@pytest.mark.parametrize("unseen_score", [0.5, 0.05])
def test_intent_fetches_only_what_a_boost_could_lift_into_the_first_keep(
    unseen_score: float,
) -> None:
    def units() -> list[UnitCandidate]:
        seen = [UnitCandidate(f"d#p{i}", 1.0 - i / 20, hits=[(0, hit(f"d#p{i}"))])
                for i in range(12)]  # fmt: skip
        return [*seen, UnitCandidate("g#p1", unseen_score), UnitCandidate("g#p2", 0.01)]

    intent = QueryIntent(markets=frozenset({"JP"}), kinds=frozenset())

    def run(keep: int) -> tuple[list[str], list[str]]:
        reader = GraphReachedReader()
        retriever = Retriever(reader, FixedEmbedder(), Glossary([]),  # type: ignore[arg-type]
                              fusion=FusionConfig(intent_market=0.2))  # fmt: skip
        out = retriever._apply_intent(units(), intent, dt.date(2026, 6, 1), None, keep)
        return [u.unit for u in out[:keep]], reader.asked

    pruned, asked = run(10)
    full, asked_all = run(100)
    assert asked_all == ["g#p1", "g#p2"]
    # 0.5 * 1.2 reaches the tenth score (0.55), 0.05 * 1.2 and 0.01 * 1.2 cannot.
    assert asked == (["g#p1"] if unseen_score == 0.5 else [])
    assert pruned == full[:10]
    assert ("g#p1" in pruned) == (unseen_score == 0.5)


@pytest.mark.parametrize(
    ("kinds", "lifted"),
    [(("escalation",), "d#x1"), (("exception",), "d#e1"), ((), "d#p1")],
)
def test_intent_boosts_only_the_kinds_it_is_trusted_with(
    kinds: tuple[str, ...], lifted: str
) -> None:
    """A query that reads as asking for an escalation and for an exception at once: only
    the kinds in `intent_kinds` are boosted; with none, the order is the fused one."""
    units = [
        UnitCandidate(unit, score, hits=[(0, replace(hit(unit), statement_kind=kind))])
        for unit, score, kind in [("d#p1", 1.0, "policy"), ("d#x1", 0.95, "escalation"),
                                  ("d#e1", 0.95, "exception")]
    ]  # fmt: skip
    intent = QueryIntent(markets=frozenset(), kinds=frozenset({"escalation", "exception"}))
    retriever = Retriever(MemoryReader(), FixedEmbedder(), Glossary([]),  # type: ignore[arg-type]
                          fusion=FusionConfig(intent_kind=0.1, intent_kinds=kinds))  # fmt: skip
    out = retriever._apply_intent(units, intent, dt.date(2026, 6, 1), None, 10)
    assert out[0].unit == lifted
