"""Progress on long work: the library reports through a callback and never prints; the
command line draws a bar (files, passages, rate, time left) on a terminal, and off a
terminal prints no bar and the JSON summary. Warnings are printed as
`file:line: warning: rule: message`. Against the Neo4j test instance."""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from neo4j import Driver

from ingest.pipeline import ingest_corpus
from ingest.progress import ProgressEvent
from kg.connection import Connection
from kg.embedders import Embedder
from tests.e2e.conftest import MINI, neo4j_env

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def warned_corpus(tmp_path: Path) -> Path:
    """The mini corpus with one warning: a link to a document that does not exist."""
    root = tmp_path / "mini_corpus"
    shutil.copytree(MINI, root)
    path = root / "fakes.en.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("See [[mini-offplatform]].", "See [[mini-nowhere]]."), "utf-8")
    return root


def test_ingest_reports_files_and_passages_and_prints_nothing(
    clean_driver: Driver,
    neo4j_connection: Connection,
    embedder: Embedder,
    capsys: pytest.CaptureFixture[str],
) -> None:
    events: list[ProgressEvent] = []
    summary = ingest_corpus(MINI, clean_driver, neo4j_connection.database, embedder,
                            progress=events.append)  # fmt: skip
    assert capsys.readouterr() == ("", "")
    assert events[0].done == 0 and events[-1].done == events[-1].total == summary.files
    assert {e.unit for e in events} == {"files"} and {e.stage for e in events} == {"ingest"}
    assert [e.done for e in events] == sorted(e.done for e in events)
    assert events[-1].passages == summary.passages > 0


def _env(conn: Connection) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SOPKG_", "NEO4J_"))},
        "PYTHONPATH": str(ROOT),
        **neo4j_env(conn),
        "COLUMNS": "120",
    }


def _on_a_terminal(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run with stdout and stderr on a pseudo-terminal, as a person at a shell would."""
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal,
                            env=env, cwd=ROOT)  # fmt: skip
    os.close(terminal)
    chunks: list[bytes] = []
    while True:
        try:
            data = os.read(controller, 65536)
        except OSError:  # the terminal closed: the process is done
            break
        if not data:
            break
        chunks.append(data)
    os.close(controller)
    return proc.wait(timeout=300), b"".join(chunks).decode("utf-8", "replace")


def test_cli_ingest_on_a_terminal_shows_a_bar_and_the_warnings(
    clean_driver: Driver, neo4j_connection: Connection, warned_corpus: Path
) -> None:
    code, out = _on_a_terminal(
        [sys.executable, "-m", "sopkg.cli", "ingest", str(warned_corpus)], _env(neo4j_connection)
    )
    assert code == 0, out
    assert "ingest: 100%" in out  # the bar at its end
    assert "3/3" in out and "files/s" in out and "passages" in out  # count, rate
    assert "<00:00" in out  # the time left
    assert "fakes.en.md:16: warning: dangling-link:" in out
    assert '"written": 2' in out  # and the JSON summary


def test_cli_ingest_off_a_terminal_prints_json_and_no_bar(
    clean_driver: Driver, neo4j_connection: Connection, warned_corpus: Path
) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "sopkg.cli", "ingest", str(warned_corpus)],
        env=_env(neo4j_connection), cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    summary: dict[str, Any] = json.loads(run.stdout)
    assert summary["written"] == 2 and summary["warnings"] == 3
    assert "%|" not in run.stderr and "files/s" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 3  # the warnings, each on its own line
    mine = "fakes.en.md:16: warning: dangling-link: [[mini-nowhere]] names no document"
    assert any(line.startswith(mine) for line in lines)


def test_cli_json_flag_turns_the_bar_off_on_a_terminal(
    clean_driver: Driver, neo4j_connection: Connection
) -> None:
    code, out = _on_a_terminal(
        [sys.executable, "-m", "sopkg.cli", "ingest", str(MINI), "--json"], _env(neo4j_connection)
    )
    assert code == 0, out
    assert "%|" not in out
    assert json.loads(out[out.index("{") :])["files"] == 3  # after the warnings (stderr)
