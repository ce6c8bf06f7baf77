"""How long work reports how far it is: a callback the caller may pass in. Library code
calls it and never prints; the command line decides whether to draw a bar."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ProgressEvent:
    stage: str  # "ingest", "reembed", "eval:<mode>"
    done: int
    total: int
    unit: str  # what done and total count: "files", "passages", "queries"
    label: str = ""  # the item just finished (a document id, a passage key)
    passages: int = 0  # passages embedded so far in this stage


Progress = Callable[[ProgressEvent], None]
