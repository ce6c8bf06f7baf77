"""A server's passage vectors kept on disk between starts (SOPKG_RESIDENT_CACHE).

Reading the vectors from Neo4j is slow at scale: the driver unpacks 896 floats a passage,
six and a half minutes at a million passages, and until then searches go through Neo4j's
slower indexes. The same arrays come back from a local file in seconds. They are mapped
read-only, so the workers of `sopkg serve --workers N` share one copy in the page cache
instead of each holding its own; and only one of them at a time reads the graph and saves
(`ResidentStore.reading`), so on a first start the others wait for its save and map it.

A snapshot is named by the corpus stamp, a random id that every ingest that changes the
graph and every re-embedding sets anew (GraphWriter.stamp_corpus), and by the passages' write fingerprint
(GraphReader.passage_fingerprint), which also moves when an ingest killed midway wrote
documents without a new stamp: a file either holds exactly the graph's current vectors or is
not used. A graph without a stamp is never saved. A snapshot that cannot be read is
deleted and the vectors are read from the graph again: the cache can only cost a read.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from operator import attrgetter
from pathlib import Path
from typing import IO, Any

try:
    import fcntl
except ImportError:  # Windows: there each worker reads the graph itself
    fcntl = None  # type: ignore[assignment]

import numpy as np
import numpy.typing as npt

from kg.resident import INFO_FIELDS, Coarse, Origin, PassageInfo, ResidentVectors, Space

log = logging.getLogger("sopkg.resident")

# 3: the origin (each document's writes) for the refresh after the next ingest; 4: rows for
# long passages' windows (PassageInfo.window)
FORMAT = 4
# Rows copied, or passages encoded, at a time: between two chunks the thread lets go of the
# GIL, so a server's searches go on while it saves or maps a million passages.
CHUNK_ROWS = 10_000
# Snapshots kept after a save, newest first: the new corpus's and the one before it, which
# another worker may still be searching until it sees the new stamp.
KEPT = 2
_ROWS = ("matrix", "doc", "effective", "until")  # one row per passage each
_READING_LOCK = ".reading.lock"
_LOCK_POLL_SECONDS = 0.2


class ResidentStore:
    """Snapshots of ResidentVectors under `root`, one folder per corpus stamp and space set."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _folder(self, stamp: str, second: bool) -> Path:
        return self.root / f"{stamp}-{'both' if second else 'first'}"

    @contextmanager
    def reading(self, stop: Callable[[], bool]) -> Iterator[bool]:
        """Held by the one process that reads the graph for a snapshot and saves it: the
        other workers of `sopkg serve --workers N` that share this folder wait here, then
        find the save and map it, instead of each reading the graph again and keeping a
        copy of its own. Yields False if `stop()` turned true while waiting (the server is
        closing). The lock is the kernel's (flock): a holder that dies lets go of it."""
        if fcntl is None:
            yield True
            return
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            lock_file = (self.root / _READING_LOCK).open("a")
        except OSError as e:  # the save will fail too: logged there, searched from memory
            log.warning("no lock file in %s, each worker reads the graph itself: %s", self.root, e)
            yield True
            return
        with lock_file as f:
            try:
                locked = _lock(f, stop)
            except OSError as e:  # a filesystem without flock (some network ones)
                log.warning("cannot lock %s, each worker reads the graph itself: %s", f.name, e)
                yield True
                return
            if not locked:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def load(self, stamp: str | None, second: bool, fingerprint: str) -> ResidentVectors | None:
        """The snapshot of `stamp` saved with the graph's passages at `fingerprint`
        (GraphReader.passage_fingerprint), or None when there is none, it was saved from
        other passages, or it cannot be read (it is then deleted, so the next load reads
        the graph and saves it again)."""
        if stamp is None:
            return None
        folder = self._folder(stamp, second)
        if not (folder / "meta.json").is_file():
            return None
        try:
            return _read(folder, stamp, second, fingerprint)
        except (OSError, ValueError, KeyError, TypeError, EOFError) as e:
            log.warning("passage vectors on disk at %s not used (read again): %s", folder, e)
            shutil.rmtree(folder, ignore_errors=True)
            return None

    def save(self, snap: ResidentVectors, fingerprint: str) -> Path | None:
        """Write `snap` (a folder appears whole or not at all), then delete all but the
        newest KEPT snapshots. None when it was not written (no stamp, or a write error,
        which is logged: the server goes on from memory)."""
        if snap.stamp is None:
            return None
        final = self._folder(snap.stamp, snap.second)
        if final.exists():
            return final
        work = self.root / f".{final.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        try:
            work.mkdir(parents=True)
            _write(work, snap, fingerprint)
            work.rename(final)
        except OSError as e:
            shutil.rmtree(work, ignore_errors=True)
            if final.exists():  # another worker wrote the same snapshot meanwhile
                return final
            log.warning("passage vectors not saved to %s: %s", final, e)
            return None
        self._prune()
        return final

    def _prune(self) -> None:
        folders = [p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")]
        folders.sort(key=lambda p: p.stat().st_mtime, reverse=True)
        for old in folders[KEPT:]:
            shutil.rmtree(old, ignore_errors=True)


def _lock(f: IO[str], stop: Callable[[], bool]) -> bool:
    """Take `f`'s exclusive lock, polling so that `stop` is heard; False when it was."""
    while True:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if stop():
                return False
            time.sleep(_LOCK_POLL_SECONDS)


def _write(folder: Path, snap: ResidentVectors, fingerprint: str) -> None:
    spaces: list[dict[str, Any]] = []
    for i, ((second, lang), space) in enumerate(sorted(snap.spaces.items())):
        arrays = dict(zip(_ROWS, (space.matrix, space.doc, space.effective, space.until),
                          strict=True))  # fmt: skip
        if space.coarse is not None:
            arrays |= {"basis": space.coarse.basis, "coarse": space.coarse.rows}
        for name, array in arrays.items():
            _save_array(folder / f"{i}-{name}.npy", array)
        with (folder / f"{i}-info.jsonl").open("w", encoding="utf-8") as f:
            for start in range(0, len(space.info), CHUNK_ROWS):
                rows = [_info_row(p) for p in space.info[start : start + CHUNK_ROWS]]
                f.write(json.dumps(rows, ensure_ascii=False) + "\n")
        spaces.append({"second": second, "lang": lang, "arrays": sorted(arrays)})
    origin = snap.origin
    meta = {"format": FORMAT, "stamp": snap.stamp, "second": snap.second,
            "fingerprint": fingerprint, "documents": snap.documents, "spaces": spaces,
            "origin": {"identity": origin.identity, "writes": origin.writes} if origin else None}  # fmt: skip
    # Written last: a folder with its meta.json has every array before it.
    (folder / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")


_info_row = attrgetter(*INFO_FIELDS)  # PassageInfo's fields, in its order


def _save_array(path: Path, array: npt.NDArray[Any]) -> None:
    """`np.save`, a chunk of rows at a time (see CHUNK_ROWS)."""
    if array.size == 0:
        np.save(path, array)
        return
    out = np.lib.format.open_memmap(path, mode="w+", dtype=array.dtype, shape=array.shape)
    for start in range(0, array.shape[0], CHUNK_ROWS):
        out[start : start + CHUNK_ROWS] = array[start : start + CHUNK_ROWS]
    out.flush()
    del out


def _read(folder: Path, stamp: str, second: bool, fingerprint: str) -> ResidentVectors:
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    if (meta["format"], meta["stamp"], meta["second"]) != (FORMAT, stamp, second):
        raise ValueError(f"it holds format {meta['format']}, stamp {meta['stamp']}")
    if meta["fingerprint"] != fingerprint:
        raise ValueError(
            f"saved from passages {meta['fingerprint']}, the graph's are {fingerprint} "
            "(written since without a new corpus stamp: an ingest that did not finish)"
        )
    spaces: dict[tuple[bool, str], Space] = {}
    for i, entry in enumerate(meta["spaces"]):
        arrays = {name: np.load(folder / f"{i}-{name}.npy", mmap_mode="r", allow_pickle=False)
                  for name in entry["arrays"]}  # fmt: skip
        with (folder / f"{i}-info.jsonl").open(encoding="utf-8") as f:
            info = tuple(PassageInfo(*row) for line in f for row in json.loads(line))
        rowed = [*_ROWS, "coarse"] if "coarse" in arrays else list(_ROWS)
        if any(arrays[name].shape[0] != len(info) for name in rowed):
            raise ValueError(f"space {i} has arrays of other lengths than its passages")
        coarse = Coarse(arrays["basis"], arrays["coarse"]) if "basis" in arrays else None
        lang = str(entry["lang"])
        spaces[(bool(entry["second"]), lang)] = Space(
            lang, arrays["matrix"], arrays["doc"], arrays["effective"], arrays["until"],
            info, coarse,
        )  # fmt: skip
    saved = meta["origin"]
    origin = (
        Origin(str(saved["identity"]), {d: (int(n), w) for d, (n, w) in saved["writes"].items()})
        if saved
        else None
    )
    return ResidentVectors(stamp, meta["documents"], spaces, second, origin)
