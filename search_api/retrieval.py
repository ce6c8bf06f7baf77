"""The hybrid bilingual retriever: lexical (both fulltext indexes, glossary expansion),
dense (vector index), the second stage inside the leading documents, twin feedback, and
each result's card. The lists are made one ranking by `search_api.fusion`. The API and
`sopkg eval` both call `Retriever.search`."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from math import sqrt
from typing import Any, Literal

from kg.analysis import (
    detect_language,
    en_terms,
    fulltext_query,
    ja_terms,
)
from kg.corpus_facts import CorpusFacts
from kg.embedders import Embedder
from kg.reader import GraphReader, Hit, HitFilter, TwinPassage
from kg.resident import VectorSearch
from kg.temporal import to_date
from ontology.rules import is_due_soon, is_outdated_translation, is_stale
from ontology.vocabulary import ALL_MARKETS, LANGUAGES, SectionKind
from search_api.expansion import Expansion, Glossary
from search_api.fusion import (
    CONFIDENCE_DEPTH,
    Confidence,
    FusionConfig,
    UnitCandidate,
    by_mean_view,
    confidence,
    doc_of,
    fuse,
    merge_dense,
    rerank,
)
from search_api.gloss_vectors import TermVectors, glossed_vector
from search_api.intent import QueryIntent, understand
from search_api.models import (
    Citation,
    DocumentFacts,
    RelatedItem,
    SearchResult,
    Translation,
    Unit,
)

Mode = Literal["hybrid", "fused", "lexical", "dense"]
# Neo4j round trips of one search that do not depend on each other run here.
_POOL = ThreadPoolExecutor(max_workers=6, thread_name_prefix="retrieve")

RETRIEVERS_BY_MODE: dict[str, tuple[str, ...]] = {
    "hybrid": ("lexical", "lexical_cross", "dense"),  # fused, with glossary expansion
    "fused": ("lexical", "dense"),
    "lexical": ("lexical",),
    "dense": ("dense",),
}


@dataclass(frozen=True)
class SearchParams:
    query: str
    lang: str | None = None  # force the query language; detected when None
    market: str | None = None
    topic: str | None = None
    language: str | None = None  # only passages in this language
    as_of: dt.date | None = None
    include_superseded: bool = False
    limit: int = 10
    mode: Mode = "hybrid"


@dataclass
class SearchOutcome:
    query: str
    query_lang: str
    mode: str
    results: list[SearchResult]
    expansion: Expansion
    timings_ms: dict[str, float]
    confidence: Confidence | None = None  # None: no results


def _timed_query_vector(embedder: Embedder, text: str) -> tuple[list[float], float]:
    """The query's vector and the milliseconds it took."""
    t = time.perf_counter()
    vec = [float(x) for x in embedder.embed_queries([text])[0]]
    return vec, (time.perf_counter() - t) * 1000


def twin_terms(
    twins: Sequence[tuple[TwinPassage, float]], lang: str, limit: int
) -> dict[str, float]:
    """A fulltext query from translation twins (each with its seed's weight): their content
    terms, each weighted by the share of the seeds' weight whose twins carry it, the
    `limit` heaviest (ties: the leading seed's first). The index's own idf does the rest."""
    if limit <= 0:
        return {}
    per_seed: dict[str, tuple[dict[str, None], float]] = {}
    for t, w in twins:
        words = (
            [x for x in ja_terms(t.text) if len(x) >= 2]
            if lang == "ja"
            else [x for x in en_terms(t.text) if len(x) >= 3 and not x.isdigit()]
        )
        terms, _ = per_seed.setdefault(t.seed, ({}, w))
        terms.update(dict.fromkeys(words))
    total = sum(w for _, w in per_seed.values()) or 1.0
    weight: dict[str, float] = {}
    for terms, w in per_seed.values():
        for term in terms:
            weight[term] = weight.get(term, 0.0) + w / total
    return dict(sorted(weight.items(), key=lambda kv: -kv[1])[:limit])


