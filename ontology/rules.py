"""Domain rules that every layer applies the same way: version order, translation status,
review dates. Pure functions, no I/O: lint, the graph writer, search cards, coverage and
the web pages all call these, so they cannot disagree (docs/lint-rules.md promises that
"2" and "2.0" are the same version, and that promise holds everywhere only if it is
written once)."""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum

_DIGITS = re.compile(r"\d+")


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_day(text: str) -> dt.date:
    """A date as the API, the command line and the pages take one: YYYY-MM-DD (Python's
    own parser would also take 20260101 and 2026-W01-1). ValueError says why not."""
    if not _DAY.fullmatch(text):
        raise ValueError(f"must be a date YYYY-MM-DD, got {text!r}")
    try:
        return dt.date.fromisoformat(text)
    except ValueError as e:
        raise ValueError(f"no such day: {text!r} ({e})") from None


def version_key(version: str | None) -> tuple[int, ...]:
    """ "2.3" -> (2, 3); trailing zeros dropped so that "2" and "2.0" are one version, and
    numbers compare as numbers ("1.10" is newer than "1.9")."""
    parts = [int(x) for x in _DIGITS.findall(version or "")]
    while parts and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def compare_versions(a: str, b: str) -> int:
    """-1, 0 or 1 as version `a` is older than, the same as or newer than `b`.

    Versions without digits cannot be ordered: any difference counts as older, so that a
    translation following another text than its source's current one is reported.
    """
    if a == b:
        return 0
    if not (_DIGITS.search(a) and _DIGITS.search(b)):
        return -1
    ka, kb = version_key(a), version_key(b)
    return (ka > kb) - (ka < kb)


def same_version(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and compare_versions(a, b) == 0


class TranslationStatus(StrEnum):
    """Where a translation stands against its source's current version."""

    ORIGINAL = "original"  # not a translation (no translation_of)
    CURRENT = "current"
    OUTDATED = "outdated"  # follows an older version of the source
    AHEAD = "ahead"  # follows a version newer than the source's current one
    NO_SOURCE = "no-source"  # the source language has no current version


def translation_status(
    followed_version: str | None, source_current_version: str | None
) -> TranslationStatus:
    """The status of a translation that follows `followed_version` of a source whose
    current version is `source_current_version`."""
    if not followed_version:
        return TranslationStatus.ORIGINAL
    if not source_current_version:
        return TranslationStatus.NO_SOURCE
    order = compare_versions(followed_version, source_current_version)
    if order < 0:
        return TranslationStatus.OUTDATED
    return TranslationStatus.AHEAD if order > 0 else TranslationStatus.CURRENT


def is_outdated_translation(
    followed_version: str | None, source_current_version: str | None
) -> bool:
    return (
        translation_status(followed_version, source_current_version) is TranslationStatus.OUTDATED
    )


class ReviewState(StrEnum):
    OK = "ok"
    DUE_SOON = "due-soon"
    STALE = "stale"
    UNKNOWN = "unknown"  # no review_by date


def review_state(review_by: dt.date | None, today: dt.date, due_within_days: int) -> ReviewState:
    """A document is stale once its review_by date has passed, and due soon from today
    until `due_within_days` days ahead (both ends included)."""
    if review_by is None:
        return ReviewState.UNKNOWN
    if review_by < today:
        return ReviewState.STALE
    if review_by <= today + dt.timedelta(days=due_within_days):
        return ReviewState.DUE_SOON
    return ReviewState.OK


def is_stale(review_by: dt.date | None, today: dt.date) -> bool:
    return review_state(review_by, today, 0) is ReviewState.STALE


def is_due_soon(review_by: dt.date | None, today: dt.date, due_within_days: int) -> bool:
    return review_state(review_by, today, due_within_days) is ReviewState.DUE_SOON
