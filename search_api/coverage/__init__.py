"""Coverage and governance: coverage findings and the topic-by-market matrix, the owner
dashboard, unanswered search demand, and the change feed.

- `findings`: the checks (one finding kind each, see `ontology.governance.FindingKind`);
- `signals`: the small text signals they use (numbers, sanctions, market names);
- `demand`: unanswered searches from the query log, grouped;
- `changes`: version-to-version diffs by section and statement;
- `report`: the report and the owner dashboard; `render`: Markdown and HTML.

The graph is read through `kg.coverage.CoverageReader`; nothing here speaks Cypher.
"""

from __future__ import annotations

from search_api.coverage.changes import Change, VersionChanges, change_feed, diff_passages
from search_api.coverage.demand import Demand, demand
from search_api.coverage.findings import CoverageConfig, Finding, MatrixRow
from search_api.coverage.report import (
    CoverageReport,
    DocumentStatus,
    OwnerDashboard,
    build_report,
    owner_dashboard,
)

__all__ = [
    "Change",
    "CoverageConfig",
    "CoverageReport",
    "Demand",
    "DocumentStatus",
    "Finding",
    "MatrixRow",
    "OwnerDashboard",
    "VersionChanges",
    "build_report",
    "change_feed",
    "demand",
    "diff_passages",
    "owner_dashboard",
]
