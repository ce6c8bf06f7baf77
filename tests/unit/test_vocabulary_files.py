"""The vocabulary files themselves (the graph-facing behaviour is in
tests/integration/test_vocabulary_store.py): written whole, and only the newest kept."""

from __future__ import annotations

import os
from pathlib import Path

from kg.vocabulary_store import KEPT, VocabularyStore


def test_a_saved_vocabulary_loads_back_as_it_was(tmp_path: Path) -> None:
    store = VocabularyStore(tmp_path / "vocabulary")
    terms = {"ja": {"転売", "座席"}, "en": {"seat", "ticket"}}
    store.save("stamp-1|3:w1", terms)
    assert store.load("stamp-1|3:w1") == terms
    assert store.load("stamp-1|4:w2") is None
    assert [p.name for p in store.root.iterdir() if p.name.startswith(".")] == []  # no leftovers


def test_only_the_newest_files_are_kept(tmp_path: Path) -> None:
    store = VocabularyStore(tmp_path)
    keys = [f"stamp-{i}|1:w" for i in range(KEPT + 3)]
    for i, key in enumerate(keys):
        path = store.save(key, {"ja": {str(i)}, "en": set()})
        assert path is not None
        os.utime(path, (1_000 + i, 1_000 + i))  # distinct times, in the order of the saves
    assert [k for k in keys if store.load(k) is not None] == keys[-KEPT:]


def test_an_unwritable_folder_saves_nothing_and_raises_nothing(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    store = VocabularyStore(blocker / "vocabulary")
    assert store.save("stamp|1:w", {"ja": set(), "en": set()}) is None
    assert store.load("stamp|1:w") is None


def test_a_file_without_both_languages_term_lists_is_not_used(tmp_path: Path) -> None:
    store = VocabularyStore(tmp_path)
    path = store.save("stamp|1:w", {"ja": {"座席"}, "en": {"seat"}})
    assert path is not None
    for terms in ('{"ja": ["座席"]}', '{"ja": "座席", "en": "seat"}'):
        path.write_text(f'{{"format": 1, "key": "stamp|1:w", "terms": {terms}}}', encoding="utf-8")
        assert store.load("stamp|1:w") is None
        assert not path.exists()  # deleted: the next start reads the graph and saves again
