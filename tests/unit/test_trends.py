"""The charts' data: weekly unanswered and weak searches, findings per version."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from kg.coverage import QueryLogEntry
from ontology.governance import FindingKind
from search_api.coverage.demand import Unanswered
from search_api.coverage.trends import findings_by_version, weekly_demand

TODAY = dt.date(2026, 6, 3)  # a Wednesday: its week starts on Monday 2026-06-01


def _u(days_ago: int, why: str, topic: str, lang: str) -> Unanswered:
    at = dt.datetime(2026, 6, 3, 12, tzinfo=dt.UTC) - dt.timedelta(days=days_ago)
    return Unanswered(QueryLogEntry(id=f"q{days_ago}{why}", at=at, query="q", query_lang=lang,
                                    mode="hybrid"), why, topic)  # fmt: skip


def test_weekly_demand_counts_per_week_topic_and_language() -> None:
    data = weekly_demand(
        [
            _u(0, "weak", "ipr", "ja"),
            _u(2, "feedback", "ipr", "en"),  # Monday: the same week
            _u(3, "no results", "sellers", "ja"),  # the Sunday before: the previous week
            _u(7 * 12, "weak", "ipr", "ja"),  # 12 weeks ago: outside the window
        ],
        TODAY,
    )
    assert len(data["weeks"]) == 12
    assert data["weeks"][-1] == "2026-06-01" and data["weeks"][0] == "2026-03-16"
    ipr, sellers = data["by_topic"]
    assert ipr["key"] == "ipr" and ipr["weak"][-1] == 1 and ipr["unanswered"][-1] == 1
    assert ipr["total"] == 2  # the one outside the window is left out
    assert sellers["unanswered"][-2] == 1 and sellers["total"] == 1
    langs = {r["key"]: r for r in data["by_language"]}
    assert langs["ja"]["weak"][-1] == 1 and langs["ja"]["unanswered"][-2] == 1


def test_the_window_follows_the_newest_search_when_today_is_fixed_earlier() -> None:
    data = weekly_demand([_u(0, "weak", "ipr", "ja")], dt.date(2026, 1, 1))
    assert data["weeks"][-1] == "2026-06-01"


@dataclass
class F:
    kind: FindingKind
    doc: str
    lang: str


@dataclass
class V:
    doc_id: str
    lang: str
    version: str
    effective: dt.date | None
    current: bool


def test_findings_by_version_counts_current_versions_only() -> None:
    rows = findings_by_version(
        [F(FindingKind.STALE, "a", "en,ja"), F(FindingKind.STALE, "a", "en"),
         F(FindingKind.DANGLING_LINK, "b", "ja")],
        [V("a", "en", "1.1", dt.date(2026, 4, 1), True), V("a", "en", "1.0", dt.date(2026, 1, 1), False),
         V("a", "ja", "1.0", dt.date(2026, 1, 1), True), V("b", "en", "2.0", dt.date(2026, 2, 1), True)],
    )  # fmt: skip
    assert [(r["doc_id"], r["lang"], r["version"]) for r in rows] == [
        ("a", "ja", "1.0"), ("b", "en", "2.0"), ("a", "en", "1.1")]  # fmt: skip
    assert rows[0]["counts"] == {"stale": 1} and rows[1]["total"] == 0
    assert rows[2]["counts"] == {"stale": 2}
