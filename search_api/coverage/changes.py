"""The change feed: what each new version of a document changed, by section and statement.

Old versions stay in the graph with their passages (see `kg.write_queries.UPSERT_VERSION`),
linked by PREVIOUS_VERSION, so a version is diffed against the one it replaced:

- statements align by their key (`<doc>#<item id>`), the same in every version;
- section paragraphs align by section (anchor, or order) and paragraph position;
- a unit in the new version only is `added`, in the old only `removed`, in both with other
  text `reworded` (both texts given), and a statement with the same text whose attribute
  block changed (`applies_to` names other statements, another `severity`) `retagged`;
  unchanged units are not listed. A reworded or retagged statement whose `applies_to` or
  other attributes changed gives both lists (item ids; `key=value`).

Each changed statement carries `recent_searches`: how many logged searches of the last days
(`SOPKG_RECENT_SEARCHES_DAYS`) showed it among their results, in either language, and their
commonest query texts: who got an answer that has now changed.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from math import inf
from typing import Any

from kg.coverage import CoverageReader, PassageFacts, VersionEvent
from ontology.governance import ChangeKind

_SPACES = " \t\n"


TOP_QUERIES = 5  # query texts listed with a change's recent searches


@dataclass(frozen=True)
class RecentSearches:
    """Logged searches since `since` whose results showed a statement."""

    count: int
    queries: tuple[tuple[str, int], ...]  # (query text, how many times), commonest first
    days: int

    @classmethod
    def of(cls, texts: Sequence[str], days: int) -> RecentSearches:
        counts = Counter(" ".join(t.split()) for t in texts)
        top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_QUERIES]
        return cls(len(texts), tuple(top), days)

    def as_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "days": self.days,
            "queries": [{"query": q, "count": n} for q, n in self.queries],
        }


@dataclass(frozen=True)
class Change:
    change: ChangeKind
    section: str  # the section's anchor or alignment key
    heading: str | None  # the section heading (new version's, else the old one's)
    item_id: str | None  # statement item id; None for a section paragraph
    statement_key: str | None
    kind: str | None  # statement kind, else section kind
    old_text: str | None
    new_text: str | None
    recent_searches: RecentSearches | None = None  # statements only
    # The item ids `applies_to` named before and after, when they differ (else None).
    old_applies_to: tuple[str, ...] | None = None
    new_applies_to: tuple[str, ...] | None = None
    # The item's other attributes (`severity=high`) before and after, when they differ.
    old_attributes: tuple[str, ...] | None = None
    new_attributes: tuple[str, ...] | None = None

    def retags(self) -> list[tuple[str, str, str]]:
        """(field, before, after) for each part of the attribute block that changed, the
        lists comma-joined (`-` when empty): `("attributes", "severity=high",
        "severity=medium")`."""
        return [
            (name, ",".join(old or ()) or "-", ",".join(new or ()) or "-")
            for name, old, new in (
                ("applies_to", self.old_applies_to, self.new_applies_to),
                ("attributes", self.old_attributes, self.new_attributes),
            )
            if old is not None or new is not None
        ]

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["change"] = self.change.value
        for key in ("old_applies_to", "new_applies_to", "old_attributes", "new_attributes"):
            out[key] = list(out[key]) if out[key] is not None else None
        out["recent_searches"] = self.recent_searches.as_json() if self.recent_searches else None
        return out


@dataclass
class VersionChanges:
    """One new version of one language of a document, against the version it replaced."""

    doc_id: str
    lang: str
    version: str
    title: str | None
    effective: dt.date | None
    previous_version: str | None  # None: the first version the graph holds
    previous_effective: dt.date | None
    owner: str | None
    topic: str | None
    markets: tuple[str, ...]
    current: bool
    changes: list[Change] = field(default_factory=list)

    @property
    def new_document(self) -> bool:
        return self.previous_version is None

    @property
    def recent_searches(self) -> int:
        """Recent searches that showed a statement this version changed (a search that
        showed several counts once for each)."""
        return sum(c.recent_searches.count for c in self.changes if c.recent_searches)

    def counts(self) -> dict[str, int]:
        out = {k.value: 0 for k in ChangeKind}
        for c in self.changes:
            out[c.change.value] += 1
        return out

    def as_json(self) -> dict[str, Any]:
        return {
            "doc_id": self.doc_id,
            "lang": self.lang,
            "version": self.version,
            "title": self.title,
            "effective": self.effective.isoformat() if self.effective else None,
            "previous_version": self.previous_version,
            "previous_effective": (
                self.previous_effective.isoformat() if self.previous_effective else None
            ),
            "new_document": self.new_document,
            "owner": self.owner,
            "topic": self.topic,
            "markets": list(self.markets),
            "current": self.current,
            "counts": self.counts(),
            "recent_searches": self.recent_searches,
            "changes": [c.as_json() for c in self.changes],
        }


def unit_of(p: PassageFacts) -> str:
    """What a passage stands for across versions: its statement, else its place."""
    return p.statement_key or f"{p.section}/{p.suffix}"


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


def _differ(
    old: tuple[str, ...] | None, new: tuple[str, ...] | None, strip: bool = False
) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """(before, after) when both versions record the list and it differs as a set; else
    None. `strip`: statement keys shown as item ids."""
    if old is None or new is None or set(old) == set(new):
        return None
    if strip:
        return tuple(k.split("#", 1)[-1] for k in old), tuple(k.split("#", 1)[-1] for k in new)
    return old, new


def diff_passages(old: Sequence[PassageFacts], new: Sequence[PassageFacts]) -> list[Change]:
    """Statements and paragraphs added, removed, reworded or retagged from `old` to `new`,
    in the new version's order (a removed unit where it stood)."""
    before = {unit_of(p): p for p in old}
    after = {unit_of(p): p for p in new}
    section_order = {p.section: p.section_order for p in old}
    section_order.update({p.section: p.section_order for p in new})
    out: list[tuple[tuple[int, float], Change]] = []
    for unit, p in after.items():
        q = before.get(unit)
        links = _differ(q.applies_to, p.applies_to, strip=True) if q is not None else None
        attrs = _differ(q.attributes, p.attributes) if q is not None else None
        if q is None:
            kind = ChangeKind.ADDED
        elif not _same(q.text, p.text):
            kind = ChangeKind.REWORDED
        elif links or attrs:
            kind = ChangeKind.RETAGGED
        else:
            continue
        change = Change(
            change=kind,
            section=p.section,
            heading=p.heading,
            item_id=p.item_id,
            statement_key=p.statement_key,
            kind=p.statement_kind or p.section_kind,
            old_text=q.text if q is not None else None,
            new_text=p.text,
            old_applies_to=links[0] if links else None,
            new_applies_to=links[1] if links else None,
            old_attributes=attrs[0] if attrs else None,
            new_attributes=attrs[1] if attrs else None,
        )
        out.append(((p.section_order, p.order), change))
    followers = _followers(old, after)
    for unit, q in before.items():
        if unit in after:
            continue
        change = Change(
            change=ChangeKind.REMOVED,
            section=q.section,
            heading=q.heading,
            item_id=q.item_id,
            statement_key=q.statement_key,
            kind=q.statement_kind or q.section_kind,
            old_text=q.text,
            new_text=None,
        )
        # Where it stood: just before the unit that followed it and is still there (in
        # the new version's numbering), else after the rest of its section.
        nxt = followers.get(unit)
        at = (nxt.section_order, nxt.order - 0.5) if nxt else (section_order[q.section], inf)
        out.append((at, change))
    return [c for _, c in sorted(out, key=lambda x: x[0])]  # stable: old order among ties