def rocchio(
    query: Sequence[float], twins: Sequence[tuple[TwinPassage, float]], beta: float
) -> list[float]:
    """The query vector moved toward its feedback (Rocchio): unit query + `beta` times
    the seed-weighted mean of the twins' unit embeddings. [] when `beta` is 0 or no twin
    has an embedding."""
    vecs = [(t.embedding, w) for t, w in twins if t.embedding]
    if not beta or not vecs or not query:
        return []
    total = sum(w for _, w in vecs) or 1.0
    mean = [0.0] * len(query)
    for emb, w in vecs:
        norm = sqrt(sum(x * x for x in emb)) or 1.0
        for i, x in enumerate(emb):
            mean[i] += w * x / (norm * total)
    qnorm = sqrt(sum(x * x for x in query)) or 1.0
    return [q / qnorm + beta * m for q, m in zip(query, mean, strict=True)]


class Retriever:
    def __init__(
        self,
        reader: GraphReader,
        embedder: Embedder,
        glossary: Glossary,
        today: dt.date | None = None,
        due_within_days: int = 30,
        fusion: FusionConfig | None = None,
        facts: CorpusFacts | None = None,
        second: Embedder | None = None,
        vectors: VectorSearch | None = None,
        terms: TermVectors | None = None,
    ) -> None:
        self.reader = reader
        # Glossary words' vectors (FusionConfig.gloss_vectors): the caller's, kept across
        # searches (even while still empty: not `or`), else this retriever's own.
        self.terms = terms if terms is not None else TermVectors(embedder)
        # Dense reads: a resident snapshot of the passage vectors (kg.resident) when the
        # caller holds one for the corpus it searches, else Neo4j's vector indexes.
        self.vectors: VectorSearch = vectors or reader
        self.embedder = embedder
        self.second = second
        self.glossary = glossary
        self.today = today
        self.due_within_days = due_within_days
        self.fusion = fusion or FusionConfig()
        self._facts = facts

    @property
    def facts(self) -> CorpusFacts:
        """The runtime's snapshot, else read from the graph once for this retriever."""
        if self._facts is None:
            self._facts = self.reader.corpus_facts()
        return self._facts

    def second_space(self) -> Embedder | None:
        """The second vector space's model when the graph's second vectors are complete
        for it (CorpusFacts.searches_second_space), else None."""
        if self.second is None or not self.facts.searches_second_space(self.second.name):
            return None
        return self.second

    def _today(self) -> dt.date:
        return self.today or dt.date.today()

    def current_day(self) -> dt.date:
        """The day searches are judged on besides their `as_of`: which versions are
        current when none is named, what is due for review soon."""
        return self._today()

    def _filter(self, p: SearchParams) -> HitFilter:
        as_of = p.as_of or self._today()
        return HitFilter(
            as_of=as_of,
            markets=[p.market, ALL_MARKETS] if p.market and p.market != ALL_MARKETS else None,
            topic=p.topic,
            lang=p.language,
            hidden_docs=()
            if p.include_superseded
            else tuple(sorted(self.facts.superseded_on(as_of))),
            history=self.facts.history_factor(as_of),
        )

    def retrieve(
        self, p: SearchParams, timings: dict[str, float]
    ) -> tuple[str, Expansion, dict[str, list[Hit]], dict[str, list[float]]]:
        qlang = p.lang or detect_language(p.query)
        flt = self._filter(p)
        depth = self.fusion.depth
        use = RETRIEVERS_BY_MODE[p.mode]
        expansion = (
            self.glossary.expand(p.query, qlang, self.fusion.learned, self.fusion.dictionary)
            if "lexical_cross" in use
            else Expansion()
        )
        ranked: dict[str, list[Hit]] = {}
        qvecs: dict[str, list[float]] = {}
        pending: dict[str, Future[list[Hit]]] = {}
        t = time.perf_counter()
        # Fulltext queries run on the pool while the query is embedded here (the embedder's
        # C engine releases the GIL), and the per-language vector queries run side by side.
        if "lexical" in use:
            own_index = "passage_ja" if qlang == "ja" else "passage_en"
            own_terms = ja_terms(p.query) if qlang == "ja" else en_terms(p.query)
            own_extra = expansion.ja_terms if qlang == "ja" else expansion.en_terms
            boosts = {t_: b for t_, b in own_extra.items() if t_ not in own_terms}
            q_own = fulltext_query([*own_terms, *boosts], boosts)
            pending["lexical"] = _POOL.submit(self.reader.fulltext, own_index, q_own, flt, depth)
        if "lexical_cross" in use:
            # The other language's index: glossary translations, plus for a Japanese query
            # the Latin words it carries ("LINE", "PayPay").
            if qlang == "ja":
                cross_terms = {**dict.fromkeys(en_terms(p.query), 1.0), **expansion.en_terms}
                index = "passage_en"
            else:
                cross_terms = dict(expansion.ja_terms)
                index = "passage_ja"
            q_cross = fulltext_query(list(cross_terms), cross_terms)
            pending["lexical_cross"] = _POOL.submit(
                self.reader.fulltext, index, q_cross, flt, depth
            )
        if "dense" in use:
            langs = [p.language] if p.language else list(LANGUAGES)
            # Other languages are searched with the query plus the glossary's words for the
            # ideas it names in that language: a partial translation the model can use.
            glosses = {lang: expansion.gloss_words(lang, learned=self.fusion.gloss_learned,
                                                   dictionary=self.fusion.gloss_dictionary)
                       for lang in langs if lang != qlang}  # fmt: skip
            by_vector = self.fusion.gloss_vectors > 0
            texts = {
                lang: f"{p.query} ({' '.join(glosses[lang])})"
                if glosses.get(lang) and not by_vector
                else p.query
                for lang in langs
            }
            if self.fusion.shared_text and qlang in texts:
                glossed = [texts[lang] for lang in langs if lang != qlang and glosses.get(lang)]
                if glossed:
                    texts[qlang] = glossed[0]
            distinct = sorted(set(texts.values()))
            # The second space is searched with the query alone: its model was trained on
            # translation pairs and reaches the other language without the glossary's help.
            # Its small model embeds on the pool while the first model embeds here.
            second = self.second_space()
            embed2 = _POOL.submit(_timed_query_vector, second, p.query) if second else None
            te = time.perf_counter()
            vectors = dict(zip(distinct, self.embedder.embed_queries(distinct), strict=True))
            timings["embed"] = (time.perf_counter() - te) * 1000
            qvecs = {lang: [float(x) for x in vectors[texts[lang]]] for lang in langs}
            if by_vector:
                for lang, words in glosses.items():
                    if words:
                        qvecs[lang] = glossed_vector(
                            qvecs[lang], words, self.terms, self.fusion.gloss_vectors
                        )
            dense_jobs = {
                lang: _POOL.submit(self.vectors.vector, qvecs[lang], lang, flt, depth)
                for lang in langs
            }
            second_jobs: dict[str, Future[list[Hit]]] = {}
            if embed2 is not None:
                qvec2, timings["embed2"] = embed2.result()
                second_jobs = {
                    lang: _POOL.submit(self.vectors.vector, qvec2, lang, flt, depth, True)
                    for lang in langs
                }
            td = time.perf_counter()
            for name, jobs in (("dense", dense_jobs), ("dense2", second_jobs)):
                if not jobs:
                    continue
                per_lang = {lang: job.result() for lang, job in jobs.items()}
                if self.fusion.example_views:
                    per_lang = self.example_views(per_lang)
                ranked[name] = merge_dense(per_lang, qlang, self.fusion.default_gap)
            timings["dense"] = (time.perf_counter() - td) * 1000
        for name, job in pending.items():
            ranked[name] = job.result()
        timings["retrieve"] = (time.perf_counter() - t) * 1000
        return qlang, expansion, ranked, qvecs

    def focus(
        self, units: list[UnitCandidate], qvecs: dict[str, list[float]], qlang: str, as_of: dt.date
    ) -> list[Hit]:
        """Second stage: every passage of the leading documents, ranked by meaning.

        Retrievers return the passages nearest the query over the whole corpus; once the
        documents that answer are known, their other statements (the exception to the
        policy found, its penalty) are ranked against the query too.
        """
        docs: list[str] = []
        for u in units:
            if doc_of(u.unit) not in docs:
                docs.append(doc_of(u.unit))
            if len(docs) == self.fusion.focus_docs:
                break
        means = self.facts.language_means if self.fusion.focus_centred else None
        per_lang = self.vectors.document_passages(qvecs, docs, as_of, means)
        # A document of one unit has nothing inside to order: the second stage would only
        # repeat its dense vote (a Wikipedia paragraph as an SOP, in the JaQuAD check).
        units_of: dict[str, set[str]] = {}
        for hits in per_lang.values():
            for h in hits:
                units_of.setdefault(h.doc_id, set()).add(h.unit)
        per_lang = {lang: [h for h in hits if len(units_of[h.doc_id]) > 1]
                    for lang, hits in per_lang.items()}  # fmt: skip
        if self.fusion.example_views:
            per_lang = self.example_views(per_lang)
        merged = merge_dense(per_lang, qlang, self.fusion.default_gap)
        return by_mean_view(merged) if self.fusion.focus_views else merged

    def example_views(self, per_lang: dict[str, list[Hit]]) -> dict[str, list[Hit]]:
        """Per-language passage lists (best first) in which each statement's passage has
        moved `example_views` of the way up to the best score of the example passages in
        the same list that name it (ILLUSTRATES), when that is higher, and re-sorted.

        An example says in the concrete words moderators use ("a Thai-language live: 'Join
        my VIP Telegram for 999 baht a month': p4") what case a statement covers, which the
        statement says in policy language: a query near the example is near the statement.
        Unlike the examples share of `rerank`, every example found counts, not only the
        section's best one, and the statement's rank in the list itself moves."""
        share = self.fusion.example_views
        prose = [h.key for hits in per_lang.values() for h in hits if not h.statement_key]
        named = self.facts.illustrated(prose)
        if not named:
            return per_lang
        out: dict[str, list[Hit]] = {}
        for lang, hits in per_lang.items():
            view: dict[str, float] = {}
            for h in hits:
                for st in named.get(h.key, ()):
                    view[st] = max(view.get(st, float("-inf")), h.score)
            out[lang] = sorted(
                (
                    replace(h, score=max(h.score, h.score + share * (view[h.unit] - h.score)))
                    if h.statement_key and h.unit in view
                    else h
                    for h in hits
                ),
                key=lambda h: -h.score,
            )
        return out

    def search(self, p: SearchParams) -> SearchOutcome:
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        qlang, expansion, ranked, qvecs = self.retrieve(p, timings)
        t = time.perf_counter()
        as_of = p.as_of or self._today()
        blind = self._blind(ranked, qlang, as_of, p.language)
        sight = {"lexical": expansion.coverage} if self.fusion.blind_coverage else None
        units = fuse(ranked, self.fusion, blind, sight)[: self.fusion.candidates]
        twin = self.fusion.weights.get("twin") or self.fusion.twin_blind
        if twin and p.mode == "hybrid" and qvecs and units:
            tt = time.perf_counter()
            feedback = self.twin_feedback(units, qvecs, qlang, self._filter(p))
            if feedback:
                ranked.update(feedback)
                blind = self._blind(ranked, qlang, as_of, p.language)
                units = fuse(ranked, self.fusion, blind, sight)[: self.fusion.candidates]
            timings["twin"] = (time.perf_counter() - tt) * 1000
        if self.fusion.weights.get("focus") and qvecs and units:
            ranked["focus"] = self.focus(units, qvecs, qlang, as_of)
            units = fuse(ranked, self.fusion, blind, sight)[: self.fusion.candidates]
        cfg = self.fusion
        if cfg.graph or cfg.document or cfg.examples or cfg.definitions or cfg.illustrating:
            statements = [u.unit for u in units if u.hits and u.hits[0][1].statement_key]
            cited = self._cited(units) if self.fusion.examples else {}
            neighbours = self.facts.statement_neighbours(statements) if self.fusion.graph else {}
            illustrating = self._illustrating(units) if cfg.illustrating else {}
            units = rerank(units, neighbours, self.fusion, cited, illustrating)
        if self.fusion.intent_kind or self.fusion.intent_market:
            keep = max(p.limit, CONFIDENCE_DEPTH)
            units = self._apply_intent(units, understand(p.query), as_of, p.language, keep)
        sure = confidence(units, self.fusion, RETRIEVERS_BY_MODE[p.mode])
        units = units[: p.limit]
        results = self._present(units, qlang, p)
        timings["present"] = (time.perf_counter() - t) * 1000
        timings["total"] = (time.perf_counter() - t0) * 1000
        return SearchOutcome(
            p.query, qlang, p.mode, results, expansion, timings, sure if results else None
        )

    def twin_feedback(
        self,
        units: Sequence[UnitCandidate],
        qvecs: Mapping[str, Sequence[float]],
        qlang: str,
        flt: HitFilter,
    ) -> dict[str, list[Hit]]:
        """Cross-lingual feedback through translation twins: a second query in the other
        language, built from the corpus's own translations of what the query found.

        The leading units' own-language passages that have a translation twin (statements of
        bilingual documents, translated prose paragraphs) say in the corpus's words what the
        query is about; their twins say it in the other language, whose documents written in
        that language only have no twins and no words in common with the query. The twins'
        terms search that language's fulltext index (`twin_lexical`), and their embeddings'
        mean beside the query's vector searches its vector index (`twin_dense`).
        """
        cfg = self.fusion
        other = next((lang for lang in qvecs if lang != qlang), None)
        if other is None or not units:
            return {}
        top = units[0].score or 1.0
        firsts: dict[str, float] = {}  # a unit's best own-language passage -> its weight
        for u in units[: 4 * cfg.twin_seeds]:
            own = [ph for ph in u.hits if ph[1].lang == qlang]
            if own:
                firsts[min(own, key=lambda ph: ph[0])[1].key] = u.score / top
        by_seed: dict[str, list[TwinPassage]] = {}
        for t in self.reader.twin_feedback(list(firsts), flt.as_of):
            if t.lang == other:
                by_seed.setdefault(t.seed, []).append(t)
        chosen = [key for key in firsts if key in by_seed][: cfg.twin_seeds]
        weighted = [(t, firsts[key]) for key in chosen for t in by_seed[key]]
        jobs: dict[str, Future[list[Hit]]] = {}
        terms = twin_terms(weighted, other, cfg.twin_terms)
        if terms:
            index = "passage_ja" if other == "ja" else "passage_en"
            query = fulltext_query(list(terms), terms)
            jobs["twin_lexical"] = _POOL.submit(self.reader.fulltext, index, query, flt, cfg.depth)
        vector = rocchio(qvecs[other], weighted, cfg.twin_rocchio)
        if vector:
            jobs["twin_dense"] = _POOL.submit(self.vectors.vector, vector, other, flt, cfg.depth)
        return {name: job.result() for name, job in jobs.items()}

    def _cited(self, units: list[UnitCandidate]) -> dict[str, list[str]]:
        """Statements named by the found passages of each prose unit (examples; with
        `examples_lead`, only those that gave it its rank)."""
        lead = self.fusion.examples_lead
        keys = {h.key: u.unit for u in units if u.hits and not u.hits[0][1].statement_key
                for h in (u.leads if lead else [h for _, h in u.hits])}  # fmt: skip
        out: dict[str, list[str]] = {}
        for key, statements in self.facts.illustrated(sorted(keys)).items():
            out.setdefault(keys[key], []).extend(statements)
        return out

    def _illustrating(self, units: list[UnitCandidate]) -> dict[str, set[str]]:
        """Examples unit -> the statements that any of its found passages names (the
        second stage reads every passage of the leading documents)."""
        out: dict[str, set[str]] = {}
        for u in units:
            if u.hits and u.hits[0][1].section_kind == SectionKind.EXAMPLES:
                named = self.facts.illustrated(sorted({h.key for _, h in u.hits}))
                if named:
                    out[u.unit] = {st for sts in named.values() for st in sts}
        return out

    def _blind(
        self, ranked: dict[str, list[Hit]], qlang: str, as_of: dt.date, only_lang: str | None
    ) -> dict[str, set[str]]:
        """The families that could not see a unit: the query-language fulltext index
        ("lexical") when its document has no version in the query's language (or the request
        asked for the other language); the twin family when its document is in one language
        only. The twin query is built from bilingual documents alone, which seed it: a
        document in the query's language only is out of its reach, and one in the other
        language only, which could not have seeded it, keeps at least its dense evidence
        there (the twin rank still counts where it is better, see fuse)."""
        if not self.fusion.blind or "lexical" not in ranked or "dense" not in ranked:
            return {}
        units = {h.unit: h.doc_id for hits in ranked.values() for h in hits}
        if only_lang and only_lang != qlang:
            return {u: {"lexical"} for u in units}
        twin = any(name in ranked for name in self.fusion.families.get("twin", ()))
        langs = self.facts.document_languages(sorted(set(units.values())), as_of)
        out: dict[str, set[str]] = {}
        for unit, doc in units.items():
            has = langs.get(doc, set(LANGUAGES))
            families = {"lexical"} if qlang not in has else set()
            if twin and len(has) < len(LANGUAGES):
                families.add("twin")
            if families:
                out[unit] = families
        return out

    def _apply_intent(
        self,
        units: list[UnitCandidate],
        intent: QueryIntent,
        as_of: dt.date,
        language: str | None,
        keep: int,
    ) -> list[UnitCandidate]:
        """Units whose kind or market the query asks for, boosted; the first `keep` (those
        shown, and the ten the confidence reads) in the order a full pass would give."""
        kinds = intent.kinds & frozenset(self.fusion.intent_kinds)
        if not kinds and not intent.markets:
            return units
        # Units reached through the graph have no passage yet to tell their kind and
        # markets: fetch one, but only for units that the largest boost could lift into the
        # first `keep`. Boosts only raise scores, so the keep-th score before them is a floor
        # of the keep-th after them: the order of the first `keep` is exactly that of fetching
        # them all (113 statements, 85 ms, in one search at 100,000 passages).
        most = (1 + self.fusion.intent_kind if kinds else 1.0) * (
            1 + self.fusion.intent_market if intent.markets else 1.0
        )
        scores = sorted((u.score for u in units), reverse=True)
        floor = scores[keep - 1] if len(scores) >= keep else float("-inf")
        unseen = [u for u in units if not u.hits and u.score * most >= floor]
        if unseen:
            # In the filter's language only: the passage fetched here is the one shown.
            found = self.reader.statement_passages([u.unit for u in unseen], as_of, language)
            for u in unseen:
                u.hits = [(0, h) for h in found if h.statement_key == u.unit]
        for u in units:
            if not u.hits:
                continue
            h = u.hits[0][1]
            if h.statement_kind in kinds:
                u.score *= 1 + self.fusion.intent_kind
            if intent.markets & set(h.markets):
                u.score *= 1 + self.fusion.intent_market
        return sorted(units, key=lambda c: (-c.score, c.unit))

    # --- presentation: one card per unit, in the query's language when it exists ------
    def _present(
        self, units: Sequence[UnitCandidate], qlang: str, p: SearchParams
    ) -> list[SearchResult]:
        if not units:
            return []
        as_of = p.as_of or self._today()
        unseen = [u for u in units if not u.hits]
        if unseen:
            found = self.reader.statement_passages([u.unit for u in unseen], as_of, p.language)
            for u in unseen:
                u.hits = [(0, h) for h in found if h.statement_key == u.unit]
            units = [u for u in units if u.hits]
        # The best passage of each unit, preferring the query language among its hits.
        chosen = {u.unit: _prefer_lang(u.hits, qlang) for u in units}
        statements = [u.unit for u in units if chosen[u.unit].statement_key]
        related_job = _POOL.submit(self.reader.related, statements, as_of) if statements else None
        twins, details = self.reader.cards(sorted({h.key for h in chosen.values()}), as_of)
        related = related_job.result() if related_job else {}
        out: list[SearchResult] = []
        for u in units:
            hit = chosen[u.unit]
            main_key = hit.key
            twin_keys = twins.get(hit.key, [])
            if hit.lang != qlang and p.language is None:
                same = [k for k in twin_keys if details.get(k, {}).get("lang") == qlang]
                if same:
                    main_key, twin_keys = (
                        same[0],
                        [hit.key] + [k for k in twin_keys if k != same[0]],
                    )
            main = details.get(main_key)
            if main is None:
                continue
            translation = next(
                (
                    details[k]
                    for k in twin_keys
                    if k in details and details[k]["lang"] != main["lang"]
                ),
                None,
            )
            rank = len(out) + 1
            out.append(self._card(rank, u, main, translation, related.get(u.unit, []), qlang))
        return out

    def _card(
        self,
        rank: int,
        u: UnitCandidate,
        main: dict[str, Any],
        translation: dict[str, Any] | None,
        related: list[dict[str, Any]],
        qlang: str,
    ) -> SearchResult:
        today = self._today()
        review_by = to_date(main.get("review_by"))
        return SearchResult(
            rank=rank,
            unit=Unit(
                type="statement" if main["statement_key"] else "section",
                key=u.unit,
                doc_id=main["doc_id"],
                item_id=main["item_id"],
                section=main["anchor"] or main["align_key"],
            ),
            kind=main["statement_kind"] or main["section_kind"],
            severity=main.get("severity"),
            text=main["text"],
            lang=main["lang"],
            citation=_citation(main),
            translation=(
                Translation(
                    text=translation["text"],
                    lang=translation["lang"],
                    citation=_citation(translation),
                )
                if translation
                else None
            ),
            score=round(u.score, 6),
            retrievers=sorted(u.retrievers),
            retriever_ranks=dict(sorted(u.retrievers.items())),
            document=DocumentFacts(
                owner=main["owner"],
                topic=main["topic"],
                markets=main["markets"],
                review_by=review_by,
                stale=is_stale(review_by, today),
                due_soon=is_due_soon(review_by, today, self.due_within_days),
                translation_outdated=_outdated(main)
                or (translation is not None and _outdated(translation)),
            ),
            related=[_related(r, qlang) for r in related],
        )


