"""Demand over time and findings per version, for the owners' charts and the JSON.

- Weekly demand: unanswered and weak searches per week (Monday to Sunday) over the last
  `WEEKS` weeks, by topic and by query language. "Unanswered" is a "no" answer or no
  results; "weak" is a search whose retrieval was not confident of its top result
  (`demand.why_unanswered`). The window ends at the week of `today` or of the newest
  logged search, whichever is later (the log's times are real, `today` may be fixed).
- Findings by version: the current findings of each kind on each version the change feed
  lists (a finding names its document and language versions; only current versions carry
  current findings, so older versions of the feed are left out).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ontology.governance import FindingKind

if TYPE_CHECKING:
    from search_api.coverage.demand import Unanswered

WEEKS = 12
KINDS = ("unanswered", "weak")


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def weekly_demand(
    unanswered: Sequence[Unanswered], today: dt.date, weeks: int = WEEKS
) -> dict[str, Any]:
    newest = max((u.entry.at.date() for u in unanswered), default=today)
    last = week_start(max(today, newest))
    starts = [last - dt.timedelta(weeks=weeks - 1 - i) for i in range(weeks)]
    index = {s: i for i, s in enumerate(starts)}

    def series(key_of: Any) -> list[dict[str, Any]]:
        counts: dict[str, dict[str, list[int]]] = defaultdict(
            lambda: {k: [0] * weeks for k in KINDS}
        )
        for u in unanswered:
            i = index.get(week_start(u.entry.at.date()))
            if i is None:
                continue
            kind = "weak" if u.why == "weak" else "unanswered"
            counts[key_of(u)][kind][i] += 1
        rows = [{"key": k, **v, "total": sum(map(sum, v.values()))} for k, v in counts.items()]
        return sorted(rows, key=lambda r: (-r["total"], r["key"]))

    return {
        "weeks": [s.isoformat() for s in starts],
        "by_topic": series(lambda u: u.topic),
        "by_language": series(lambda u: u.entry.query_lang or "-"),
    }


def findings_by_version(findings: Iterable[Any], versions: Iterable[Any]) -> list[dict[str, Any]]:
    """`findings` with `.kind`, `.doc`, `.lang`; `versions` with `.doc_id`, `.lang`,
    `.version`, `.effective`, `.current` (change-feed entries), oldest first."""
    per: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for f in findings:
        kind = f.kind.value if isinstance(f.kind, FindingKind) else str(f.kind)
        for lang in str(f.lang).split(","):
            per[(f.doc, lang.strip())][kind] += 1
    rows = []
    for v in sorted(versions, key=lambda v: (v.effective or dt.date.min, v.doc_id, v.lang)):
        if not v.current:
            continue
        counts = per.get((v.doc_id, v.lang), Counter())
        rows.append({
            "doc_id": v.doc_id, "lang": v.lang, "version": v.version,
            "effective": v.effective.isoformat() if v.effective else None,
            "counts": dict(sorted(counts.items())), "total": sum(counts.values()),
        })  # fmt: skip
    return rows
