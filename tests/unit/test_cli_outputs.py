"""The checks `sopkg eval` makes of its output paths before any work."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kg.errors import InvalidInput
from sopkg.cli import _writable_file, _writable_folder


def test_a_new_report_file_is_probed_and_not_left_behind(tmp_path: Path) -> None:
    target = tmp_path / "made" / "report.json"
    _writable_file("--out", str(target))
    assert target.parent.is_dir()
    assert not target.exists()


def test_an_existing_report_file_keeps_its_content(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("last week's report", encoding="utf-8")
    _writable_file("--out", str(target))
    assert target.read_text(encoding="utf-8") == "last week's report"


@pytest.mark.parametrize("check", [_writable_file, _writable_folder])
def test_a_path_under_a_file_is_refused_with_the_flag(
    tmp_path: Path, check: Callable[[str, str], object]
) -> None:
    taken = tmp_path / "a-file"
    taken.write_text("x", encoding="utf-8")
    with pytest.raises(InvalidInput) as e:
        check("--flag", str(taken / "below"))
    assert "--flag" in str(e.value)
    assert str(taken / "below") in str(e.value)
