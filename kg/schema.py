"""Idempotent schema migration: constraints, indexes and the embedder record.

Only labels and property names from `ontology.schema` are interpolated into DDL (Cypher
cannot take them as parameters); every value goes in as a parameter.
"""

from __future__ import annotations

from dataclasses import dataclass

from neo4j import Driver

from kg.driver_errors import graph_errors
from kg.errors import EmbedderMismatch
from kg.write_queries import FORGET_EMBEDDER2_FULL
from ontology.schema import (
    CONSTRAINTS,
    FULLTEXT_INDEXES,
    LEGACY_VECTOR_INDEXES,
    RANGE_INDEXES,
    SCHEMA_VERSION,
    VECTOR2_INDEXES,
    VECTOR_INDEXES,
    VectorIndex,
)


@dataclass(frozen=True)
class EmbedderInfo:
    name: str
    dim: int


def _ddl() -> list[str]:
    out = [
        f"CREATE CONSTRAINT {c.name} IF NOT EXISTS FOR (n:{c.label}) REQUIRE n.{c.prop} IS UNIQUE"
        for c in CONSTRAINTS
    ]
    out += [
        f"CREATE INDEX {i.name} IF NOT EXISTS FOR (n:{i.label}) ON "
        f"({', '.join('n.' + p for p in i.props)})"
        for i in RANGE_INDEXES
    ]
    out += [
        f"CREATE FULLTEXT INDEX {f.name} IF NOT EXISTS FOR (n:{f.label}) ON EACH [n.{f.prop}] "
        f"OPTIONS {{indexConfig: {{`fulltext.analyzer`: '{f.analyzer}'}}}}"
        for f in FULLTEXT_INDEXES
    ]
    return out


def _vector_ddl(index: VectorIndex, dim: int) -> str:
    return (
        f"CREATE VECTOR INDEX {index.name} IF NOT EXISTS FOR (n:{index.label}) "
        f"ON n.{index.prop} OPTIONS {{indexConfig: {{`vector.dimensions`: {int(dim)}, "
        "`vector.similarity_function`: 'cosine'}}"
    )


GET_META = "MATCH (m:GraphMeta {name: 'graph'}) RETURN m.embedder AS embedder, m.dim AS dim"
SET_META = (
    "MERGE (m:GraphMeta {name: 'graph'}) "
    "SET m.embedder = $embedder, m.dim = $dim, m.schema_version = $schema_version"
)
VECTOR_INDEX_DIM = (
    "SHOW VECTOR INDEXES YIELD name, options WHERE name = $name "
    "RETURN options.indexConfig['vector.dimensions'] AS dim"
)
PASSAGE_COUNT = "MATCH (p:Passage) WHERE p.embedding IS NOT NULL RETURN count(p) AS n"

# The second vector space (ontology.schema.VECTOR2_INDEXES): `embedder2` is the model whose
# vectors `embedding2` holds; `embedder2_full` is set once every current passage has one
# (ingest.pipeline.backfill_second), and searched only then (kg.corpus_facts).
GET_META2 = "MATCH (m:GraphMeta {name: 'graph'}) RETURN m.embedder2 AS name"
SET_META2 = "MERGE (m:GraphMeta {name: 'graph'}) SET m.embedder2 = $name, m.dim2 = $dim"
# Vectors of another model cannot share an index with the new one's.
CLEAR_EMBEDDING2 = """
MATCH (p:Passage) WHERE p.embedding2 IS NOT NULL
CALL (p) { REMOVE p.embedding2 } IN TRANSACTIONS OF 5000 ROWS
"""


def recorded_embedder(driver: Driver, database: str) -> EmbedderInfo | None:
    recs, _, _ = driver.execute_query(GET_META, database_=database)
    if not recs or recs[0]["embedder"] is None:
        return None
    return EmbedderInfo(recs[0]["embedder"], int(recs[0]["dim"]))


def migrate(
    driver: Driver, database: str, embedder: EmbedderInfo, second: EmbedderInfo | None = None
) -> None:
    """Create what is missing; refuse to mix embeddings from different models. With
    `second`, also the second vector space's indexes; its vectors of another model are
    dropped (they are filled again by `ingest.pipeline.backfill_second`)."""
    with graph_errors():
        _migrate(driver, database, embedder)
        if second is not None:
            _migrate_second(driver, database, second)