def _followers(
    old: Sequence[PassageFacts], after: Mapping[str, PassageFacts]
) -> dict[str, PassageFacts]:
    """For each unit of `old`, the first unit after it in its section that `after` still
    has, as `after` holds it."""
    out: dict[str, PassageFacts] = {}
    ordered = sorted(old, key=lambda p: (p.section_order, p.order))
    for i, q in enumerate(ordered):
        later = (r for r in ordered[i + 1 :] if r.section == q.section and unit_of(r) in after)
        nxt = next(later, None)
        if nxt is not None:
            out[unit_of(q)] = after[unit_of(nxt)]
    return out


def statement_changes(changes: Sequence[Change]) -> list[Change]:
    return [c for c in changes if c.statement_key]


def change_feed(
    reader: CoverageReader,
    since: dt.date,
    until: dt.date | None = None,
    doc_id: str | None = None,
    owner: str | None = None,
    searches_days: int | None = None,
    now: dt.datetime | None = None,
) -> list[VersionChanges]:
    """Every version that took effect in [since, until], newest first, with its changes;
    with `searches_days`, each changed statement with its recent searches (the query log's
    searches of the `searches_days` days before `now` that showed it)."""
    events: list[VersionEvent] = [
        e
        for e in reader.versions_since(since, until)
        if (doc_id is None or e.doc_id == doc_id) and (owner is None or e.owner == owner)
    ]
    keys = sorted({e.key for e in events} | {e.previous_key for e in events if e.previous_key})
    passages = reader.version_passages(keys) if keys else {}
    out = []
    for e in events:
        item = VersionChanges(
            doc_id=e.doc_id,
            lang=e.lang,
            version=e.version,
            title=e.title,
            effective=e.effective,
            previous_version=e.previous_version,
            previous_effective=e.previous_effective,
            owner=e.owner,
            topic=e.topic,
            markets=e.markets,
            current=e.current,
        )
        if e.previous_key:
            item.changes = diff_passages(passages.get(e.previous_key, []), passages[e.key])
        out.append(item)
    if searches_days is not None:
        _add_recent_searches(reader, out, searches_days, now or dt.datetime.now(dt.UTC))
    return out


def _add_recent_searches(
    reader: CoverageReader, feed: list[VersionChanges], days: int, now: dt.datetime
) -> None:
    keys = sorted({c.statement_key for v in feed for c in v.changes if c.statement_key})
    shown = reader.recent_searches(keys, now - dt.timedelta(days=days)) if keys else {}
    for v in feed:
        v.changes = [
            replace(c, recent_searches=RecentSearches.of(shown.get(c.statement_key, []), days))
            if c.statement_key
            else c
            for c in v.changes
        ]


def most_searched(
    feed: Sequence[VersionChanges], limit: int = 10
) -> list[tuple[VersionChanges, Change]]:
    """The statement changes whose old answers the most recent searches showed, most first
    (changes no search showed left out)."""
    pairs = [
        (v, c) for v in feed for c in v.changes if c.recent_searches and c.recent_searches.count
    ]
    pairs.sort(key=lambda vc: (-vc[1].recent_searches.count, vc[0].doc_id, vc[1].item_id or ""))  # type: ignore[union-attr]
    return pairs[:limit]
