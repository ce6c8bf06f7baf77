"""Offline backup and restore of a local instance's graph with Neo4j's own tooling.

`neo4j-admin database dump` / `database load` (`org.neo4j.cli.AdminTool`, in the jars the
local server already runs from) write and read one archive file holding the whole
database: every node, relationship and property, the indexes and constraints (full-text
and vector ones included), the embedder record and the query log. Neo4j Community cannot
take its database offline while the server runs, so both operations stop the server, run
the tool and start the server again if it was running (the API answers 503 meanwhile).

A restore never loses the graph it replaces: that graph is dumped first into
`<state>/backups/`, and put back if loading the new archive fails (a truncated or corrupt
file is only discovered while loading).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from kg.errors import ConfigError, InvalidInput, Neo4jServerError
from kg.local_neo4j import LocalNeo4j

DATABASE = "neo4j"  # the local server's one user database
_ADMIN_TOOL = "org.neo4j.cli.AdminTool"
_ADMIN_HEAP = "-Xmx1g"  # the tool streams; the default (a quarter of RAM) is wasteful here


@dataclass(frozen=True)
class BackupResult:
    path: Path
    bytes: int
    seconds: float
    restarted: bool  # the server was running, was stopped for the dump and started again


@dataclass(frozen=True)
class RestoreResult:
    path: Path
    previous: Path | None  # the graph it replaced, dumped first (None: there was none)
    seconds: float
    restarted: bool


def backup(server: LocalNeo4j, target: Path, *, overwrite: bool = False) -> BackupResult:
    """Dump the instance's graph into the file `target` (written whole or not at all)."""
    target = target.expanduser().resolve()
    if target.is_dir():
        raise InvalidInput("FILE", f"{target} is a folder; name the backup file to write")
    if target.exists() and not overwrite:
        raise InvalidInput("FILE", f"{target} exists; pass --force to replace it")
    if not target.parent.is_dir():
        raise InvalidInput("FILE", f"folder {target.parent} does not exist")
    _require_graph(server)
    t0 = time.monotonic()
    was_running = server.stop()
    try:
        _dump(server, target)
    finally:
        if was_running:
            server.start()
    return BackupResult(target, target.stat().st_size, time.monotonic() - t0, was_running)


def restore(server: LocalNeo4j, source: Path) -> RestoreResult:
    """Replace the instance's graph by the archive `source` (from `backup` or
    `neo4j-admin database dump` of Neo4j 5)."""
    source = source.expanduser().resolve()
    if not source.is_file():
        raise InvalidInput("FILE", f"{source} is not a file")
    _check_archive(server, source)
    t0 = time.monotonic()
    was_running = server.stop()
    previous: Path | None = None
    try:
        if _has_graph(server):
            previous = _previous_copy_path(server)
            _dump(server, previous)
        failure = _load(server, source)
        if failure:
            if previous is not None:
                put_back = _load(server, previous)
                if put_back:
                    raise Neo4jServerError(
                        f"restore failed ({failure}) and putting back the previous graph "
                        f"failed too ({put_back}); it is kept in {previous}"
                    )
            raise Neo4jServerError(
                f"restore failed: {failure}"
                + ("; the previous graph was put back" if previous else "")
            )
    finally:
        if was_running:
            server.start()
    return RestoreResult(source, previous, time.monotonic() - t0, was_running)


# --- internals ----------------------------------------------------------------------------
def _store(server: LocalNeo4j) -> Path:
    return server.home / "data" / "databases" / DATABASE


def _has_graph(server: LocalNeo4j) -> bool:
    return (_store(server) / "neostore").exists()


def _require_graph(server: LocalNeo4j) -> None:
    if not _has_graph(server):
        raise Neo4jServerError(
            f"neo4j[{server.instance}] holds no graph yet (no store in {_store(server)}): "
            "start it and ingest a corpus first"
        )


def _previous_copy_path(server: LocalNeo4j) -> Path:
    folder = server.settings.state_dir / "backups"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    return folder / f"{server.instance}-before-restore-{stamp}.dump"


def _admin(server: LocalNeo4j, args: list[str], stdin: Path | None = None,
           stdout: Path | None = None) -> subprocess.CompletedProcess[bytes]:  # fmt: skip
    """Run `neo4j-admin ARGS` against the instance's home and configuration."""
    server.ensure_jars()
    java = shutil.which(server.settings.java)
    if java is None:
        raise ConfigError("Java 17 or newer is needed to run neo4j-admin")
    if not (server.conf_dir / "neo4j.conf").exists():
        raise Neo4jServerError(f"neo4j[{server.instance}] was never started (no configuration)")
    env = {**os.environ, "NEO4J_HOME": str(server.home), "NEO4J_CONF": str(server.conf_dir)}
    cmd = [java, _ADMIN_HEAP, "-cp", f"{server.lib_dir}/*", _ADMIN_TOOL, *args]
    with (
        open(stdin, "rb") if stdin else open(os.devnull, "rb") as fin,
        open(stdout, "wb") if stdout else open(os.devnull, "wb") as fout,
    ):
        return subprocess.run(
            cmd, stdin=fin, stdout=fout, stderr=subprocess.PIPE, env=env, check=False
        )


def _tail(proc: subprocess.CompletedProcess[bytes], lines: int = 3) -> str:
    text = proc.stderr.decode("utf-8", errors="replace").splitlines()
    # The tool prints a progress line per file; the reason is in the last lines.
    useful = [ln for ln in text if ln.strip() and not ln.startswith(("Files:", "Done:"))]
    # neo4j-admin's advice to rerun it with --verbose is not for sopkg's users.
    useful = [_VERBOSE_HINT.sub("", ln).rstrip() for ln in useful[-lines:]]
    return " / ".join(ln for ln in useful if ln) or f"neo4j-admin exited with {proc.returncode}"


_VERBOSE_HINT = re.compile(r"\s*\(?Run with '--verbose'[^)]*\)?\.?")


def _dump(server: LocalNeo4j, target: Path) -> None:
    partial = target.with_name(target.name + ".partial")
    proc = _admin(server, ["database", "dump", DATABASE, "--to-stdout"], stdout=partial)
    if proc.returncode != 0:
        partial.unlink(missing_ok=True)
        raise Neo4jServerError(f"neo4j-admin database dump failed: {_tail(proc)}")
    os.replace(partial, target)


def _check_archive(server: LocalNeo4j, source: Path) -> None:
    """Refuse a file that is not a Neo4j dump before the server is stopped for it."""
    proc = _admin(server, ["database", "load", DATABASE, "--info", "--from-stdin"], stdin=source)
    if proc.returncode != 0:
        raise InvalidInput("FILE", f"{source} is not a Neo4j database dump ({_tail(proc, 1)})")


def _load(server: LocalNeo4j, source: Path) -> str | None:
    """Load `source` over the stopped instance's graph; the failure's reason, or None."""
    args = ["database", "load", DATABASE, "--from-stdin", "--overwrite-destination=true"]
    proc = _admin(server, args, stdin=source)
    return None if proc.returncode == 0 else _tail(proc)
