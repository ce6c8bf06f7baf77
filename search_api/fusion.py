"""How the retrievers' lists become one ranking: the fusion's settings, weighted reciprocal
rank fusion over units, the per-query calibration of the dense lists across languages, the
knowledge-graph re-ranking and how sure the result is. Pure functions over hits (no I/O):
`search_api.retrieval.Retriever` gathers the lists and calls them."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from statistics import median

from kg.reader import Hit
from kg.settings import Settings
from ontology.vocabulary import SectionKind
from search_api.gloss_vectors import GLOSS_VECTOR_SHARE


@dataclass(frozen=True)
class FusionConfig:
    k: int = 20  # RRF constant: small, since only the top of each list matters here
    depth: int = 50  # candidates taken from each retriever (per language for dense)
    # Retriever families: a unit's family score is its best rank among the family's lists,
    # so a statement found in both languages' fulltext indexes is not counted twice, and a
    # document written in one language only competes on equal terms.
    families: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: {
            "lexical": ("lexical", "lexical_cross"),
            "dense": ("dense",),
            "dense2": ("dense2",),
            "focus": ("focus",),
            "twin": ("twin_lexical", "twin_dense"),
        }
    )
    # "focus" is the second stage inside the leading documents (Retriever.focus); "twin" is
    # cross-lingual feedback through translation twins (Retriever.twin_feedback), hybrid
    # mode only; a family of weight 0 does not run.
    weights: dict[str, float] = field(
        default_factory=lambda: {"lexical": 1.0, "dense": 1.0, "focus": 1.0, "twin": 0.0}
    )
    # Share of the dense family's weight that goes to the second vector space's list
    # ("dense2", another model: kg.embedders.make_second_embedder) when it was searched;
    # without it the first space keeps the whole weight. Half: the two models are two
    # opinions of equal standing, and dense evidence as a whole weighs what it did.
    second_share: float = 0.5
    default_gap: float = 0.02  # dense language gap when too few units show it (see merge_dense)
    graph: float = 0.3  # share of a linked statement's score given through APPLIES_TO
    document: float = 0.3  # share of the document's best unit score added to each unit
    candidates: int = 100  # units kept after fusion for propagation and re-ranking
    focus_docs: int = 2  # how many leading documents the second stage reads
    # Boost for statements of the kind the query asks for, among `intent_kinds`: only the
    # escalation cues ("who handles this", 「誰に」) name a kind reliably; the exception cues
    # ("ok", "can a") fire on a third to a half of all queries, most asking for none
    # (docs/evaluation.md, "The kind a query asks for").
    intent_kind: float = 0.1
    intent_kinds: tuple[str, ...] = ("escalation",)
    intent_market: float = 0.2  # boost for documents of a market the query names
    # Second stage: rank a unit by the mean of its language versions' calibrated scores
    # instead of the best one; two translations are two views of one statement.
    focus_views: bool = False
    # Second stage: compare the query and each passage with their language's mean vector
    # taken out (kg.centring), so the words that set one statement of a document apart
    # decide its place rather than what all its statements share.
    focus_centred: bool = True
    # Examples as views of the statements they name ("p1 違反"): in the dense list and in
    # the second stage, a statement's passage moves this share of the way up to the score
    # of the best example passage (same language) that names it (see Retriever.example_views).
    example_views: float = 0.5
    # A family blind to a unit (the query-language fulltext index and a document written
    # only in the other language) takes this share of the unit's dense reciprocal rank
    # instead of nothing, so same-language lexical lists cannot bury it (see fuse).
    blind: float = 1.0
    # The families whose evidence a blind family takes (the best of them): every dense
    # list, since each model can find a one-language document.
    blind_from: tuple[str, ...] = ("dense", "dense2")
    # Scale that share by the part of the query the glossary does not translate: a query
    # whose words all have glossary translations is seen by the cross-language index.
    blind_coverage: bool = True
    # Weight of the learned term table's translations in the other language's fulltext
    # query (times each entry's Dice score); 0, the default, leaves them out: measured, they
    # lowered nDCG on both dev sets once the blind arm is handled (docs/evaluation.md).
    learned: float = 0.0
    # Share of an examples section's score given to the statements its found passages name
    # ("p1 違反"): examples say in moderators' concrete words what a statement covers.
    examples: float = 0.5
    # Share of its document's best statement score added to a definitions section: the
    # definitions are read with the document's statements, whose terms they define
    # (chosen on dev, confirmed on dev-xl; docs/evaluation.md).
    definitions: float = 0.05
    # Share of the best score of the statements an examples section illustrates (any of its
    # examples names them: "...: p4") added to that section: the cases that show the
    # statement found (chosen on dev, confirmed on dev-xl; docs/evaluation.md).
    illustrating: float = 0.05
    # Only the passage that gave an examples unit its rank in each list names statements
    # (the example that matched the query), not every passage of it that was found (the
    # second stage finds every passage of the leading documents: all their examples).
    examples_lead: bool = True
    # Learned translations (best first) added to the dense query of the other language.
    gloss_learned: int = 0
    # The general dictionary's translations (search_api.dictionary), filtered by the
    # corpus's vocabulary: the weight of each query word's best ones in the other
    # language's fulltext query (times their score; 1: a glossary translation's), and how
    # many (best first) join the other language's dense query. Chosen on dev, confirmed
    # on dev-xl and on both without their glossaries (docs/evaluation.md, "A general
    # dictionary").
    dictionary: float = 1.0
    gloss_dictionary: int = 8
    # Twin feedback: the leading units with an own-language passage that has a translation
    # twin seed it (at most this many); their twins' terms (at most `twin_terms`, 0: no
    # fulltext query) and their embeddings' mean (`twin_rocchio` times it beside the query's
    # other-language vector, 0: no vector query) search the other language.
    twin_seeds: int = 3
    twin_terms: int = 32
    twin_rocchio: float = 1.0
    # Share of the twin family's reciprocal rank that a family blind to a unit takes when it
    # is more than the dense one (see fuse): feedback speaks for the query where its own
    # words cannot search. Independent of weights["twin"], the family's own vote.
    twin_blind: float = 0.0
    # Query-adaptive ranks (see effective_ranks): in the lists named by `score_lists`, a
    # unit far below a peaked first unit votes as if ranked lower, by this share (0: plain
    # ranks). Off: it lifts JaQuAD above its lexical arm but lowers dev (evaluation.md).
    score_ranks: float = 0.0
    score_depth: int = 10
    score_lists: tuple[str, ...] = ("lexical",)
    # Share of the votes of the lists in `mix_lists` taken from their min-max normalised
    # scores instead of their ranks (see mixed_votes), so a list sure of its order (a steep
    # drop after its first) outvotes a flat one. 0.35: dev's best on graphs built fresh,
    # confirmed on dev-xl and JaQuAD (docs/evaluation.md, "A fresh build"); 0.25 on the
    # long-lived graphs before, 0.01 before the second vector space.
    score_mix: float = 0.35
    # Above 0: the other language's dense query is the query's vector plus this share of
    # the glossary words' mean direction instead of a second embedded text, the query with
    # the words (search_api.gloss_vectors): one model pass a search instead of two. 0, the
    # default: measured better on dev and worse on dev-xl (docs/evaluation.md, "One text a
    # search"); the setting SOPKG_GLOSS_EMBEDDING=vectors turns it on.
    gloss_vectors: float = 0.0
    # True: the query's own language is searched with the same text as the other, the query
    # followed by the glossary's words, so a search embeds one text with the first model
    # instead of two. Off by default: it costs nDCG on both dev sets, less than
    # `gloss_vectors` does for the same saving (docs/evaluation.md, "One text a search, the
    # glossed one"); the setting SOPKG_GLOSS_EMBEDDING=shared turns it on.
    shared_text: bool = False
    mix_lists: tuple[str, ...] = ("lexical", "lexical_cross", "dense", "dense2", "focus")


def served_fusion(settings: Settings) -> FusionConfig:
    """The fusion a server with these settings searches with (and `sopkg eval` measures)."""
    share = GLOSS_VECTOR_SHARE if settings.gloss_embedding == "vectors" else 0.0
    return FusionConfig(gloss_vectors=share, shared_text=settings.gloss_embedding == "shared")


@dataclass
class UnitCandidate:
    unit: str
    score: float = 0.0
    retrievers: dict[str, int] = field(default_factory=dict)  # retriever -> rank (1-based)
    raw: dict[str, float] = field(default_factory=dict)  # retriever -> its own best score
    hits: list[tuple[int, Hit]] = field(default_factory=list)  # (position in its list, hit)
    leads: list[Hit] = field(default_factory=list)  # the passage that gave each list's rank


@dataclass(frozen=True)
class Confidence:
    """How sure retrieval is of its top result, on a scale that does not depend on the
    fusion's scores (so the demand report's "weak search" survives ranking changes).

    `agreement`: the share of the retriever families used (lexical, dense) that put the top
    unit among their own first `AGREEMENT_DEPTH` units. A one-language document found by
    dense retrieval alone in hybrid mode has 0.5; the top of a single-arm mode has 1.0 when
    that arm ranked it first-ish. `separation`: the top fused score over the median score
    of the first ten results (1.0: the top stands out from nothing).
    """

    agreement: float
    separation: float

    @property
    def weak(self) -> bool:
        return is_weak(self.agreement)


AGREEMENT_DEPTH = 3
CONFIDENCE_DEPTH = 10  # the separation compares the top score with the median of these
WEAK_AGREEMENT = 0.5  # below: fewer than half the retriever families ranked it near the top


def is_weak(agreement: float) -> bool:
    return agreement < WEAK_AGREEMENT


def fuse(
    ranked: dict[str, list[Hit]],
    cfg: FusionConfig,
    blind: Mapping[str, Collection[str]] | None = None,
    sight: Mapping[str, float] | None = None,
) -> list[UnitCandidate]:
    """Weighted reciprocal rank fusion over units (statements or sections).

    Each retriever's passage list becomes a unit list (a unit's rank is that of its best
    passage), so the two language versions of one statement count once per retriever;
    within a family (see FusionConfig.families) a unit takes its best list. A unit's vote
    from a list is its reciprocal rank with a share (`score_mix`) of its normalised score
    (see mixed_votes), so the ties of rank fusion go to the list surer of its order.

    `blind` names, per unit, the families that could not have found it whatever it says
    (the query language's fulltext index for a document written only in the other
    language; the twin family, seeded by bilingual documents only, for a document written
    in one language; see Retriever._blind). Such a family scores the unit as the dense family did
    (times `cfg.blind`, and times 1 - `sight[family]`, the part of the query it could search
    the unit's language with): missing evidence is not evidence against it. Or, when
    better, as the twin feedback did (times `cfg.twin_blind`), which searched the unit's
    language with the corpus's own translation of what the query found.
    """
    units: dict[str, UnitCandidate] = {}
    family_of = {r: f for f, members in cfg.families.items() for r in members}
    best: dict[tuple[str, str], float] = {}  # (unit, family) -> best reciprocal rank
    for name, hits in ranked.items():
        family = family_of.get(name, name)
        seen: set[str] = set()
        firsts: list[Hit] = []
        for pos, hit in enumerate(hits):
            cand = units.setdefault(hit.unit, UnitCandidate(hit.unit))
            cand.hits.append((pos, hit))
            if hit.unit in seen:
                continue
            seen.add(hit.unit)
            cand.leads.append(hit)
            firsts.append(hit)
            cand.retrievers[name] = len(seen)
            cand.raw[name] = hit.score
        share = cfg.score_ranks if name in cfg.score_lists else 0.0
        mix = cfg.score_mix if name in cfg.mix_lists else 0.0
        scores = [h.score for h in firsts]
        ranks = effective_ranks(scores, share, cfg.score_depth)
        for hit, rr in zip(firsts, mixed_votes(ranks, scores, cfg.k, mix), strict=True):
            key = (hit.unit, family)
            best[key] = max(best.get(key, 0.0), rr)
    weights = family_weights(cfg, ranked)
    family_score = {key: weights.get(key[1], 1.0) * rr for key, rr in best.items()}
    if blind and cfg.blind:
        present = {family_of.get(n, n) for n in ranked}
        for unit, families in blind.items():
            for family in present.intersection(families) - {"dense", *cfg.blind_from}:
                key = (unit, family)
                part = (sight or {}).get(family, 0.0)
                dense = max((best.get((unit, f), 0.0) for f in cfg.blind_from), default=0.0)
                proxy = max(
                    cfg.blind * (1 - part) * dense,
                    cfg.twin_blind * best.get((unit, "twin"), 0.0),
                )
                imputed = weights.get(family, 1.0) * proxy
                family_score[key] = max(family_score.get(key, 0.0), imputed)
    for (unit, _), sc in family_score.items():
        if unit in units:
            units[unit].score += sc
    return sorted(units.values(), key=lambda c: (-c.score, c.unit))


def family_weights(cfg: FusionConfig, ranked: Mapping[str, object]) -> dict[str, float]:
    """The families' weights in one fusion: the dense family's weight is shared with the
    second vector space's list (`second_share`) when that list is there."""
    weights = dict(cfg.weights)
    if "dense2" in ranked:
        dense = weights.get("dense", 1.0)
        weights["dense"] = dense * (1 - cfg.second_share)
        weights["dense2"] = dense * cfg.second_share
    return weights


def mixed_votes(ranks: Sequence[float], scores: Sequence[float], k: int, mix: float) -> list[float]:
    """A list's votes (units best first): the reciprocal rank 1 / (k + rank), of which a
    share `mix` is replaced by the unit's score min-max normalised over the list, on the
    same scale (1 / (k + 1) for the first). Ranks alone make two lists that disagree on
    their first two units an exact tie, however sure each is; the scores tell them apart:
    second in a flat list (near ties) keeps nearly the first's vote, second far below a
    peaked first (a fulltext list sure of its answer) gets less. Scale-free, so BM25 and
    cosine lists are treated alike."""
    votes = [1 / (k + r) for r in ranks]
    if not mix or not scores:
        return votes
    top, low = max(scores), min(scores)
    span = top - low
    return [
        (1 - mix) * v + mix * ((s - low) / span if span > 0 else 1.0) / (k + 1)
        for v, s in zip(votes, scores, strict=True)
    ]


def effective_ranks(scores: Sequence[float], share: float, depth: int) -> list[float]:
    """The ranks a list's units (scores best first) vote with in the fusion.

    With `share` 0, their ranks. Otherwise each rank moves `share` of the way to the rank
    its score implies when the scores from the first to the `depth`-th are read as falling
    evenly, 1 + (depth - 1) * (first - score) / (first - depth-th), where that is lower:
    after a steep drop below a peaked first unit the others vote as if further down, so a
    list that is sure of its answer carries it; a list of near ties keeps its plain ranks.
    Scale-free, so BM25 and cosine lists are treated alike."""
    ranks = [float(r) for r in range(1, len(scores) + 1)]
    depth = min(depth, len(scores))
    if not share or depth < 2 or scores[0] <= scores[depth - 1]:
        return ranks
    span = scores[0] - scores[depth - 1]
    return [
        r + share * max(0.0, 1 + (depth - 1) * (scores[0] - s) / span - r)
        for r, s in zip(ranks, scores, strict=True)
    ]


def confidence(
    units: Sequence[UnitCandidate], cfg: FusionConfig, used: Sequence[str]
) -> Confidence | None:
    """The answer-confidence of a ranked list (see `Confidence`); `used` names the
    retrievers that ran (the second stage, "focus", is not an independent vote)."""
    if not units:
        return None
    family_of = {r: f for f, members in cfg.families.items() for r in members}
    families = sorted({family_of.get(r, r) for r in used if family_of.get(r, r) != "focus"})
    top = units[0]
    near = {
        family_of.get(r, r)
        for r, rank in top.retrievers.items()
        if rank <= AGREEMENT_DEPTH and r in used
    }
    agreement = len(near & set(families)) / len(families) if families else 0.0
    scores = [u.score for u in units[:CONFIDENCE_DEPTH]]
    mid = median(scores)
    separation = top.score / mid if mid > 0 else 1.0
    return Confidence(round(agreement, 4), round(separation, 4))


def doc_of(unit: str) -> str:
    return unit.split("#", 1)[0]


def rerank(
    units: list[UnitCandidate],
    neighbours: dict[str, list[str]],
    cfg: FusionConfig,
    cited: dict[str, list[str]] | None = None,
    illustrating: Mapping[str, Collection[str]] | None = None,
) -> list[UnitCandidate]:
    """Knowledge-graph re-ranking of fused units.

    - APPLIES_TO propagation: an exception, enforcement or escalation step linked to a
      strong statement (and the reverse) shares `cfg.graph` of its score; linked
      statements that no retriever found join the candidates that way.
    - examples: the statements an examples unit's found passages name get `cfg.examples`
      of its score, the same way.
    - document prior: `cfg.document` of the best unit score of the same document, since
      the statements that answer one question usually come from one SOP.
    - definitions: a definitions section gets `cfg.definitions` of the best statement
      score of its document (after the above): it defines the words the statements use,
      and a moderator reads it with the statement that answers.
    - illustrating: an examples section gets `cfg.illustrating` of the best score (after
      the above) of the statements its examples name (`illustrating`: unit -> statements),
      the other direction of the examples share.
    """
    base = {u.unit: u.score for u in units}
    by_unit = {u.unit: u for u in units}
    for share, links in ((cfg.graph, neighbours), (cfg.examples, cited or {})):
        if not share:
            continue
        for unit, linked in links.items():
            for other in linked:
                gain = share * base.get(unit, 0.0)
                cand = by_unit.get(other)
                if cand is None:
                    cand = by_unit[other] = UnitCandidate(other)
                    base[other] = 0.0
                cand.score = max(cand.score, base[other] + gain)
    if cfg.document:
        best_doc: dict[str, float] = {}
        for unit, sc in base.items():
            best_doc[doc_of(unit)] = max(best_doc.get(doc_of(unit), 0.0), sc)
        for cand in by_unit.values():
            cand.score += cfg.document * best_doc.get(doc_of(cand.unit), 0.0)
    if cfg.definitions:
        _definitions_share(by_unit.values(), cfg.definitions)
    if cfg.illustrating and illustrating:
        after = {u.unit: u.score for u in by_unit.values()}
        for unit, statements in illustrating.items():
            if unit in by_unit:
                best = max((after.get(st, 0.0) for st in statements), default=0.0)
                by_unit[unit].score += cfg.illustrating * best
    return sorted(by_unit.values(), key=lambda c: (-c.score, c.unit))


def _definitions_share(units: Collection[UnitCandidate], share: float) -> None:
    """Add `share` of its document's best statement score to each definitions section.
    Units without hits joined through the graph, and are statements."""
    best: dict[str, float] = {}
    for u in units:
        if not u.hits or u.hits[0][1].statement_key:
            best[doc_of(u.unit)] = max(best.get(doc_of(u.unit), 0.0), u.score)
    gains = {
        u.unit: share * best.get(doc_of(u.unit), 0.0)
        for u in units
        if u.hits and u.hits[0][1].section_kind == SectionKind.DEFINITIONS
    }
    for u in units:
        u.score += gains.get(u.unit, 0.0)


def merge_dense(per_lang: dict[str, list[Hit]], qlang: str, default_gap: float) -> list[Hit]:
    """One dense list from per-language nearest neighbours, calibrated per query.

    A multilingual model scores passages in the query's language higher than their own
    translations. The statements found in both languages measure that gap for this query
    (median of own-language minus other-language score of the same unit); other-language
    scores are raised by it so a document written in one language only ranks on meaning.
    """
    best: dict[str, dict[str, float]] = {}
    for lang, hits in per_lang.items():
        side = best.setdefault(lang, {})
        for h in hits:
            side.setdefault(h.unit, h.score)
    own = best.get(qlang, {})
    merged: list[Hit] = list(per_lang.get(qlang, []))
    for lang, hits in per_lang.items():
        if lang == qlang:
            continue
        gaps = [own[u] - sc for u, sc in best[lang].items() if u in own]
        gap = median(gaps) if len(gaps) >= 3 else default_gap
        merged += [replace(h, score=h.score + gap) for h in hits]
    return sorted(merged, key=lambda h: -h.score)


def by_mean_view(hits: Sequence[Hit]) -> list[Hit]:
    """Passages ordered by their unit's mean score over its language versions (each
    version's best passage), then by their own score."""
    best: dict[tuple[str, str], float] = {}
    for h in hits:
        key = (h.unit, h.lang)
        best[key] = max(best.get(key, h.score), h.score)
    views: dict[str, list[float]] = {}
    for (unit, _), sc in best.items():
        views.setdefault(unit, []).append(sc)
    mean = {unit: sum(v) / len(v) for unit, v in views.items()}
    return sorted(hits, key=lambda h: (-mean[h.unit], -h.score))
