"""`sopkg search` and `sopkg serve` end to end, against the Neo4j test instance."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kg import allocator
from kg.connection import Connection
from kg.settings import get_settings
from sopkg.cli import main
from tests.e2e.conftest import MINI, READER, TODAY, neo4j_env

pytestmark = pytest.mark.e2e


def _neo4j_env(conn: Connection) -> dict[str, str]:
    return {**neo4j_env(conn), "SOPKG_TODAY": TODAY.isoformat()}


@pytest.fixture()
def cli_env(
    mini_graph: dict[str, Any], neo4j_connection: Connection, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """The environment `sopkg` reads its settings from, pointing at the test graph."""
    env = _neo4j_env(neo4j_connection)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    for k in ("SOPKG_API_KEYS", "SOPKG_OPEN_MODE", "SOPKG_HOST", "SOPKG_PORT"):
        monkeypatch.delenv(k, raising=False)
    get_settings.cache_clear()
    yield env
    get_settings.cache_clear()


def test_search_prints_readable_results(
    cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", "コピー品 出品", "--limit", "3"]) == 0
    out = capsys.readouterr().out
    assert " 1. [policy] mini-fakes#p1" in out
    assert "cite: [mini-fakes v1.0 ja] 偽ブランド品 > ポリシー #p1" in out
    assert "en: Listing a replica" in out
    assert "applied_by enforcement a1 severity=high" in out
    assert "applied_by escalation x1" in out


def test_search_json_is_the_api_response(
    cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", "seller asks buyer to pay by bank transfer on LINE", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["results"][0]["unit"]["key"] == "mini-offplatform#p1"
    assert body["results"][0]["citation"]["source_path"] == "offplatform.en.md"


@pytest.mark.parametrize(
    "query",
    ["コピー品 出品", "seller asks buyer to pay by bank transfer on LINE", "偽物 ライブ配信 販売"],
)
def test_search_ranks_as_the_served_api_does(
    cli_env: dict[str, str], api_url: str, capsys: pytest.CaptureFixture[str], query: str
) -> None:
    # The same passage vectors in memory on both sides (window vectors and exact scores,
    # not the vector indexes' quantised ones): the same units in the same order.
    assert main(["search", query, "--limit", "10", "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)["results"]
    body = {"query": query, "limit": 10}
    api = httpx.post(f"{api_url}/v1/search", json=body, headers=READER, timeout=60)
    served = api.json()["results"]
    assert [r["unit"]["key"] for r in cli] == [r["unit"]["key"] for r in served]
    assert [r["score"] for r in cli] == pytest.approx([r["score"] for r in served], abs=1e-6)


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["search", "コピー品", "--topic", "nope"], "topic"),
        (["search", "   "], "query"),
        (["search", "コピー品", "--limit", "0"], "limit"),
    ],
)
def test_search_input_errors(
    cli_env: dict[str, str], capsys: pytest.CaptureFixture[str], argv: list[str], field: str
) -> None:
    assert main(argv) == 2
    assert f"sopkg: error: {field}:" in capsys.readouterr().err


def test_serve_refuses_without_keys(
    cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "no API keys configured" in err and "--open" in err


def test_serve_open_mode_refuses_a_non_loopback_host(
    cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--open", "--host", "0.0.0.0"]) == 2
    assert "loopback" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _children(pid: int) -> list[int]:
    path = f"/proc/{pid}/task/{pid}/children"
    with open(path, encoding="ascii") as f:
        return [int(c) for c in f.read().split()]


def _answers_after_idle(port: int, idle: float) -> bool:
    """Whether a kept-alive connection still answers a request after `idle` seconds."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/healthz")
        first = conn.getresponse()
        assert first.status == 200 and not first.will_close
        first.read()
        time.sleep(idle)
        try:
            conn.request("GET", "/healthz")  # on the same socket: it is kept
            return conn.getresponse().status == 200
        except (http.client.RemoteDisconnected, OSError):  # the server closed it
            return False
    finally:
        conn.close()


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_runs_the_api_with_keys_and_ingest(
    mini_graph: dict[str, Any], neo4j_connection: Connection, workers: int
) -> None:
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SOPKG_")},
        **_neo4j_env(neo4j_connection),
        "SOPKG_API_KEYS": json.dumps({"cli-admin-key-42": "admin"}),
        "SOPKG_KEEP_ALIVE_SECONDS": "1.5",  # uvicorn's own default is 5
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "sopkg.cli", "serve", "--port", str(port)]
        + (["--workers", str(workers)] if workers > 1 else []),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        with httpx.Client(base_url=url, timeout=60) as client:
            while True:
                assert proc.poll() is None, "sopkg serve exited early"
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "sopkg serve did not start in 90 s"
                time.sleep(0.2)
            admin = {"X-API-Key": "cli-admin-key-42"}
            assert client.post("/v1/search", json={"query": "コピー品"}).status_code == 401
            r = client.post("/v1/ingest", json={"corpus": str(MINI)}, headers=admin)
            assert r.status_code == 200, r.text
            assert r.json()["errors"] == []
            served = [proc.pid] + (_children(proc.pid) if workers > 1 else [])
            # jemalloc where installed (CI installs it): the command re-executed itself with
            # it preloaded, and worker processes inherit it (kg.allocator).
            expected = "jemalloc" if allocator.find_jemalloc() else "system"
            for pid in served:
                assert allocator.in_use(Path(f"/proc/{pid}/maps").read_text()) == expected
            # Idle connections are kept as long as the setting says, and no longer.
            assert _answers_after_idle(port, 0.3) and not _answers_after_idle(port, 3.0)
            if workers > 1:  # a supervisor and its worker processes, each serving
                assert len(_children(proc.pid)) >= workers
                for _ in range(2 * workers):
                    r = client.post("/v1/search", json={"query": "コピー品"}, headers=admin)
                    assert r.status_code == 200, r.text
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert f"sopkg API at {url}" in out
    assert "cli-admin-key-42" not in out  # keys are never printed
    assert ("allocator: jemalloc" in out) is (expected == "jemalloc")


