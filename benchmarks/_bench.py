"""Helpers shared by the benchmark scripts (not a script itself).

The benchmarks run against a local Neo4j instance of their own (default `bench`), never the
user's `main` graph nor the `test` / `eval` instances that the test suite and `sopkg eval`
wipe. The instance is started on demand and left running, so the next script reuses it;
stop it with `sopkg neo4j stop --instance bench` (or `--stop` on the ingest script). The
synthetic graph has its own instance, `bench-synthetic`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# The scripts run as `python benchmarks/<name>.py` from anywhere: make the project
# importable even without the editable install.
_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from neo4j import Driver  # noqa: E402

from kg.connection import Connection, local_connection  # noqa: E402
from kg.errors import InvalidInput  # noqa: E402
from kg.local_neo4j import LocalNeo4j  # noqa: E402
from kg.settings import Settings  # noqa: E402
from kg.writer import GraphWriter  # noqa: E402
from sopkg.environment import cpu_model  # noqa: E402
from sopkg.outputs import writable_file, writable_folder  # noqa: E402

RESERVED_INSTANCES = frozenset({"main", "test", "eval"})
DEFAULT_INSTANCE = "bench"
# The synthetic graph takes minutes to build: it lives apart, so that a script ingesting a
# corpus into `bench` (which wipes anything else there) does not destroy it.
SYNTHETIC_INSTANCE = "bench-synthetic"


def check_outputs(ap: argparse.ArgumentParser, out: Path | None, runs: Path | None = None) -> None:
    """`--out` (and `--runs`) checked before a long run, as `sopkg eval` checks them; a path
    that cannot be written is the parser's error (exit 2), not a loss at the end."""
    try:
        if out:
            writable_file("--out", out)
        if runs:
            writable_folder("--runs", runs)
    except InvalidInput as e:
        ap.error(str(e))


def bench_settings() -> Settings:
    """The project settings (environment, `.env`), but never an external server: the
    benchmarks wipe their graph, so they only ever talk to their own local instance."""
    s = Settings()
    return s.model_copy(update={"neo4j_uri": None, "neo4j_password": None})


def start_instance(
    settings: Settings, instance: str, heap: str = "2g", pagecache: str = "1g"
) -> tuple[LocalNeo4j, Connection]:
    if instance in RESERVED_INSTANCES:
        raise SystemExit(
            f"refusing to benchmark on the `{instance}` instance: it belongs to the user, the "
            "test suite or `sopkg eval`; use e.g. --instance bench"
        )
    server = LocalNeo4j(settings, instance, heap=heap, pagecache=pagecache)
    res = server.start()
    how = "already running" if res.already_running else f"started in {res.seconds:.1f} s"
    log(f"neo4j[{instance}] {how} at {res.uri}")
    return server, local_connection(server)


def wipe(driver: Driver, database: str) -> None:
    """An empty graph with no schema: indexes and constraints dropped, every node deleted.
    The next `migrate` (first ingest) recreates the schema, as on a fresh server."""
    with driver.session(database=database) as s:
        for rec in list(s.run("SHOW CONSTRAINTS YIELD name RETURN name")):
            s.run(f"DROP CONSTRAINT `{rec['name']}` IF EXISTS").consume()
        for rec in list(s.run("SHOW INDEXES YIELD name, type WHERE type <> 'LOOKUP' RETURN name")):
            s.run(f"DROP INDEX `{rec['name']}` IF EXISTS").consume()
    GraphWriter(driver, database).wipe()


def graph_counts(driver: Driver, database: str) -> dict[str, int]:
    queries = {
        "documents": "MATCH (d:Document {status: 'active'}) RETURN count(d)",
        "versions": "MATCH (v:DocumentVersion {current: true}) RETURN count(v)",
        "sections": "MATCH (s:Section) RETURN count(s)",
        "passages": "MATCH (p:Passage {current: true}) RETURN count(p)",
        "embedded": "MATCH (p:Passage) WHERE p.embedding IS NOT NULL RETURN count(p)",
        "statements": "MATCH (s:Statement {current: true}) RETURN count(s)",
        "relationships": "MATCH ()-[r]->() RETURN count(r)",
    }
    out = {}
    for name, cypher in queries.items():
        recs, _, _ = driver.execute_query(cypher, database_=database)
        out[name] = int(recs[0][0])
    return out


# --- statistics ---------------------------------------------------------------------


def read_query_names() -> dict[str, str]:
    """Cypher text -> the name of its constant in kg.read_queries."""
    from kg import read_queries

    return {v: k for k, v in vars(read_queries).items() if isinstance(v, str) and k.isupper()}


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear-interpolated percentile (numpy's default); nan for no values."""
    if not values:
        return math.nan
    xs = sorted(values)
    pos = (len(xs) - 1) * pct / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


# Environment variables that change the figures (thread pools of the embedding engines,
# Neo4j's JVM compiler).
_RELEVANT_ENV = (
    "OMP_NUM_THREADS",
    "OMP_WAIT_POLICY",
    "MKL_NUM_THREADS",
    "SOPKG_EMBEDDER",
    "SOPKG_NEO4J_JAVA_OPTS",
)


def neo4j_servers(proc: Path = Path("/proc")) -> int | None:
    """How many Neo4j servers run on this machine (the benchmark's own included; None where
    there is no /proc). Each one left running by an earlier script or `sopkg eval` takes
    CPU of its own while a benchmark measures."""
    if not proc.is_dir():
        return None
    count = 0
    for cmdline in proc.glob("[0-9]*/cmdline"):
        try:
            if b"org.neo4j.server." in cmdline.read_bytes():
                count += 1
        except OSError:  # a process that ended while we looked
            continue
    return count


def machine() -> dict[str, Any]:
    load1, load5, _ = os.getloadavg()
    return {
        "cpu": cpu_model(),
        "neo4j_servers": neo4j_servers(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "loadavg_1m": round(load1, 2),
        "loadavg_5m": round(load5, 2),
        "env": {k: os.environ[k] for k in _RELEVANT_ENV if k in os.environ},
    }


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def emit_json(payload: dict[str, Any]) -> None:
    """The machine-readable result: one JSON line on stdout, after the table."""
    print(json.dumps(payload, ensure_ascii=False, sort_keys=False, default=_rounded))


def _rounded(v: Any) -> Any:
    return str(v)


def r3(x: float) -> float:
    return round(x, 3)
