"""A typed Python client generated from the served /openapi.json with a standard OpenAPI
generator (openapi-python-client, a dev dependency), with no hand edits, used against the
live server: search, a document, coverage with an owner key, and the refusals 401, 403
and 422 parsed as the error envelope."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import ADMIN_KEY, OWNER_KEY, READER_KEY

pytestmark = pytest.mark.e2e

PACKAGE = "sopkg_api_client"


@pytest.fixture(scope="module")
def generated(api_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    work = tmp_path_factory.mktemp("client")
    spec = work / "openapi.json"
    spec.write_bytes(httpx.get(f"{api_url}/openapi.json", timeout=60).content)
    out = work / PACKAGE
    done = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(spec),
         "--meta", "none", "--output-path", str(out)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    # The generator warns about every part of the schema it could not turn into code.
    assert "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr
    sys.path.insert(0, str(work))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(work))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def mod(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


def client(generated: ModuleType, api_url: str, key: str | None) -> Any:
    headers = {"X-API-Key": key} if key else {}
    return generated.Client(base_url=api_url, headers=headers, timeout=httpx.Timeout(60))


def test_search_and_document_through_the_generated_client(
    generated: ModuleType, api_url: str
) -> None:
    models = mod("models")
    search = mod("api.search.search_v1_search_post")
    with client(generated, api_url, READER_KEY) as c:
        r = search.sync_detailed(
            client=c, body=models.SearchRequest(query="コピー品 出品", market="JP", limit=3)
        )
        assert r.status_code == 200
        body = r.parsed
        assert isinstance(body, models.SearchResponse)
        assert body.results[0].unit.key == "mini-fakes#p1"
        assert body.results[0].citation.doc_id == "mini-fakes"
        assert isinstance(body.results[0].score, float)

        document = mod("api.browse.document_v1_documents_doc_id_get")
        doc = document.sync(client=c, doc_id="mini-fakes")
        assert isinstance(doc, models.DocumentResponse)
        assert doc.id == "mini-fakes" and {v.lang for v in doc.versions} == {"en", "ja"}


def test_coverage_with_an_owner_key_and_the_bearer_scheme(
    generated: ModuleType, api_url: str
) -> None:
    models = mod("models")
    coverage = mod("api.governance.coverage_v1_coverage_get")
    with client(generated, api_url, OWNER_KEY) as c:
        report = coverage.sync(client=c)
    assert isinstance(report, models.CoverageResponse)
    assert any(f.kind == "missing-translation" for f in report.findings)
    with generated.AuthenticatedClient(base_url=api_url, token=ADMIN_KEY) as c:
        assert isinstance(coverage.sync(client=c), models.CoverageResponse)


def test_refusals_come_back_as_typed_error_bodies(generated: ModuleType, api_url: str) -> None:
    models = mod("models")
    search = mod("api.search.search_v1_search_post")
    coverage = mod("api.governance.coverage_v1_coverage_get")
    with client(generated, api_url, None) as c:
        r = search.sync_detailed(client=c, body=models.SearchRequest(query="counterfeit"))
    assert r.status_code == 401
    assert isinstance(r.parsed, models.ErrorBody) and r.parsed.error.code == "unauthorized"
    with client(generated, api_url, READER_KEY) as c:
        r = coverage.sync_detailed(client=c)
        assert r.status_code == 403
        assert isinstance(r.parsed, models.ErrorBody) and r.parsed.error.code == "forbidden"
        r = search.sync_detailed(client=c, body=models.SearchRequest(query="   "))
        assert r.status_code == 422
        assert isinstance(r.parsed, models.ErrorBody)
        assert [f.field for f in r.parsed.error.fields] == ["query"]
