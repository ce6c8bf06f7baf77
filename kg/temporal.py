"""Dates as the graph returns them (neo4j.time values), as Python dates."""

from __future__ import annotations

import datetime as dt
from typing import Any


def _native(v: Any) -> Any:
    to_native = getattr(v, "to_native", None)
    return to_native() if callable(to_native) else v


def to_date(v: Any) -> dt.date | None:
    """Neo4j Date / DateTime, datetime.date / datetime or an ISO string -> datetime.date."""
    if v is None:
        return None
    v = _native(v)
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str):
        return dt.date.fromisoformat(v[:10])
    raise ValueError(f"not a date: {v!r}")


def to_datetime(v: Any) -> dt.datetime | None:
    """Neo4j DateTime, datetime or an ISO string -> datetime.datetime."""
    if v is None:
        return None
    v = _native(v)
    if isinstance(v, dt.datetime):
        return v
    return dt.datetime.fromisoformat(str(v))
