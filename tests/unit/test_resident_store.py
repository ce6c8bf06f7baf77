"""Snapshots on disk (kg.resident_store): what comes back searches exactly as what was
saved, mapped read-only; another stamp, a damaged file or a graph without a stamp is never
used. A server's restart from the store against a real graph is in
tests/integration/test_resident_graph.py."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from kg import resident_store
from kg.reader import HitFilter
from kg.resident import Origin, ResidentVectors
from kg.resident_store import KEPT, ResidentStore
from tests.unit.test_resident import DAY, DOCS, QUERY, large_space, snapshot

FP = "6:00000000000000000001-abcdef01"  # passages and latest write, as the graph gives them
FILTERS = [
    HitFilter(as_of=DAY),
    HitFilter(as_of=DAY - dt.timedelta(days=1)),
    HitFilter(as_of=DAY, markets=["JP", "ALL"]),
    HitFilter(as_of=DAY, topic="creators", hidden_docs=("a",)),
]


# What the graph's documents were at the read: the refresh after the next ingest starts here.
ORIGIN = Origin(
    '["e5", "use", "epoch"]', {"a": (4, "00000000000000000001-abcdef01"), "b": (2, None)}
)


@pytest.mark.parametrize("chunk", [resident_store.CHUNK_ROWS, 4], ids=["one chunk", "chunks"])
@pytest.mark.parametrize("origin", [ORIGIN, None], ids=["origin", "no origin"])
def test_a_saved_snapshot_comes_back_the_same_and_read_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int, origin: Origin | None
) -> None:
    monkeypatch.setattr(resident_store, "CHUNK_ROWS", chunk)  # six passages: two chunks of 4
    snap = snapshot()
    snap.origin = origin
    store = ResidentStore(tmp_path)
    folder = store.save(snap, FP)
    assert folder is not None and (folder / "meta.json").is_file()
    back = store.load("stamp", second=False, fingerprint=FP)
    assert back is not None
    assert (back.stamp, back.second, back.passages, back.documents, back.origin) == (
        snap.stamp, snap.second, snap.passages, snap.documents, origin,
    )  # fmt: skip
    for flt in FILTERS:
        assert back.vector(QUERY, "en", flt, 10) == snap.vector(QUERY, "en", flt, 10)
    assert back.document_passages({"en": QUERY}, ["a", "b"], DAY) == snap.document_passages(
        {"en": QUERY}, ["a", "b"], DAY
    )
    space = back.spaces[(False, "en")]
    assert space.info == snap.spaces[(False, "en")].info
    assert isinstance(space.matrix, np.memmap) and not space.matrix.flags.writeable
    assert store.save(snap, FP) == folder  # already there: not written twice


def test_the_first_pass_comes_back_too(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    two_pass, _ = large_space(monkeypatch)
    snap = ResidentVectors("big", DOCS, {(False, "en"): two_pass})
    store = ResidentStore(tmp_path)
    store.save(snap, FP)
    back = store.load("big", second=False, fingerprint=FP)
    assert back is not None and back.nbytes == snap.nbytes
    coarse = back.spaces[(False, "en")].coarse
    assert coarse is not None and two_pass.coarse is not None
    np.testing.assert_array_equal(coarse.rows, two_pass.coarse.rows)
    rng = np.random.default_rng(5)
    for _ in range(5):
        query = [float(x) for x in rng.standard_normal(64)]
        assert back.vector(query, "en", HitFilter(as_of=DAY), 20) == snap.vector(
            query, "en", HitFilter(as_of=DAY), 20
        )


def test_only_the_same_stamp_and_spaces_are_used(tmp_path: Path) -> None:
    store = ResidentStore(tmp_path)
    store.save(snapshot(), FP)
    assert store.load("another", second=False, fingerprint=FP) is None
    assert (
        store.load("stamp", second=True, fingerprint=FP) is None
    )  # saved without the second space
    assert store.load(None, second=False, fingerprint=FP) is None
    unstamped = ResidentVectors(None, DOCS, snapshot().spaces)
    assert store.save(unstamped, FP) is None  # a graph without a stamp can change unseen


def test_a_snapshot_of_other_passages_is_not_used(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Same stamp, but documents written since (an ingest killed before its new stamp)."""
    store = ResidentStore(tmp_path)
    folder = store.save(snapshot(), FP)
    with caplog.at_level(logging.WARNING, logger="sopkg.resident"):
        assert store.load("stamp", second=False, fingerprint="7:00000000000000000002-0") is None
    assert "an ingest that did not finish" in caplog.text
    assert folder is not None and not folder.exists()


@pytest.mark.parametrize("damage", ["truncated array", "meta not JSON", "array missing"])
def test_a_damaged_snapshot_is_not_used_and_goes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    store = ResidentStore(tmp_path)
    folder = store.save(snapshot(), FP)
    assert folder is not None
    array = folder / "0-matrix.npy"
    if damage == "truncated array":
        array.write_bytes(array.read_bytes()[:-8])
    elif damage == "meta not JSON":
        (folder / "meta.json").write_text("{", encoding="utf-8")
    else:
        array.unlink()
    with caplog.at_level(logging.WARNING, logger="sopkg.resident"):
        assert store.load("stamp", second=False, fingerprint=FP) is None
    assert "not used" in caplog.text and not folder.exists()
    assert store.save(snapshot(), FP) == folder  # and the next load's save writes it again


def test_a_save_keeps_the_newest_snapshots(tmp_path: Path) -> None:
    store = ResidentStore(tmp_path)
    spaces = snapshot().spaces
    folders = []
    for i in range(KEPT + 2):
        folder = store.save(ResidentVectors(f"s{i}", DOCS, spaces), FP)
        assert folder is not None
        folders.append(folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f.name for f in folders[-KEPT:])


def test_a_folder_that_cannot_be_written_is_logged_and_the_server_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "a file"
    blocked.write_text("not a folder", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="sopkg.resident"):
        with ResidentStore(blocked).reading(stop=lambda: False) as mine:
            assert mine  # no lock to take: this worker reads the graph itself
        assert ResidentStore(blocked).save(snapshot(), FP) is None
    assert "no lock file" in caplog.text
    assert "not saved" in caplog.text


def test_one_worker_at_a_time_reads_and_a_closing_one_stops_waiting(tmp_path: Path) -> None:
    store = ResidentStore(tmp_path / "resident")  # made on first use
    events: list[str] = []

    def other_worker() -> None:  # its own open file, as another process's
        with store.reading(stop=lambda: False) as mine:
            events.append(f"other reads: {mine}")

    with store.reading(stop=lambda: False) as mine:
        assert mine
        waiting = threading.Thread(target=other_worker)
        waiting.start()
        time.sleep(0.5)
        assert events == []  # it waits while this one reads
        with store.reading(stop=lambda: True) as closing:
            assert closing is False  # a server closing meanwhile gives up at once
        events.append("first done")
    waiting.join(10)
    assert events == ["first done", "other reads: True"]
    assert [p.name for p in store.root.iterdir()] == [".reading.lock"]  # no snapshot folder


def test_a_filesystem_without_locks_lets_each_worker_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def no_locks(fd: object, op: int) -> None:
        raise OSError(37, "No locks available")  # ENOLCK, as some network filesystems say

    monkeypatch.setattr(resident_store.fcntl, "flock", no_locks)
    with caplog.at_level(logging.WARNING, logger="sopkg.resident"):
        with ResidentStore(tmp_path).reading(stop=lambda: False) as mine:
            assert mine  # this worker reads the graph itself, as before the lock
    assert "cannot lock" in caplog.text