def _ensure_vector_index(driver: Driver, database: str, index: VectorIndex, dim: int) -> None:
    recs, _, _ = driver.execute_query(VECTOR_INDEX_DIM, name=index.name, database_=database)
    if recs and int(recs[0]["dim"]) != dim:
        driver.execute_query(f"DROP INDEX {index.name} IF EXISTS", database_=database)
    driver.execute_query(_vector_ddl(index, dim), database_=database)


def _migrate_second(driver: Driver, database: str, second: EmbedderInfo) -> None:
    recs, _, _ = driver.execute_query(GET_META2, database_=database)
    known = recs[0]["name"] if recs else None
    if known is not None and known != second.name:
        driver.execute_query(FORGET_EMBEDDER2_FULL, database_=database)
        with driver.session(database=database) as s:
            s.run(CLEAR_EMBEDDING2).consume()
    for index in VECTOR2_INDEXES.values():
        _ensure_vector_index(driver, database, index, second.dim)
    driver.execute_query(SET_META2, name=second.name, dim=second.dim, database_=database)
    driver.execute_query("CALL db.awaitIndexes(120)", database_=database)


def _migrate(driver: Driver, database: str, embedder: EmbedderInfo) -> None:
    for stmt in _ddl():
        driver.execute_query(stmt, database_=database)
    known = recorded_embedder(driver, database)
    if known is not None and known != embedder:
        recs, _, _ = driver.execute_query(PASSAGE_COUNT, database_=database)
        if recs[0]["n"] > 0:
            raise EmbedderMismatch(
                f"the graph was embedded with {known.name} ({known.dim} dimensions) but the "
                f"configured embedder is {embedder.name} ({embedder.dim}); run `sopkg reembed` "
                "to re-embed it, or configure the original embedder"
            )
    for index in VECTOR_INDEXES.values():
        # Graphs written before per-language labels existed get them here (idempotent).
        driver.execute_query(
            f"MATCH (p:Passage) WHERE p.lang = $lang AND NOT p:{index.label} SET p:{index.label}",
            lang=index.lang,
            database_=database,
        )
    for legacy in LEGACY_VECTOR_INDEXES:
        driver.execute_query(f"DROP INDEX {legacy} IF EXISTS", database_=database)
    for index in VECTOR_INDEXES.values():
        _ensure_vector_index(driver, database, index, embedder.dim)
    driver.execute_query(
        SET_META,
        embedder=embedder.name,
        dim=embedder.dim,
        schema_version=SCHEMA_VERSION,
        database_=database,
    )
    driver.execute_query("CALL db.awaitIndexes(120)", database_=database)


def create_vector_indexes(driver: Driver, database: str, dim: int, dim2: int | None = None) -> None:
    """Create the vector indexes (they populate in the background; `db.awaitIndexes`), the
    second space's too when `dim2` is given."""
    with graph_errors():
        for index in VECTOR_INDEXES.values():
            driver.execute_query(_vector_ddl(index, dim), database_=database)
        if dim2 is not None:
            for index in VECTOR2_INDEXES.values():
                driver.execute_query(_vector_ddl(index, dim2), database_=database)


def drop_vector_indexes(driver: Driver, database: str, second: bool = False) -> None:
    """Drop the first space's vector indexes, and the second space's when `second`."""
    indexes = [*VECTOR_INDEXES.values(), *(VECTOR2_INDEXES.values() if second else ())]
    with graph_errors():
        for index in indexes:
            driver.execute_query(f"DROP INDEX {index.name} IF EXISTS", database_=database)


def check_embedder(driver: Driver, database: str, embedder: EmbedderInfo) -> None:
    """Raise EmbedderMismatch when the graph was built with another embedder."""
    known = recorded_embedder(driver, database)
    if known is not None and known != embedder:
        raise EmbedderMismatch(
            f"the graph was embedded with {known.name} ({known.dim} dimensions) but the "
            f"configured embedder is {embedder.name} ({embedder.dim}); run `sopkg reembed`"
        )


def schema_ready(driver: Driver, database: str) -> bool:
    names = {c.name for c in CONSTRAINTS} | {f.name for f in FULLTEXT_INDEXES}
    names |= {v.name for v in VECTOR_INDEXES.values()}
    recs, _, _ = driver.execute_query(
        "SHOW INDEXES YIELD name, state RETURN name, state", database_=database
    )
    online = {r["name"] for r in recs if r["state"] == "ONLINE"}
    cons, _, _ = driver.execute_query("SHOW CONSTRAINTS YIELD name RETURN name", database_=database)
    present = online | {r["name"] for r in cons}
    return names <= present
