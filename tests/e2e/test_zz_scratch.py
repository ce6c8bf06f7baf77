import json
import pytest
from tests.e2e.conftest import READER, ADMIN
pytestmark = pytest.mark.e2e

def test_show(client):
    for body in [{"query": "コピー品", "topic": "ipx"}, {"query": "コピー品", "market": "XX"}, {"query": "   "}, {"query": "a"*501}, {"query":"x","extra":1}, {}]:
        r = client.post("/v1/search", json=body, headers=READER)
        print(r.status_code, r.text)
    r = client.post("/v1/search", json={"query": "コピー品 出品", "limit": 3}, headers=READER)
    print(json.dumps(r.json(), ensure_ascii=False, indent=1)[:6000])
    r = client.get("/v1/statements/mini-fakes.p1", headers=READER)
    print(json.dumps(r.json(), ensure_ascii=False, indent=1)[:3000])
    print(client.get("/v1/search", headers=READER).headers)
