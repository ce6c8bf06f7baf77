"""Per-key token buckets (search_api.limits) and the limit settings."""

from __future__ import annotations

import pytest

from kg.settings import Settings
from search_api.limits import RateLimiter


def test_a_minutes_worth_at_once_then_the_rate() -> None:
    limiter = RateLimiter(per_minute=60)  # one a second
    assert [limiter.take("a", now=100.0) for _ in range(60)] == [0.0] * 60
    assert limiter.take("a", now=100.0) == pytest.approx(1.0)
    assert limiter.take("a", now=100.5) == pytest.approx(0.5)
    assert limiter.take("a", now=101.0) == 0.0  # refilled one
    assert limiter.take("b", now=101.0) == 0.0  # its own bucket
    assert limiter.take("a", now=1000.0) == 0.0  # full again, never above capacity
    assert sum(limiter.take("a", now=1000.0) == 0.0 for _ in range(100)) == 59


def test_limits_are_on_with_keys_and_off_in_open_mode_unless_set() -> None:
    keyed = Settings(_env_file=None, api_keys={"k" * 20: "reader"})  # type: ignore[call-arg]
    assert keyed.effective_rate_limit() == 1200
    assert Settings(_env_file=None, open_mode=True).effective_rate_limit() == 0  # type: ignore[call-arg]
    assert (
        Settings(_env_file=None, open_mode=True, rate_limit_per_minute=30).effective_rate_limit()
        == 30
    )  # type: ignore[call-arg]
    assert keyed.model_copy(update={"rate_limit_per_minute": 0}).effective_rate_limit() == 0
