"""The local server's Bolt port: chosen below the ephemeral range, so a client retrying a
dead server can never connect to itself on that port (found by the Neo4j-kill fault test)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg import local_neo4j
from kg.local_neo4j import LocalNeo4j
from kg.settings import Settings


def test_a_new_port_is_below_the_ephemeral_range() -> None:
    low, _ = local_neo4j._ephemeral_range()
    ports = {local_neo4j._free_port_below_ephemeral() for _ in range(20)}
    assert all(local_neo4j._LOWEST_PORT <= p < low for p in ports)
    assert len(ports) > 1  # drawn at random: two instances started at once differ


@pytest.mark.parametrize(
    ("remembered", "kept"),
    [(40000, False), (20000, True)],  # in the default ephemeral range 32768-60999, or below
)
def test_a_remembered_ephemeral_port_is_given_up_before_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, remembered: int, kept: bool
) -> None:
    monkeypatch.setattr(local_neo4j, "_ephemeral_range", lambda: (32768, 60999))
    monkeypatch.setattr(local_neo4j, "_bindable", lambda port: True)
    server = LocalNeo4j(Settings(_env_file=None, state_dir=tmp_path), "unit")  # type: ignore[call-arg]
    server.home.mkdir(parents=True)
    (server.home / "bolt-port").write_text(str(remembered))
    server._release_taken_port()
    port = int(server.uri().rsplit(":", 1)[1])
    assert (port == remembered) is kept
    assert port < 32768
