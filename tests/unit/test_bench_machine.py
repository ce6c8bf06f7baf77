"""benchmarks/_bench.py: what a benchmark records of the machine it measured on."""

from __future__ import annotations

from pathlib import Path

from benchmarks._bench import machine, neo4j_servers


def _process(proc: Path, pid: str, *argv: str) -> None:
    (proc / pid).mkdir()
    (proc / pid / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")


def test_neo4j_servers_counts_the_server_processes_only(tmp_path: Path) -> None:
    _process(tmp_path, "101", "/usr/bin/java", "-Xmx1g", "org.neo4j.server.CommunityEntryPoint")
    _process(tmp_path, "102", "/usr/bin/java", "org.neo4j.server.CommunityEntryPoint", "--home")
    _process(tmp_path, "103", "python", "benchmarks/query_latency.py")
    _process(tmp_path, "self", "/usr/bin/java", "org.neo4j.server.CommunityEntryPoint")
    assert neo4j_servers(tmp_path) == 2
    assert neo4j_servers(tmp_path / "absent") is None


def test_machine_names_the_cpu_and_the_servers() -> None:
    m = machine()
    assert isinstance(m["cpu"], str) and m["cpu"]
    assert m["neo4j_servers"] is None or m["neo4j_servers"] >= 0
    assert m["cpus"] and m["cpus"] >= 1