def _prefer_lang(hits: Sequence[tuple[int, Hit]], lang: str) -> Hit:
    """The unit's best-ranked passage in `lang`, else its best-ranked passage."""
    same = [ph for ph in hits if ph[1].lang == lang]
    return min(same or hits, key=lambda ph: ph[0])[1]


def _outdated(d: dict[str, Any]) -> bool:
    return is_outdated_translation(d.get("translation_of_version"), d.get("source_current_version"))


def _citation(d: dict[str, Any]) -> Citation:
    effective = to_date(d.get("effective"))
    heading_path = list(d.get("heading_path") or [])
    where = d["item_id"] or (d["anchor"] or d["align_key"])
    line = (
        f"[{d['doc_id']} v{d['version']} {d['lang']}] {d['title']} > "
        f"{heading_path[-1] if len(heading_path) > 1 else ''} #{where} "
        f"(effective {effective.isoformat() if effective else '?'}; "
        f"{d['source_path']}:{d['line_start']}-{d['line_end']})"
    )
    return Citation(
        doc_id=d["doc_id"],
        title=d["title"],
        version=d["version"],
        effective=effective,
        lang=d["lang"],
        section=d["anchor"] or d["align_key"],
        heading_path=heading_path,
        item_id=d["item_id"],
        source_path=d["source_path"],
        line_start=d["line_start"],
        line_end=d["line_end"],
        ticket_line=line,
    )


def _related(r: dict[str, Any], qlang: str) -> RelatedItem:
    texts = r["texts"]
    pick = next((t for t in texts if t["lang"] == qlang), texts[0] if texts else None)
    return RelatedItem(
        relation=r["relation"],
        statement_key=r["statement_key"],
        kind=r["kind"],
        item_id=r["item_id"],
        severity=r["severity"],
        text=pick["text"] if pick else None,
        lang=pick["lang"] if pick else None,
    )
