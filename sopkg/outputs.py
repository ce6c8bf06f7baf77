"""Where a long command will write its results, checked before it starts: a path that
cannot be written is refused at once, not found after minutes of work that it then loses.
`sopkg eval` and the benchmarks that run it (jaquad.py, tatoeba.py, glossary_ablation.py) call
these."""

from __future__ import annotations

from pathlib import Path

from kg.errors import InvalidInput


def writable_folder(flag: str, path: str | Path) -> Path:
    """The folder, made now if need be."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InvalidInput(
            flag, f"{path}: cannot make a folder there ({e.strerror or e})"
        ) from None
    return folder


def writable_file(flag: str, path: str | Path) -> Path:
    """The file, once a probe shows it can be written; its folder is made if need be. The
    probe neither empties an existing file nor leaves a new one behind."""
    file = Path(path)
    if file.is_dir():
        raise InvalidInput(flag, f"{path}: is a folder, not a file")
    if file.parent.exists() and not file.parent.is_dir():
        raise InvalidInput(flag, f"{path}: {file.parent} is a file, not a folder")
    existed = file.exists()
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        with file.open("a", encoding="utf-8"):
            pass
    except OSError as e:
        raise InvalidInput(flag, f"{path}: cannot write there ({e.strerror or e})") from None
    if not existed:
        file.unlink()
    return file
