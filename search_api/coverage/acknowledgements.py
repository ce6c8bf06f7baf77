"""Owners close the loop: an acknowledged finding leaves the open findings while it holds
(pure functions; the acknowledgements are stored through `kg.coverage.CoverageReader`).

An acknowledgement holds while
- the finding is still raised (same id: kind, document, languages, item), and
- the documents it concerns are unchanged: its `basis`, a digest of the content hashes of
  the current versions of the finding's document and of the documents on its other side
  (`related`), is the same as when it was given, and
- its expiry date, if any, has not passed.

Otherwise the finding is open again, and says why (`lapsed`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kg.coverage import Acknowledgement, DocumentFacts
from search_api.coverage.findings import Finding


def finding_basis(f: Finding, docs: Mapping[str, DocumentFacts]) -> str:
    """A digest of the current versions of the documents a finding concerns."""
    ids = sorted({f.doc, *(r.split("#", 1)[0] for r in f.related)})
    parts = []
    for doc_id in ids:
        d = docs.get(doc_id)
        versions = sorted(d.current.values(), key=lambda v: v.lang) if d else []
        parts += [f"{doc_id}:{v.lang}:{v.version}:{v.content_hash or ''}" for v in versions]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Lapsed:
    """An acknowledgement that no longer holds, and why."""

    ack: Acknowledgement
    why: str  # "expired" | "documents changed"

    def as_json(self) -> dict[str, Any]:
        return {**ack_json(self.ack), "why": self.why}


def ack_json(a: Acknowledgement) -> dict[str, Any]:
    return {
        "by": a.by,
        "role": a.role,
        "reason": a.reason,
        "at": a.at.isoformat() if a.at else None,
        "expires": a.expires.isoformat() if a.expires else None,
    }


@dataclass
class Triage:
    open: list[Finding]
    acknowledged: list[tuple[Finding, Acknowledgement]]
    lapsed: dict[str, Lapsed]  # finding id -> the acknowledgement that lapsed


def triage(
    findings: Sequence[Finding],
    acks: Sequence[Acknowledgement],
    docs: Mapping[str, DocumentFacts],
    today: dt.date,
) -> Triage:
    by_id = {a.finding_id: a for a in acks}
    out = Triage([], [], {})
    for f in findings:
        a = by_id.get(f.id)
        if a is None:
            out.open.append(f)
        elif a.expires is not None and a.expires < today:
            out.open.append(f)
            out.lapsed[f.id] = Lapsed(a, "expired")
        elif a.basis != finding_basis(f, docs):
            out.open.append(f)
            out.lapsed[f.id] = Lapsed(a, "documents changed")
        else:
            out.acknowledged.append((f, a))
    return out
