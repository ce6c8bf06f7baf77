"""Coverage findings computed from the graph's facts (`CoverageFacts`); no I/O here.

Every finding names its document (or topic), the language version(s) concerned, the item
(statement id, section anchor, or `-`), its owner and a one-line reason a person can check
against the text. docs/coverage.md describes each kind and the thresholds below.

Documents superseded by another active document are left out of every check: they are on
their way out, and their rules are not in effect next to the document that replaced them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import statistics
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np

from kg.coverage import (
    CoverageReader,
    DocumentFacts,
    LinkFacts,
    PassageFacts,
    StatementFacts,
    StatementText,
    TopicFacts,
    VersionFacts,
)
from ontology.governance import ChangeKind, FindingKind
from ontology.rules import ReviewState, is_outdated_translation, review_state, same_version
from ontology.vocabulary import ALL_MARKETS, DEPENDENT_KINDS, LANGUAGES, MARKETS, StatementKind
from search_api.coverage.changes import Change, diff_passages, statement_changes
from search_api.coverage.drift import disagreements
from search_api.coverage.signals import (
    SOFT_SANCTIONS,
    conflicting_numbers,
    content_words,
    describe_sanctions,
    first_offence,
    first_stage,
    mask_markets,
    numbers,
)

KIND_ORDER: tuple[FindingKind, ...] = tuple(FindingKind)


@dataclass(frozen=True)
class CoverageConfig:
    """Thresholds of the similarity-based checks (cosine of the stored passage embeddings,
    averaged over the languages both statements are written in)."""

    # contradiction: mutual nearest statements of one kind at least this close ...
    contradiction_cosine: float = 0.90
    # ... and, for a difference in numbers alone (not in sanctions), at least this close.
    contradiction_numbers_cosine: float = 0.95
    # near-duplicate: statements this close are "the same" ...
    duplicate_cosine: float = 0.96
    # ... and documents where this share of statements is the same are near-duplicates.
    duplicate_share: float = 0.8
    duplicate_min_statements: int = 3
    # documents whose mean statement vectors are further apart are not compared in detail
    duplicate_prefilter_cosine: float = 0.93
    # outdated translation without the old source version: a statement whose source is
    # this many times longer (relative to the document's usual length ratio) grew.
    length_ratio: float = 1.6


@dataclass(frozen=True)
class Finding:
    kind: FindingKind
    doc: str  # document id; the topic path for topic-without-document
    lang: str  # "en,ja", "ja", ... ; "-" when no language applies
    item: str  # statement item id, section anchor, or "-"
    reason: str
    owner: str | None = None
    topic: str | None = None
    markets: tuple[str, ...] = ()
    related: tuple[str, ...] = ()  # the other side of a pair, as "<doc>#<item>"

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.kind.value, self.doc, self.lang, self.item)

    @property
    def id(self) -> str:
        """Stable across ingests while the finding is the same (kind, document, languages,
        item); the reason's wording and figures may change without changing it."""
        return hashlib.sha256("|".join(self.key).encode("utf-8")).hexdigest()[:16]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "doc": self.doc,
            "lang": self.lang,
            "item": self.item,
            "reason": self.reason,
            "owner": self.owner,
            "topic": self.topic,
            "markets": list(self.markets),
            "related": list(self.related),
        }


@dataclass
class CoverageFacts:
    """What the checks read from the graph."""

    documents: list[DocumentFacts]
    statements: list[StatementFacts]
    dangling: list[LinkFacts]
    topics: list[TopicFacts]
    # version key -> passages, for the source versions outdated translations follow
    history: dict[str, list[PassageFacts]] = field(default_factory=dict)


def collect_facts(reader: CoverageReader, embeddings: bool = True) -> CoverageFacts:
    documents = reader.documents()
    wanted: list[str] = []
    for d in documents:
        for old, new in _outdated_sources(d):
            if old is not None:
                wanted += [old, new]
    return CoverageFacts(
        documents=documents,
        statements=reader.statements(embeddings=embeddings),
        dangling=reader.dangling_links(),
        topics=reader.taxonomy(),
        history=reader.version_passages(sorted(set(wanted))) if wanted else {},
    )


