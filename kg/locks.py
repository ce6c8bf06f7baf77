"""One writer at a time per graph: ingests, re-embeds, backups and restores take a lock.

Two ingests into one graph at once would each be correct per document (one transaction
each) but race on the corpus-wide steps (retiring what is gone, relinking references), and
a backup or restore stops the server under an ingest. So every writer holds an exclusive
`flock` on a file named after the graph (Neo4j address and database) in the state folder;
a second writer is refused at once with who holds it. The kernel releases the lock when
its holder exits, however it exits (SIGKILL included), so a crash never leaves it stuck.

The lock covers writers on this machine (every `sopkg` command and API server using this
state folder); run ingests into a shared remote Neo4j from one place.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from kg.errors import GraphBusy

HOLDER_WAIT_SECONDS = 0.5


def lock_path(state_dir: Path, uri: str, database: str) -> Path:
    digest = hashlib.sha256(f"{uri}|{database}".encode()).hexdigest()[:16]
    return state_dir / "locks" / f"graph-{digest}.lock"


@contextmanager
def graph_write_lock(state_dir: Path, uri: str, database: str, what: str) -> Iterator[None]:
    """Hold the graph's writer lock for the block; GraphBusy if another writer has it."""
    path = lock_path(state_dir, uri, database)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(f)
            raise GraphBusy(
                f"the graph at {uri} (database {database}) is busy: {holder}; "
                f"{what} was not started, try again when that one has finished"
            ) from None
        since = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        f.seek(0)
        f.truncate()
        f.write(f"{what} by pid {os.getpid()} since {since}")
        f.flush()
        try:
            yield
        finally:
            f.seek(0)
            f.truncate()
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _holder(f: IO[str], wait: float = HOLDER_WAIT_SECONDS) -> str:
    """Who holds the lock, as its holder wrote it in the file. A writer that took the lock
    an instant ago has not written it yet (flock, then truncate and write), so an empty
    file is read again for a moment before the holder is called "another process"."""
    deadline = time.monotonic() + wait
    while True:
        f.seek(0)
        text = f.read().strip()
        if text or time.monotonic() >= deadline:
            return text or "another process"
        time.sleep(0.02)
