"""Schema fuzzing: schemathesis generates requests from the served OpenAPI schema (valid
and invalid ones) and sends them over HTTP to the running API; no answer may be a server
error (5xx), and every answer must match the responses the schema declares.

The schemathesis pytest loader (`schemathesis.pytest.from_fixture`) does not run under
pytest 9.2 (it reads `Function._nodeid`), so each operation's Hypothesis strategy is
driven here directly (`APIOperation.as_strategy`).
"""

from __future__ import annotations

from collections.abc import Callable

import hypothesis
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.conftest import READER

pytestmark = pytest.mark.e2e

EXAMPLES = {schemathesis.GenerationMode.POSITIVE: 40, schemathesis.GenerationMode.NEGATIVE: 30}
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


def _fuzz(
    operation: schemathesis.APIOperation, mode: schemathesis.GenerationMode, n: int
) -> Callable[[], None]:
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis.settings(
        max_examples=n,
        deadline=None,
        database=None,  # no .hypothesis/ folder in the work tree
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate, hypothesis.Phase.shrink],
    )
    def run(case: schemathesis.Case) -> None:
        # As a reader: every route is reachable, and /v1/ingest answers 403 before it
        # could read a generated folder path from the server's disk.
        response = case.call(headers=READER, timeout=60)
        case.validate_response(response, checks=CHECKS)

    return run


def test_fuzz_every_operation(api_url: str) -> None:
    schema = schemathesis.openapi.from_url(f"{api_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    labels = {op.label for op in operations}
    assert {
        "POST /v1/search", "GET /v1/statements/{statement_id}", "POST /v1/ingest",
        "DELETE /v1/corpora/{name}",
    } <= labels  # fmt: skip
    failures: list[str] = []
    for operation in operations:
        takes_input = any(
            len(ps) for ps in (operation.path_parameters, operation.query, operation.body)
        )
        for mode, n in EXAMPLES.items():
            if mode is schemathesis.GenerationMode.NEGATIVE and not takes_input:
                continue  # nothing to make invalid (the probes)
            try:
                _fuzz(operation, mode, n)()
            except Exception as e:  # collect every operation's failure, then fail once
                failures.append(f"{operation.label} ({mode.value}): {e}")
    assert not failures, "\n\n".join(failures)
