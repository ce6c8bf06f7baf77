"""The graph's vocabulary kept on disk between starts (SOPKG_VOCABULARY_CACHE).

A server reads the terms of every current passage (GraphReader.vocabulary: they filter the
general dictionary's translations) before it serves: 3-11 s at 100,000 passages and half a
minute at a million, at every start although the corpus rarely changed in between. The
terms come back from a small file in well under a second.

Like the passage vectors' snapshots (kg.resident_store), a file is named by the corpus
stamp, a random id every ingest that changes the graph sets anew, and the passages' write fingerprint, which
also moves when an ingest killed midway wrote documents without a new stamp: a file
either holds the current graph's terms or is not used. A graph without a stamp is never
saved, nor is a read during which the graph changed. A file that cannot be read is
deleted and the graph read again: the cache can only cost a read.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import uuid
from pathlib import Path
from typing import Protocol

from kg.settings import Settings
from ontology.vocabulary import LANGUAGES  # the keys GraphReader.vocabulary always gives

log = logging.getLogger("sopkg.vocabulary")

FORMAT = 1
# Files kept after a save, newest first. More than the corpus versions one server needs
# (the new one and the one before, which another worker may still be on): the graphs of a
# state dir share the folder (a server's, and `sopkg eval`'s one per set), and a file is
# small (80 KB at 100,000 synthetic passages).
KEPT = 8

Terms = dict[str, set[str]]  # language -> terms, as GraphReader.vocabulary gives them


class VocabularySource(Protocol):
    """What the store needs of a graph reader (kg.reader.GraphReader)."""

    def corpus_stamp(self) -> str | None: ...

    def passage_fingerprint(self) -> str: ...

    def vocabulary(self, page: int = ..., stop: threading.Event | None = ...) -> Terms: ...


class VocabularyStore:
    """Vocabulary files under `root`, one per corpus stamp and passage fingerprint."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def read(self, reader: VocabularySource, stop: threading.Event | None = None) -> Terms:
        """The graph's vocabulary: from the file saved for the graph as it is now, else
        read from the graph (and saved when the graph did not change during the read)."""
        key = _key(reader)
        if key is not None:
            saved = self.load(key)
            if saved is not None:
                return saved
        terms = reader.vocabulary(stop=stop)
        stopped = stop is not None and stop.is_set()  # a read stopped between pages is partial
        if key is not None and not stopped and _key(reader) == key:
            self.save(key, terms)
        return terms

    def load(self, key: str) -> Terms | None:
        path = self._path(key)
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if (data["format"], data["key"]) != (FORMAT, key):
                raise ValueError(f"it holds format {data['format']}, key {data['key']}")
            terms = {str(lang): {str(t) for t in ts} for lang, ts in data["terms"].items()}
            if set(terms) != set(LANGUAGES) or not all(
                isinstance(ts, list) for ts in data["terms"].values()
            ):
                raise ValueError("it does not hold one list of terms per language")
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            log.warning("vocabulary on disk at %s not used (read again): %s", path, e)
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        with contextlib.suppress(OSError):  # used: the newest again, last to be pruned
            os.utime(path)
        return terms

    def save(self, key: str, terms: Terms) -> Path | None:
        """Write the file whole or not at all (a write error is logged: the server goes on
        with the terms it read), then delete all but the newest KEPT files."""
        path = self._path(key)
        work = self.root / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        data = {"format": FORMAT, "key": key,
                "terms": {lang: sorted(ts) for lang, ts in sorted(terms.items())}}  # fmt: skip
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            work.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            work.replace(path)
        except OSError as e:
            with contextlib.suppress(OSError):
                work.unlink()
            log.warning("vocabulary not saved to %s: %s", path, e)
            return None
        self._prune()
        return path

    def _path(self, key: str) -> Path:
        # Stamps are ids and fingerprints "count:stamp"; a digest keeps any key a plain name.
        return self.root / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.json"

    def _prune(self) -> None:
        try:
            files = sorted(((p.stat().st_mtime, p) for p in self.root.glob("*.json")), reverse=True)
        except OSError as e:  # a file pruned by another process meanwhile: next save's turn
            log.info("vocabulary files not pruned: %s", e)
            return
        for _, old in files[KEPT:]:
            with contextlib.suppress(OSError):  # another process's prune came first
                old.unlink()


def vocabulary_store(settings: Settings) -> VocabularyStore | None:
    """The store the settings ask for: <state_dir>/vocabulary, or None when switched off."""
    return VocabularyStore(settings.state_dir / "vocabulary") if settings.vocabulary_cache else None


def read_vocabulary(
    reader: VocabularySource, store: VocabularyStore | None, stop: threading.Event | None = None
) -> Terms:
    """The graph's vocabulary, through `store` when there is one."""
    return store.read(reader, stop) if store is not None else reader.vocabulary(stop=stop)


def _key(reader: VocabularySource) -> str | None:
    stamp = reader.corpus_stamp()
    return None if stamp is None else f"{stamp}|{reader.passage_fingerprint()}"
