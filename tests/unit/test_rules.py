"""The domain rules of ontology/rules.py, one table each."""

from __future__ import annotations

import datetime as dt

import pytest

from ontology.rules import (
    ReviewState,
    TranslationStatus,
    compare_versions,
    is_due_soon,
    is_outdated_translation,
    is_stale,
    review_state,
    same_version,
    translation_status,
    version_key,
)


@pytest.mark.parametrize(
    ("a", "b", "order"),
    [
        ("1.10", "1.9", 1),
        ("1.9", "1.10", -1),
        ("2", "2.0", 0),  # the same version, as docs/lint-rules.md promises
        ("2.0", "2", 0),
        ("2.0.0", "2", 0),
        ("v3.1", "3.1", 0),
        ("1.0", "1.0.1", -1),
        ("10", "9", 1),
        ("draft", "final", -1),  # no digits: any difference counts as older
        ("draft", "draft", 0),
    ],
)
def test_version_order(a: str, b: str, order: int) -> None:
    assert compare_versions(a, b) == order
    assert same_version(a, b) is (order == 0)


def test_version_key_drops_trailing_zeros() -> None:
    assert version_key("2.0") == version_key("2") == (2,)
    assert version_key(None) == ()


@pytest.mark.parametrize(
    ("followed", "source", "status"),
    [
        (None, "2.0", TranslationStatus.ORIGINAL),
        ("2", None, TranslationStatus.NO_SOURCE),
        ("2", "2.0", TranslationStatus.CURRENT),
        ("1.9", "2.0", TranslationStatus.OUTDATED),
        ("1.9", "1.10", TranslationStatus.OUTDATED),
        ("3", "2.1", TranslationStatus.AHEAD),
    ],
)
def test_translation_status(followed: str | None, source: str | None, status: str) -> None:
    assert translation_status(followed, source) is status
    assert is_outdated_translation(followed, source) is (status is TranslationStatus.OUTDATED)


TODAY = dt.date(2026, 11, 1)


@pytest.mark.parametrize(
    ("review_by", "state"),
    [
        (None, ReviewState.UNKNOWN),
        (TODAY - dt.timedelta(days=1), ReviewState.STALE),
        (TODAY, ReviewState.DUE_SOON),
        (TODAY + dt.timedelta(days=30), ReviewState.DUE_SOON),
        (TODAY + dt.timedelta(days=31), ReviewState.OK),
    ],
)
def test_review_state(review_by: dt.date | None, state: ReviewState) -> None:
    assert review_state(review_by, TODAY, 30) is state
    assert is_stale(review_by, TODAY) is (state is ReviewState.STALE)
    assert is_due_soon(review_by, TODAY, 30) is (state is ReviewState.DUE_SOON)
