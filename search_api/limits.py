"""Per-key request limits: 429 with Retry-After when a key goes over its rate.

Each API key (by name; open mode shares one) has a token bucket holding up to
`SOPKG_RATE_LIMIT_PER_MINUTE` requests, refilled at that many a minute: a client may send
a minute's worth at once, then keeps to the rate. Off (0) by default in open mode. The
limit is one dependency that `create_app` puts on the /v1 routers after authentication,
so a refused key (401, 403) never spends anything and routes hold no limit code.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from search_api.auth import Principal, principal


class RateLimiter:
    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self.rate = per_minute / 60.0  # tokens a second
        self._buckets: dict[str, tuple[float, float]] = {}  # name -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, name: str, now: float | None = None) -> float:
        """Spend one request of `name`'s bucket: 0.0 when allowed, else the seconds
        until the next one would be."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, at = self._buckets.get(name, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - at) * self.rate)
            if tokens >= 1.0:
                self._buckets[name] = (tokens - 1.0, now)
                return 0.0
            self._buckets[name] = (tokens, now)
            return (1.0 - tokens) / self.rate


def over_limit(limiter: RateLimiter | None, who: Principal) -> HTTPException | None:
    """The 429 to answer when `who` is over its rate (None when allowed or unlimited); the
    API's routes and the MCP endpoint spend from the same kind of bucket."""
    if limiter is None:
        return None
    wait = limiter.take(who.name)
    if wait <= 0:
        return None
    seconds = max(1, math.ceil(wait))
    return HTTPException(
        429,
        f"key {who.name!r} is over its limit of {limiter.per_minute} requests a minute; "
        f"retry in {seconds} s",
        headers={"Retry-After": str(seconds)},
    )


async def enforce_limit(request: Request, who: Annotated[Principal, Depends(principal)]) -> None:
    refusal = over_limit(getattr(request.app.state, "limiter", None), who)
    if refusal is not None:
        raise refusal