# --- one consistent CLI: formats, --json, exit codes -----------------------------------
def test_md_and_markdown_are_the_same_format(
    cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["coverage", "--format", "markdown"]) == 0
    long = capsys.readouterr().out
    assert main(["coverage", "--format", "md"]) == 0
    assert capsys.readouterr().out == long and long.startswith("#")
    assert main(["changes", "--since", "2026-01-01", "--format", "md"]) == 0
    assert "mini-fakes" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["coverage", "--json"],
        ["coverage", "--owner", "IPR Team", "--json"],
        ["changes", "--since", "2026-01-01", "--json"],
        ["search", "コピー品", "--json"],
        ["lint", str(MINI), "--json"],
        ["neo4j", "status", "--instance", "no-such-instance", "--json"],
    ],
)
def test_json_on_every_command_that_prints_results(
    cli_env: dict[str, str], capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code = main(argv)
    data = json.loads(capsys.readouterr().out)
    assert isinstance(data, dict) and data
    if argv[0] == "neo4j":
        assert code == 3 and data["running"] is False  # status: not running is exit 3
    else:
        assert code == 0


def test_exit_codes(
    cli_env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 0: done, nothing wrong in the input.
    assert main(["lint", str(MINI)]) == 0
    # 1: errors in the input, each printed as file:line: rule: message.
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.en.md").write_text("---\nid: a\n---\n# A\n", encoding="utf-8")
    assert main(["lint", str(broken)]) == 1
    assert "a.en.md:" in capsys.readouterr().out
    assert main(["lint", str(broken), "--json"]) == 1
    errors = json.loads(capsys.readouterr().out)["errors"]
    assert errors and {"path", "line", "rule", "message"} <= set(errors[0])
    # 2: usage, an unknown option or a bad value.
    with pytest.raises(SystemExit) as bad:
        main(["coverage", "--format", "pdf"])
    assert bad.value.code == 2
    assert main(["search", "コピー品", "--topic", "nope"]) == 2
    assert main(["ingest", str(tmp_path / "missing")]) == 2
    # 2 also for a bad setting, named, without a traceback.
    monkeypatch.setenv("SOPKG_ALLOCATOR", "tcmalloc")
    get_settings.cache_clear()
    assert main(["coverage", "--json"]) == 2
    assert "invalid setting (environment or .env): allocator:" in capsys.readouterr().err
    monkeypatch.delenv("SOPKG_ALLOCATOR")
    # 3: Neo4j could not be reached.
    port = _free_port()  # nothing listens there
    monkeypatch.setenv("NEO4J_URI", f"bolt://127.0.0.1:{port}")
    get_settings.cache_clear()
    assert main(["coverage", "--json"]) == 3
    err = capsys.readouterr().err
    assert "Neo4j is unavailable" in err and "503" not in err  # one line, not a server's
    assert main(["search", "コピー品"]) == 3
    assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "env", "code", "says"),
    [
        # A path the system refuses is input, not a crash.
        (["ingest", "a" * 5000], {}, 2, "File name too long"),
        (["lint", "a" * 5000], {}, 2, "File name too long"),
        # An --out that cannot be written is refused before the report is built.
        (["coverage", "--out", "."], {}, 2, "--out: .: is a folder"),
        (["changes", "--since", "2026-01-01", "--out", "."], {}, 2, "--out: .: is a folder"),
        # Settings that name no usable Neo4j: a URI it cannot use (2), or credentials or a
        # database it refuses (3: out of reach until fixed), each in one line.
        (["corpora"], {"NEO4J_URI": "garbage"}, 2, "NEO4J_URI 'garbage' is not a Neo4j"),
        (["corpora"], {"NEO4J_PASSWORD": "not-the-password"}, 3, "refused the connection"),
        (["corpora"], {"NEO4J_DATABASE": "nosuch"}, 3, "refused the connection"),
        (["neo4j", "shell-env", "--instance", "never-started"], {}, 2, "has no password yet"),
    ],
)
def test_bad_paths_and_settings_are_one_line_errors(
    cli_env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    env: dict[str, str],
    code: int,
    says: str,
) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    assert main(argv) == code
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (get_settings().state_dir / "neo4j" / "never-started").exists()


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        # An empty name meant "all" or "here" without a word.
        (["corpora", "--remove", ""], "--remove: must be a non-empty name"),
        (["coverage", "--owner", " "], "--owner: must be a non-empty name"),
        (["lint", ""], "corpus: must be a non-empty name"),
        (["ingest", ".", "--name", ""], "--name: must be a non-empty name"),
        (["ingest", ".", "--name", "n" * 256], "--name: must be at most 255 characters"),
        # Dates as the API and the help text take them.
        (["changes", "--since", "20260101"], "--since: must be a date YYYY-MM-DD"),
        (["changes", "--since", "2026-W01-1"], "--since: must be a date YYYY-MM-DD"),
        (["changes", "--since", "2026-13-45"], "--since: no such day: '2026-13-45'"),
        (["serve", "--open", "--port", "99999"], "--port: must be a port number"),
    ],
)
def test_the_command_line_refuses_empty_names_and_loose_values(
    capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    with pytest.raises(SystemExit) as refused:
        main(argv)
    assert refused.value.code == 2
    assert f"error: argument {says}" in capsys.readouterr().err


def test_a_port_in_use_is_refused_before_anything_loads(
    cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        assert main(["serve", "--open", "--port", port]) == 2
        assert main(["mcp", "--http", "--open", "--port", port]) == 2
    err = capsys.readouterr().err
    assert err.count(f"cannot listen on http://127.0.0.1:{port}: Address already in use") == 2


def test_corpora_lists_the_corpora_and_removes_one(
    cli_env: dict[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    text = (MINI / "offplatform.en.md").read_text(encoding="utf-8")
    (other / "d.en.md").write_text(text.replace("id: mini-offplatform", "id: other-d"), "utf-8")
    assert main(["ingest", str(other), "--json"]) == 0
    capsys.readouterr()
    assert main(["corpora", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["other"]["documents"] == 1 and rows["other"]["removed_at"] is None
    assert rows["other"]["root"] == str(other.resolve())
    assert rows[MINI.name]["documents"] >= 2

    assert main(["corpora", "--remove", "other"]) == 0
    assert json.loads(capsys.readouterr().out)["retired"] == 1
    assert main(["corpora"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(ln.startswith("other: 0 document(s), 1 retired") and "removed" in ln for ln in lines)
    assert main(["search", "bank transfer on LINE", "--json"]) == 0
    hits = [r["citation"]["doc_id"] for r in json.loads(capsys.readouterr().out)["results"]]
    assert "other-d" not in hits and "mini-offplatform" in hits
    # An unknown name is a usage error that names the corpora there are.
    assert main(["corpora", "--remove", "nope"]) == 2
    assert f"no corpus named 'nope' in the graph (corpora: {MINI.name}, other)" in (
        capsys.readouterr().err
    )
