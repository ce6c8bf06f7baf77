"""What the served OpenAPI schema says beyond the models: an example on every request and
response body, and the error envelope as the schema of every 422.

The response examples (`openapi_examples.json`) are real answers of the API on the test
corpus (tests/data/mini_corpus), lists cut to their first items; a unit test validates
each against its model, so a model change that outdates one fails the suite
(`python -m tests.e2e.refresh_openapi_examples` writes them again).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

EXAMPLES_FILE = Path(__file__).with_name("openapi_examples.json")
ERROR_REF = "#/components/schemas/ErrorBody"


@cache
def response_examples() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(EXAMPLES_FILE.read_text(encoding="utf-8"))
    return data


def add_examples(schema: dict[str, Any]) -> None:
    components = schema.get("components", {}).get("schemas", {})
    for name, example in response_examples().items():
        if name in components and not components[name].get("examples"):
            components[name]["examples"] = [example]
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            for status, response in operation.get("responses", {}).items():
                body = response.get("content", {}).get("application/json")
                if body is None:
                    continue
                # Request validation errors answer with the one error envelope
                # (search_api.errors), not FastAPI's default body.
                if status == "422" and body["schema"].get("$ref", "").endswith(
                    "/HTTPValidationError"
                ):
                    body["schema"] = {"$ref": ERROR_REF}
    for unused in ("HTTPValidationError", "ValidationError"):
        if not _referenced(schema, f"#/components/schemas/{unused}"):
            components.pop(unused, None)


def _referenced(schema: dict[str, Any], ref: str) -> bool:
    return f'"{ref}"' in json.dumps(schema)
