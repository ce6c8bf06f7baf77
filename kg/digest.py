"""A fingerprint of the graph, to tell whether two graphs hold the same content.

Counts of nodes by label and relationships by type, the schema (indexes and constraints),
and per document one hash of everything it says: its own properties, each statement and
each passage of every version with its section, its version and what it states.
Properties that record *when* something was written (`*_at`, the write stamp `written`) and
embeddings (a function of the passage text) are left out, so a re-ingest of the same corpus
gives the same digest.
Used by the backup round-trip and fault tests, and printed by `sopkg restore`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from neo4j import Driver

LABEL_COUNTS = "MATCH (n) UNWIND labels(n) AS label RETURN label, count(*) AS n"
REL_COUNTS = "MATCH ()-[r]->() RETURN type(r) AS type, count(*) AS n"
INDEXES = (
    "SHOW INDEXES YIELD name, type, entityType, labelsOrTypes, properties, options "
    "RETURN name, type, entityType, labelsOrTypes, properties, options"
)
CONSTRAINTS = "SHOW CONSTRAINTS YIELD name, type, labelsOrTypes, properties RETURN *"
DOCUMENT_CONTENT = """
MATCH (d:Document)
CALL (d) {
  OPTIONAL MATCH (d)-[:HAS_STATEMENT]->(s:Statement)
  RETURN collect(s {.*, labels: labels(s)}) AS statements
}
CALL (d) {
  OPTIONAL MATCH (d)-[:HAS_VERSION]->(v:DocumentVersion)-[:HAS_SECTION]->(sec:Section)
                 -[:HAS_PASSAGE]->(p:Passage)
  OPTIONAL MATCH (p)-[:STATES]->(st:Statement)
  RETURN collect(p {.*, labels: labels(p), version: v {.*}, section: sec {.*},
                    states: st.key}) AS passages
}
RETURN d {.*} AS doc, statements, passages
"""

_LEFT_OUT = frozenset({"embedding", "written"})


@dataclass(frozen=True)
class GraphDigest:
    labels: dict[str, int]
    relationships: dict[str, int]
    schema: list[str]
    documents: dict[str, str]  # document id -> content hash
    passages: int = field(default=0)
    statements: int = field(default=0)

    def counts(self) -> dict[str, Any]:
        return {
            "nodes": self.labels,
            "relationships": self.relationships,
            "documents": len(self.documents),
        }


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _clean(v)
            for k, v in sorted(value.items())
            if k not in _LEFT_OUT and not k.endswith("_at")
        }
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _hash(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _canonical(items: list[dict[str, Any]]) -> list[Any]:
    return sorted((_clean(i) for i in items), key=lambda i: json.dumps(i, default=str))


def graph_digest(driver: Driver, database: str) -> GraphDigest:
    def rows(query: str) -> list[dict[str, Any]]:
        records, _, _ = driver.execute_query(query, database_=database)
        return [r.data() for r in records]

    documents: dict[str, str] = {}
    passages = statements = 0
    for r in rows(DOCUMENT_CONTENT):
        content = {
            "doc": _clean(r["doc"]),
            "statements": _canonical(r["statements"]),
            "passages": _canonical(r["passages"]),
        }
        documents[str(r["doc"]["id"])] = _hash(content)
        passages += len(r["passages"])
        statements += len(r["statements"])
    schema = sorted(_hash(_clean(r)) + " " + str(r["name"]) for r in rows(INDEXES))
    schema += sorted("constraint " + _hash(_clean(r)) for r in rows(CONSTRAINTS))
    return GraphDigest(
        labels={r["label"]: r["n"] for r in rows(LABEL_COUNTS)},
        relationships={r["type"]: r["n"] for r in rows(REL_COUNTS)},
        schema=schema,
        documents=dict(sorted(documents.items())),
        passages=passages,
        statements=statements,
    )
