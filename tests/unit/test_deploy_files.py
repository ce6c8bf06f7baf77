"""docker-compose.yml cannot run here (no Docker engine); keep it correct by reading it."""

from __future__ import annotations

from pathlib import Path

import yaml

from kg.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def _setting_env_names() -> set[str]:
    names: set[str] = set()
    for name, f in Settings.model_fields.items():
        names.add(f"SOPKG_{name.upper()}")
        alias = f.validation_alias
        if alias is not None:
            choices = getattr(alias, "choices", [alias])
            names.update(str(c) for c in choices)
    return names


def test_neo4j_service_is_526_community_on_loopback() -> None:
    neo = _compose()["services"]["neo4j"]
    assert neo["image"] == "neo4j:5.26-community"
    assert all(p.startswith("127.0.0.1:") for p in neo["ports"])
    assert neo["environment"]["NEO4J_AUTH"].startswith("neo4j/")


def test_api_service_settings_are_real_settings() -> None:
    api = _compose()["services"]["api"]
    env = api["environment"]
    assert env["NEO4J_URI"] == "bolt://neo4j:7687"
    unknown = set(env) - _setting_env_names()
    assert not unknown, f"compose sets variables the app does not read: {unknown}"
    assert all(p.startswith("127.0.0.1:") for p in api["ports"])
    assert api["depends_on"]["neo4j"]["condition"] == "service_healthy"


def test_dockerfile_copies_every_package() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    for pkg in ("kg", "ingest", "search_api", "ontology", "sopkg"):
        assert f"COPY {pkg} {pkg}" in text
