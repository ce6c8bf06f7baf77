"""The checks of output paths that `sopkg eval` and the public-set benchmarks make before any
work."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from kg.errors import InvalidInput
from sopkg.outputs import writable_file, writable_folder


def test_a_new_report_file_is_probed_and_not_left_behind(tmp_path: Path) -> None:
    target = tmp_path / "made" / "report.json"
    writable_file("--out", str(target))
    assert target.parent.is_dir()
    assert not target.exists()


def test_an_existing_report_file_keeps_its_content(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("last week's report", encoding="utf-8")
    writable_file("--out", str(target))
    assert target.read_text(encoding="utf-8") == "last week's report"


@pytest.mark.parametrize("check", [writable_file, writable_folder])
def test_a_path_under_a_file_is_refused_with_the_flag(
    tmp_path: Path, check: Callable[[str, str], object]
) -> None:
    taken = tmp_path / "a-file"
    taken.write_text("x", encoding="utf-8")
    with pytest.raises(InvalidInput) as e:
        check("--flag", str(taken / "below"))
    assert "--flag" in str(e.value)
    assert str(taken / "below") in str(e.value)


@pytest.mark.parametrize(
    ("script", "flag"),
    [
        ("jaquad.py", "--out"),
        ("jaquad.py", "--runs"),
        ("tatoeba.py", "--out"),
        ("tatoeba.py", "--runs"),
        ("glossary_ablation.py", "--out"),
    ],
)
def test_the_long_benchmarks_refuse_an_output_before_any_work(
    tmp_path: Path, script: str, flag: str
) -> None:
    taken = tmp_path / "a-file"
    taken.write_text("x", encoding="utf-8")
    root = Path(__file__).resolve().parents[2]
    # Sets that do not exist: the refusal comes before anything reads them.
    data = ["--set", str(tmp_path / "c"), str(tmp_path / "q")]
    if script != "glossary_ablation.py":
        data = ["--data", str(tmp_path / "none")]
    done = subprocess.run(
        [sys.executable, str(root / "benchmarks" / script), *data, flag, str(taken / "below")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert f"error: {flag}: {taken / 'below'}" in done.stderr
    assert taken.read_text(encoding="utf-8") == "x"
