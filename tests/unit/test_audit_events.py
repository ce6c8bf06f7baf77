"""Which finished requests the audit log records, and as what (search_api.audit)."""

from __future__ import annotations

import pytest

from search_api.audit import audit_event
from search_api.auth import Principal


@pytest.mark.parametrize(
    ("method", "path", "status", "event", "outcome"),
    [
        ("POST", "/v1/ingest", 200, "ingest", "ok"),
        ("POST", "/v1/ingest", 503, "ingest", "failed"),
        ("DELETE", "/v1/corpora/mini_corpus", 200, "corpus-removal", "ok"),
        ("DELETE", "/v1/corpora/nope", 404, "corpus-removal", "failed"),
        ("DELETE", "/v1/corpora/other", 403, "corpus-removal", "refused"),
        ("GET", "/v1/corpora", 403, "refused", "refused"),
        ("GET", "/v1/corpora", 200, None, None),
        ("GET", "/v1/corpora/mini_corpus", 404, None, None),
        ("POST", "/v1/search", 200, None, None),
    ],
)
def test_writes_and_refusals_are_audited(
    method: str, path: str, status: int, event: str | None, outcome: str | None
) -> None:
    scope = {
        "method": method,
        "path": path,
        "client": ("10.0.0.7", 5000),
        "state": {"principal": Principal(name="ops", role="admin")},
    }
    line = audit_event(scope, status)
    if event is None:
        assert line is None
        return
    assert line is not None
    assert (line["event"], line["outcome"], line["path"]) == (event, outcome, path)
    assert (line["key_name"], line["role"], line["client"]) == ("ops", "admin", "10.0.0.7")
