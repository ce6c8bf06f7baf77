"""The foundation: a real Neo4j answers Bolt, and fulltext and vector indexes work."""

from __future__ import annotations

import os

import pytest
from neo4j import Driver

from kg.connection import Connection

pytestmark = pytest.mark.integration


def test_server_is_real_neo4j_5_26(neo4j_driver: Driver) -> None:
    agent = neo4j_driver.get_server_info().agent
    assert agent.startswith("Neo4j/5.26."), agent
    records, _, _ = neo4j_driver.execute_query(
        "CALL dbms.components() YIELD name, edition RETURN name, edition"
    )
    assert records[0]["edition"] == "community"


def test_write_then_read(clean_driver: Driver, neo4j_connection: Connection) -> None:
    db = neo4j_connection.database
    clean_driver.execute_query(
        "CREATE (:Probe {name: $name})-[:LINKS]->(:Probe {name: $other})",
        name="a", other="b", database_=db,
    )  # fmt: skip
    records, _, _ = clean_driver.execute_query(
        "MATCH (x:Probe)-[:LINKS]->(y:Probe) RETURN x.name AS x, y.name AS y", database_=db
    )
    assert [(r["x"], r["y"]) for r in records] == [("a", "b")]


def test_fulltext_and_vector_indexes(clean_driver: Driver, neo4j_connection: Connection) -> None:
    db = neo4j_connection.database
    clean_driver.execute_query(
        "CREATE FULLTEXT INDEX probe_ft IF NOT EXISTS FOR (n:Probe) ON EACH [n.text] "
        "OPTIONS {indexConfig: {`fulltext.analyzer`: 'whitespace'}}",
        database_=db,
    )
    clean_driver.execute_query(
        "CREATE VECTOR INDEX probe_vec IF NOT EXISTS FOR (n:Probe) ON n.embedding "
        "OPTIONS {indexConfig: {`vector.dimensions`: 3, `vector.similarity_function`: 'cosine'}}",
        database_=db,
    )
    clean_driver.execute_query("CALL db.awaitIndexes(60)", database_=db)
    clean_driver.execute_query(
        "UNWIND $rows AS r CREATE (:Probe {name: r.name, text: r.text, embedding: r.emb})",
        rows=[
            {"name": "fake", "text": "偽物 ブランド", "emb": [1.0, 0.0, 0.0]},
            {"name": "alcohol", "text": "酒類 年齢確認", "emb": [0.0, 1.0, 0.0]},
        ],
        database_=db,
    )
    ft, _, _ = clean_driver.execute_query(
        "CALL db.index.fulltext.queryNodes('probe_ft', $q) YIELD node, score "
        "RETURN node.name AS name ORDER BY score DESC",
        q="年齢確認", database_=db,
    )  # fmt: skip
    assert [r["name"] for r in ft] == ["alcohol"]
    vec, _, _ = clean_driver.execute_query(
        "CALL db.index.vector.queryNodes('probe_vec', 2, $v) YIELD node, score "
        "RETURN node.name AS name, score",
        v=[0.9, 0.1, 0.0], database_=db,
    )  # fmt: skip
    assert [r["name"] for r in vec] == ["fake", "alcohol"]
    assert vec[0]["score"] > vec[1]["score"]
    clean_driver.execute_query("DROP INDEX probe_ft IF EXISTS", database_=db)
    clean_driver.execute_query("DROP INDEX probe_vec IF EXISTS", database_=db)


def test_listens_on_loopback_only(neo4j_connection: Connection) -> None:
    if not neo4j_connection.source.startswith("local:"):
        pytest.skip("an external server's binding is not ours to check")
    assert neo4j_connection.uri.startswith("bolt://127.0.0.1:")


def test_code_cache_outlasts_the_client_jit(neo4j_connection: Connection) -> None:
    """The suite's servers run the client JIT alone, which used to get a 48 MB code cache:
    full within two minutes of searches, after which a vector query failed with "Out of
    space in CodeCache for method handle intrinsic"."""
    if not neo4j_connection.source.startswith("local:"):
        pytest.skip("an external server's JVM options are not ours to check")
    assert "TieredStopAtLevel=1" in os.environ.get("SOPKG_NEO4J_JAVA_OPTS", "")
    with neo4j_connection.driver() as driver:
        records, _, _ = driver.execute_query(
            "CALL dbms.queryJmx('java.lang:type=MemoryPool,name=*') YIELD name, attributes "
            "RETURN name, attributes.Usage.value.properties.max AS max",
            database_=neo4j_connection.database,
        )
    code = {r["name"]: r["max"] for r in records if "Code" in r["name"]}
    # Segmented: method handle intrinsics have a heap of their own when the others fill up.
    assert any("non-nmethods" in name for name in code), code
    assert sum(code.values()) >= 200 * 2**20, code