def _outdated_sources(d: DocumentFacts) -> list[tuple[str | None, str]]:
    """(key of the source version a translation follows, if kept; key of the source's
    current version) for each outdated translation of `d`."""
    out: list[tuple[str | None, str]] = []
    for t in d.current.values():
        if not t.translation_of_lang or not t.translation_of_version:
            continue
        src = d.current.get(t.translation_of_lang)
        if src is None or not is_outdated_translation(t.translation_of_version, src.version):
            continue
        old = d.version(t.translation_of_lang, t.translation_of_version)
        out.append((old.key if old else None, src.key))
    return out


def langs(values: Iterable[str]) -> str:
    found = sorted(set(values))
    return ",".join(found) if found else "-"


def covers(doc: DocumentFacts, market: str) -> bool:
    return ALL_MARKETS in doc.markets or market in doc.markets


def markets_overlap(a: DocumentFacts, b: DocumentFacts) -> set[str]:
    if ALL_MARKETS in a.markets:
        return set(b.markets) if ALL_MARKETS not in b.markets else {ALL_MARKETS}
    if ALL_MARKETS in b.markets:
        return set(a.markets)
    return set(a.markets) & set(b.markets)


def _short(text: str, n: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


class Analysis:
    """One pass over the facts; `findings()` runs every check."""

    def __init__(
        self,
        facts: CoverageFacts,
        today: dt.date,
        due_within_days: int = 30,
        config: CoverageConfig | None = None,
    ) -> None:
        self.facts = facts
        self.today = today
        self.due_within_days = due_within_days
        self.config = config or CoverageConfig()
        self.superseded = {d.id for d in facts.documents if d.superseded_by}
        self.docs = {d.id: d for d in facts.documents if d.id not in self.superseded}
        self.by_doc: dict[str, list[StatementFacts]] = defaultdict(list)
        for st in facts.statements:
            if st.doc_id in self.docs:
                self.by_doc[st.doc_id].append(st)
        self._vectors: dict[tuple[str, str], np.ndarray] = {}
        self._centroids: dict[tuple[str, str], np.ndarray | None] = {}
        for st in facts.statements:
            for t in st.texts:
                if t.embedding:
                    v = np.asarray(t.embedding, dtype=np.float64)
                    norm = float(np.linalg.norm(v))
                    if norm:
                        self._vectors[(st.key, t.lang)] = v / norm

    # --- helpers ------------------------------------------------------------------------
    def _finding(
        self, kind: FindingKind, doc: DocumentFacts, lang: str, item: str, reason: str,
        related: Sequence[str] = (),
    ) -> Finding:  # fmt: skip
        return Finding(kind, doc.id, lang, item, reason, doc.owner, doc.topic, doc.markets,
                       tuple(related))  # fmt: skip

    def similarity(self, a: StatementFacts, b: StatementFacts) -> float | None:
        """Mean cosine over the languages both are written in; None without one."""
        sims = [
            float(self._vectors[(a.key, lang)] @ self._vectors[(b.key, lang)])
            for lang in LANGUAGES
            if (a.key, lang) in self._vectors and (b.key, lang) in self._vectors
        ]
        return sum(sims) / len(sims) if sims else None

    def _mutual_best(
        self, left: Sequence[StatementFacts], right: Sequence[StatementFacts]
    ) -> list[tuple[StatementFacts, StatementFacts, float]]:
        """Pairs that are each other's nearest statement of the same kind."""
        out = []
        for kind in StatementKind:
            a = [s for s in left if s.kind == kind.value]
            b = [s for s in right if s.kind == kind.value]
            if not a or not b:
                continue
            sim = np.full((len(a), len(b)), -1.0)
            for i, x in enumerate(a):
                for j, y in enumerate(b):
                    s = self.similarity(x, y)
                    if s is not None:
                        sim[i, j] = s
            for i in range(len(a)):
                j = int(np.argmax(sim[i]))
                if sim[i, j] >= 0 and int(np.argmax(sim[:, j])) == i:
                    out.append((a[i], b[j], float(sim[i, j])))
        return out

    def _centroid_similarity(self, a: str, b: str) -> float:
        """Cosine of the documents' mean statement vectors (mean over shared languages); a
        cheap bound that spares the pairwise comparison of unrelated documents."""
        sims = []
        for lang in LANGUAGES:
            ca, cb = self._centroid(a, lang), self._centroid(b, lang)
            if ca is not None and cb is not None:
                sims.append(float(ca @ cb))
        return sum(sims) / len(sims) if sims else 1.0

    def _centroid(self, doc_id: str, lang: str) -> np.ndarray | None:
        key = (doc_id, lang)
        if key not in self._centroids:
            vs = [self._vectors[(s.key, lang)] for s in self.by_doc.get(doc_id, [])
                  if (s.key, lang) in self._vectors]  # fmt: skip
            mean = np.mean(vs, axis=0) if vs else None
            norm = float(np.linalg.norm(mean)) if mean is not None else 0.0
            self._centroids[key] = mean / norm if mean is not None and norm else None
        return self._centroids[key]

    @staticmethod
    def _text_pair(a: StatementFacts, b: StatementFacts) -> tuple[str, str, str, str] | None:
        """(text a, lang a, text b, lang b): a language both share first (en, then ja)."""
        for lang in LANGUAGES:
            ta, tb = a.text(lang), b.text(lang)
            if ta and tb:
                return ta, lang, tb, lang
        if a.texts and b.texts:
            return a.texts[0].text, a.texts[0].lang, b.texts[0].text, b.texts[0].lang
        return None

    # --- the checks ---------------------------------------------------------------------
    def findings(self) -> list[Finding]:
        out: list[Finding] = []
        out += self.topics_without_document()
        out += self.missing_translations()
        out += self.outdated_translations()
        out += self.translation_drift()
        out += self.review_dates()
        out += self.uncovered_policies()
        out += self.missing_applies_to()
        out += self.dangling_links()
        out += self.near_duplicates()
        out += self.contradictions()
        unique = {f.key: f for f in out}
        return sorted(
            unique.values(), key=lambda f: (KIND_ORDER.index(f.kind), f.doc, f.item, f.lang)
        )

    def topics_without_document(self) -> list[Finding]:
        out = []
        for t in self.facts.topics:
            if not t.leaf:
                continue
            if any(
                d.topic == t.path or d.topic.startswith(t.path + "/") for d in self.docs.values()
            ):
                continue
            out.append(
                Finding(
                    FindingKind.TOPIC_WITHOUT_DOCUMENT,
                    t.path,
                    "-",
                    "-",
                    "leaf topic with no document in any market",
                    topic=t.path,
                )  # fmt: skip
            )
        return out

    def missing_translations(self) -> list[Finding]:
        out = []
        for d in self.docs.values():
            have = sorted(d.current)
            if not have:
                continue
            for lang in LANGUAGES:
                if lang in d.current:
                    continue
                only = ",".join(have)
                reason = f"only a{'n' if only[0] in 'aeiou' else ''} {only} version exists " \
                         f"({only}-only document)"  # fmt: skip
                out.append(self._finding(FindingKind.MISSING_TRANSLATION, d, lang, "-", reason))
        return out

    def outdated_translations(self) -> list[Finding]:
        out = []
        for d in self.docs.values():
            for t in d.current.values():
                if not t.translation_of_lang or not t.translation_of_version:
                    continue
                src = d.current.get(t.translation_of_lang)
                followed = t.translation_of_version
                if src is None or not is_outdated_translation(followed, src.version):
                    continue
                head = f"{t.lang} follows {src.lang}@{followed} but {src.lang} is {src.version}"
                old = d.version(src.lang, followed)
                if old is not None and old.key in self.facts.history:
                    changed = statement_changes(
                        diff_passages(self.facts.history[old.key], self.facts.history[src.key])
                    )
                    items = [(c.item_id or "-", _describe_change(src.lang, c)) for c in changed]
                else:
                    items = self._guess_changed(d, t.lang, src.lang)
                if not items:
                    out.append(self._finding(FindingKind.OUTDATED_TRANSLATION, d, t.lang, "-",
                                             f"{head}; no statement could be named"))  # fmt: skip
                for item, why in items:
                    out.append(self._finding(FindingKind.OUTDATED_TRANSLATION, d, t.lang, item,
                                             f"{head}; {why}"))  # fmt: skip
        return out

    def _guess_changed(self, d: DocumentFacts, lang: str, src_lang: str) -> list[tuple[str, str]]:
        """Without the old source version: statements whose source names a number the
        translation lacks, that the translation lacks, or whose source grew much longer
        than the document's usual length ratio between the two languages."""
        pairs = []
        out: list[tuple[str, str]] = []
        for st in self.by_doc[d.id]:
            src, tr = st.text(src_lang), st.text(lang)
            if src and not tr:
                out.append((st.item_id, f"{src_lang} {st.item_id} has no {lang} text"))
            elif src and tr:
                pairs.append((st, src, tr))
        ratios = [len(src) / max(len(tr), 1) for _, src, tr in pairs]
        usual = statistics.median(ratios) if ratios else 1.0
        for (st, src, tr), ratio in zip(pairs, ratios, strict=True):
            lost = sorted(numbers(src) - numbers(tr), key=lambda n: float(n))
            if lost:
                out.append((st.item_id, f"{src_lang} {st.item_id} names {', '.join(lost)}, "
                                        f"which {lang} {st.item_id} does not"))  # fmt: skip
            elif ratio >= self.config.length_ratio * usual:
                out.append((st.item_id, f"{src_lang} {st.item_id} is {ratio / usual:.1f}x "
                                        f"longer than usual against its {lang} text "
                                        "(text added)"))  # fmt: skip
        return out

    def current_translations(
        self,
    ) -> Iterator[tuple[DocumentFacts, VersionFacts, VersionFacts, StatementFacts,
                        StatementText, StatementText]]:  # fmt: skip
        """(document, source version, translation, statement, source text, translated text)
        for each statement of a translation that follows its source's current version."""
        for doc_id, sts in self.by_doc.items():
            d = self.docs[doc_id]
            for t in d.current.values():
                src = d.current.get(t.translation_of_lang or "")
                if src is None or not t.translation_of_version:
                    continue
                if not same_version(t.translation_of_version, src.version):
                    continue  # an outdated translation is reported as such
                for st in sts:
                    a = next((x for x in st.texts if x.lang == src.lang), None)
                    b = next((x for x in st.texts if x.lang == t.lang), None)
                    if a is not None and b is not None:
                        yield d, src, t, st, a, b

    def translation_drift(self) -> list[Finding]:
        """Statements whose translation is current (it follows the source's current
        version) and still requires something else: another number for the same unit,
        other sanctions, another escalation team (`search_api.coverage.drift`)."""
        out = []
        for d, src, t, st, a, b in self.current_translations():
            found = disagreements(a.text, a.lang, b.text, b.lang, st.kind)
            if not found:
                continue
            where = (f"{src.lang}@{src.version} {st.item_id} (line {a.line or '?'}) and "
                     f"{t.lang}@{t.version} {st.item_id} (line {b.line or '?'})")  # fmt: skip
            why = "; ".join(x.describe(src.lang, t.lang) for x in found)
            out.append(self._finding(
                FindingKind.TRANSLATION_DRIFT, d, langs([a.lang, b.lang]), st.item_id,
                f"{where} disagree although the translation is current: {why}",
            ))  # fmt: skip
        return out

    def review_dates(self) -> list[Finding]:
        out = []
        for d in self.docs.values():
            stale: dict[dt.date, list[str]] = defaultdict(list)
            due: dict[dt.date, list[str]] = defaultdict(list)
            for v in d.current.values():
                state = review_state(v.review_by, self.today, self.due_within_days)
                if state is ReviewState.STALE and v.review_by:
                    stale[v.review_by].append(v.lang)
                elif state is ReviewState.DUE_SOON and v.review_by:
                    due[v.review_by].append(v.lang)
            if stale:
                dates = ", ".join(x.isoformat() for x in sorted(stale))
                out.append(self._finding(FindingKind.STALE, d, langs(sum(stale.values(), [])),
                                         "-", f"review_by {dates} has passed"))  # fmt: skip
            if due:
                dates = ", ".join(x.isoformat() for x in sorted(due))
                out.append(self._finding(
                    FindingKind.DUE_SOON, d, langs(sum(due.values(), [])), "-",
                    f"review_by {dates} is within {self.due_within_days} days",
                ))  # fmt: skip
        return out

    def uncovered_policies(self) -> list[Finding]:
        """Each policy that no enforcement (escalation) item names in `applies_to`, judged in
        each language version on its own: a translation that lags behind may name others."""
        out = []
        checks = (
            (StatementKind.ENFORCEMENT, FindingKind.POLICY_WITHOUT_ENFORCEMENT, "enforcement"),
            (StatementKind.ESCALATION, FindingKind.POLICY_WITHOUT_ESCALATION, "escalation"),
        )
        for doc_id, sts in self.by_doc.items():
            d = self.docs[doc_id]
            policies = [s for s in sts if s.kind == StatementKind.POLICY.value]
            for kind, finding, word in checks:
                items = [s for s in sts if s.kind == kind.value]
                for p in policies:
                    missed = [
                        lang for lang in p.langs
                        if not any(p.key in s.applies_to_in(lang) for s in items)
                    ]  # fmt: skip
                    if not missed:
                        continue
                    coverage = "; ".join(
                        f"{s.item_id} covers {_items(s.applies_to_in(missed[0]))}"
                        for s in items
                        if s.applies_to_in(missed[0])
                    )
                    reason = f"no {word} item applies to {p.item_id} ({_short(_text_of(p), 60)})"
                    if coverage:
                        reason += f"; {coverage}"
                    out.append(self._finding(finding, d, langs(missed), p.item_id, reason))
        return out

    def missing_applies_to(self) -> list[Finding]:
        out = []
        dependent = {k.value for k in DEPENDENT_KINDS}
        for doc_id, sts in self.by_doc.items():
            d = self.docs[doc_id]
            for s in sts:
                missing = [lang for lang in s.langs if not s.applies_to_in(lang)]
                if s.kind in dependent and missing:
                    reason = f"{s.kind} {s.item_id} ({_short(_text_of(s), 60)}) has no applies_to"
                    guess = self._closest_policy(s, sts)
                    if guess:
                        reason += f"; it most likely belongs to {guess}"
                    out.append(
                        self._finding(FindingKind.MISSING_APPLIES_TO, d, langs(missing),
                                      s.item_id, reason)
                    )  # fmt: skip
        return out

    def _closest_policy(self, s: StatementFacts, sts: Sequence[StatementFacts]) -> str | None:
        """The policy sharing most content words with `s` (embedding cosine breaks ties)."""
        best: tuple[int, float, str] | None = None
        lang = "en" if s.text("en") else (s.texts[0].lang if s.texts else "en")
        mine = content_words(s.text(lang) or "", lang)
        for p in sts:
            if p.kind != StatementKind.POLICY.value:
                continue
            shared = len(mine & content_words(p.text(lang) or "", lang))
            score = (shared, self.similarity(s, p) or 0.0, p.item_id)
            if best is None or score[:2] > best[:2]:
                best = score
        return best[2] if best else None

    def dangling_links(self) -> list[Finding]:
        grouped: dict[tuple[str, str], list[LinkFacts]] = defaultdict(list)
        for link in self.facts.dangling:
            if link.doc_id in self.docs:
                grouped[(link.doc_id, link.item_id or link.section)].append(link)
        out = []
        for (doc_id, item), links in grouped.items():
            targets = sorted({lk.target for lk in links})
            why = []
            for target in targets:
                retired = any(lk.retired_target for lk in links if lk.target == target)
                why.append(f"[[{target}]], which " + ("has been retired" if retired else
                                                      "does not exist"))  # fmt: skip
            out.append(
                self._finding(FindingKind.DANGLING_LINK, self.docs[doc_id],
                              langs(lk.lang for lk in links), item, "links " + "; ".join(why))
            )  # fmt: skip
        return out

    def near_duplicates(self) -> list[Finding]:
        """Documents for different markets whose statements are nearly all the same; the
        finding names the statements that differ (or `-` when none does)."""
        cfg = self.config
        out = []
        for a, b in combinations(sorted(self.docs.values(), key=lambda d: d.id), 2):
            if ALL_MARKETS in a.markets or ALL_MARKETS in b.markets or markets_overlap(a, b):
                continue
            sa, sb = self.by_doc.get(a.id, []), self.by_doc.get(b.id, [])
            size = max(len(sa), len(sb))
            if size < cfg.duplicate_min_statements:
                continue
            if self._centroid_similarity(a.id, b.id) < cfg.duplicate_prefilter_cosine:
                continue
            same = [
                (x, y) for x, y, sim in self._mutual_best(sa, sb) if sim >= cfg.duplicate_cosine
            ]
            if len(same) / size < cfg.duplicate_share:
                continue
            diffs: list[tuple[StatementFacts | None, StatementFacts | None]] = []
            for x, y in same:
                pair = self._text_pair(x, y)
                if pair and mask_markets(pair[0]) != mask_markets(pair[2]):
                    diffs.append((x, y))
            matched_a = {x.key for x, _ in same}
            matched_b = {y.key for _, y in same}
            diffs += [(x, None) for x in sa if x.key not in matched_a]
            diffs += [(None, y) for y in sb if y.key not in matched_b]
            for doc, other, side in ((a, b, 0), (b, a, 1)):
                head = (f"same SOP as {other.id} for another market ({','.join(doc.markets)} "
                        f"here, {','.join(other.markets)} there): {len(same)} of {size} "
                        "statements match")  # fmt: skip
                mine = [(p[side], p[1 - side]) for p in diffs]
                notes = [self._difference(st, twin, other) for st, twin in mine]
                summary = "; ".join(notes) if notes else "no statement differs"
                only = "only " if len(notes) == 1 else ""
                rows = [(st, twin) for st, twin in mine if st is not None]
                if not rows:
                    out.append(self._finding(FindingKind.NEAR_DUPLICATE, doc, langs(doc.current),
                                             "-", f"{head}; {only}{summary}", (other.id,)))  # fmt: skip
                for st, twin in rows:
                    assert st is not None
                    related = (f"{other.id}#{twin.item_id}",) if twin is not None else (other.id,)
                    out.append(self._finding(FindingKind.NEAR_DUPLICATE, doc, langs(st.langs),
                                             st.item_id, f"{head}; {only}{summary}", related))  # fmt: skip
        return out

    def _difference(
        self, st: StatementFacts | None, twin: StatementFacts | None, other: DocumentFacts
    ) -> str:
        if st is None:
            assert twin is not None
            return f"{twin.item_id} is only in {other.id}"
        if twin is None:
            return f"{st.item_id} has no counterpart in {other.id}"
        pair = self._text_pair(st, twin)
        nums = ""
        if pair:
            mine, theirs = numbers(pair[0]) - numbers(pair[2]), numbers(pair[2]) - numbers(pair[0])
            if mine or theirs:
                nums = (f" ({','.join(sorted(mine, key=float)) or '-'} here, "
                        f"{','.join(sorted(theirs, key=float)) or '-'} there)")  # fmt: skip
        return f"{st.item_id} differs{nums}"

    def contradictions(self) -> list[Finding]:
        """Mutually nearest statements of one kind, in documents of one topic and a shared
        market, that require different things: other first-offence sanctions (enforcement),
        or other numbers for the same unit."""
        cfg = self.config
        out = []
        for a, b in combinations(sorted(self.docs.values(), key=lambda d: d.id), 2):
            shared = markets_overlap(a, b)
            if a.topic != b.topic or not shared:
                continue
            for x, y, sim in self._mutual_best(
                self.by_doc.get(a.id, []), self.by_doc.get(b.id, [])
            ):
                if sim < cfg.contradiction_cosine:
                    continue
                pair = self._text_pair(x, y)
                if pair is None:
                    continue
                ta, la, tb, lb = pair
                why = None
                if x.kind == StatementKind.ENFORCEMENT.value:
                    fa = first_offence(ta, la) - SOFT_SANCTIONS
                    fb = first_offence(tb, lb) - SOFT_SANCTIONS
                    if fa and fb and fa != fb:
                        why = (f"first offence: {a.id} {x.item_id} = {describe_sanctions(fa)}; "
                               f"{b.id} {y.item_id} = {describe_sanctions(fb)}")  # fmt: skip
                    ta, tb = first_stage(ta, la), first_stage(tb, lb)
                if why is None and sim >= cfg.contradiction_numbers_cosine and la == lb:
                    conflicts = conflicting_numbers(ta, tb)
                    if conflicts:
                        why = "; ".join(f"{a.id} {x.item_id} says {n1} {u}, {b.id} {y.item_id} "
                                        f"says {n2} {u}" for u, n1, n2 in conflicts)  # fmt: skip
                if why is None:
                    continue
                where = ",".join(sorted(shared))
                for doc, st, other, twin in ((a, x, b, y), (b, y, a, x)):
                    reason = (f"same kind ({st.kind}), topic {doc.topic} and market {where} as "
                              f"{other.id} {twin.item_id}, its nearest statement "
                              f"(cosine {sim:.3f}); {why}")  # fmt: skip
                    out.append(self._finding(FindingKind.CONTRADICTION, doc, langs(st.langs),
                                             st.item_id, reason, (f"{other.id}#{twin.item_id}",)))  # fmt: skip
        return out

    # --- the topic-by-market matrix -----------------------------------------------------
    def matrix(self) -> list[MatrixRow]:
        rows = []
        for t in self.facts.topics:
            docs = [
                d for d in self.docs.values()
                if d.topic == t.path or d.topic.startswith(t.path + "/")
            ]  # fmt: skip
            cells = {m: sorted(d.id for d in docs if covers(d, m)) for m in MARKETS}
            rows.append(
                MatrixRow(
                    path=t.path,
                    en=t.en or t.path,
                    ja=t.ja or t.path,
                    depth=t.path.count("/"),
                    leaf=t.leaf,
                    documents=sorted(d.id for d in docs),
                    cells=cells,
                )
            )
        return rows


@dataclass(frozen=True)
class MatrixRow:
    """One topic of the taxonomy: which active documents cover it in each market (a
    document for ALL covers every market; a topic covers its subtopics' documents)."""

    path: str
    en: str
    ja: str
    depth: int
    leaf: bool
    documents: list[str]
    cells: dict[str, list[str]]  # market -> document ids

    @property
    def state(self) -> str:
        """covered (every market), partial (some), none."""
        filled = sum(1 for v in self.cells.values() if v)
        return "covered" if filled == len(self.cells) else "partial" if filled else "none"

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "en": self.en,
            "ja": self.ja,
            "depth": self.depth,
            "leaf": self.leaf,
            "state": self.state,
            "documents": self.documents,
            "markets": self.cells,
        }


def _text_of(st: StatementFacts) -> str:
    """The statement's English text, else its first one."""
    return st.text("en") or (st.texts[0].text if st.texts else "")


def _items(keys: Iterable[str]) -> str:
    return ",".join(k.split("#", 1)[-1] for k in keys)


def _retags(c: Change) -> str:
    """What a statement's attribute block changed: `applies_to p2 -> p2,p3; attributes
    severity=high -> severity=medium`."""
    return "; ".join(f"{name} {before} -> {after}" for name, before, after in c.retags())


def _describe_change(lang: str, c: Change) -> str:
    item = c.item_id or c.section
    if c.change is ChangeKind.ADDED:
        return f"{lang} {item} added: {_short(c.new_text or '')}"
    if c.change is ChangeKind.REMOVED:
        return f"{lang} {item} removed: {_short(c.old_text or '')}"
    if c.change is ChangeKind.RETAGGED:
        return f"{lang} {item} retagged: {_retags(c)}"
    links = f" ({retags})" if (retags := _retags(c)) else ""
    return (
        f"{lang} {item} reworded: {_short(c.old_text or '')} -> {_short(c.new_text or '')}" + links
    )
