"""Every command line written in the README and docs/ works as written.

The command lines are read from the Markdown files (fenced shell blocks and inline code
spans), so a new doc is covered without touching this test. Each `sopkg` line must parse
with the real argument parser (every flag, choice and value as written; synopsis lines
like `sopkg neo4j start|stop` or `[--format md|json|html]` are expanded into each
variant, placeholders like CORPUS get a sample value); the ones that run offline
(`sopkg lint` of a folder that exists) are run, and for the rest `sopkg <command> --help`
must succeed. Each `python benchmarks/X.py` line: the script exists, `--help` succeeds and
names every flag the line uses. Each `make X`: the Makefile has target X.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from sopkg.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[2]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL_FENCES = {"bash", "sh", "shell", "console", ""}
PLACEHOLDERS = {
    "CORPUS": "sample_corpus",
    "DIR": "sample_corpus",
    "FILE": "queries.jsonl",
    "NAME": "IPR Team",
    "DATE": "2026-01-01",
    "N": "2",
}
ENV_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")


@dataclass(frozen=True)
class DocCommand:
    where: str  # file:line
    argv: tuple[str, ...]
    mention: bool = False  # an inline code span: may name a command without its arguments

    def __str__(self) -> str:
        return f"{self.where}: {shlex.join(self.argv)}"


def _shell_lines(text: str) -> list[tuple[int, str, bool]]:
    """(line number, command text, inline?) from fenced shell blocks and code spans."""
    out: list[tuple[int, str, bool]] = []
    fence: str | None = None
    pending = ""
    start = 0
    for n, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("```"):
            fence = None if fence is not None else stripped[3:].strip().lower()
            continue
        if fence is not None:
            if fence not in SHELL_FENCES:
                continue
            if not pending:
                start = n
            pending += stripped.removeprefix("$ ")
            if pending.endswith("\\"):
                pending = pending[:-1] + " "
                continue
            out.append((start, pending, False))
            pending = ""
            continue
        out.extend((n, span, True) for span in re.findall(r"`([^`]+)`", line))
    return out


def _commands(text: str) -> list[str]:
    """The separate commands of one line: `a && b`, `a / b`, `$(inner)`, comments dropped."""
    inner = re.findall(r"\$\(([^)]*)\)", text)
    text = re.sub(r"\$\([^)]*\)", "X", text)
    parts = re.split(r"\s(?:&&|;|\|\||\||/)\s", text)  # "a / b" names two commands
    return [p.strip() for p in [*parts, *inner] if p.strip()]


def _tokens(command: str) -> list[str] | None:
    try:
        words = shlex.split(command, comments=True)
    except ValueError:
        return None
    while words and ENV_ASSIGNMENT.match(words[0]):
        words = words[1:]
    if words[:1] == ["eval"]:
        return None
    return words


def _variants(words: list[str]) -> list[tuple[str, ...]]:
    """A synopsis expanded: [optional] kept, a|b|c alternatives, placeholders filled."""
    choices: list[list[str]] = []
    for word in words:
        word = word.strip("[]")
        if not word or word == "...":
            continue
        alternatives = word.split("|") if "|" in word and not word.startswith("-") else [word]
        choices.append([PLACEHOLDERS.get(a, a) for a in alternatives])
    return list(itertools.product(*choices))


def collect() -> tuple[list[DocCommand], list[DocCommand], list[DocCommand]]:
    sopkg: list[DocCommand] = []
    bench: list[DocCommand] = []
    make: list[DocCommand] = []
    for doc in DOC_FILES:
        for line_no, text, inline in _shell_lines(doc.read_text(encoding="utf-8")):
            where = f"{doc.relative_to(ROOT)}:{line_no}"
            for command in _commands(text):
                words = _tokens(command)
                if not words:
                    continue
                if words[:3] in (["python", "-m", "sopkg.cli"], ["python3", "-m", "sopkg.cli"]):
                    words = ["sopkg", *words[3:]]
                if words[0] == "sopkg" and len(words) > 1:
                    sopkg += [DocCommand(where, v[1:], inline) for v in _variants(words)]
                elif (
                    words[0] in ("python", "python3")
                    and words[1:2]
                    and words[1].startswith("benchmarks/")
                ):
                    bench.append(DocCommand(where, tuple(words[1:])))
                elif words[0] == "make" and len(words) > 1:
                    make.append(DocCommand(where, tuple(words[1:])))
    return sopkg, bench, make


SOPKG, BENCH, MAKE = collect()


def test_the_docs_have_commands_to_check() -> None:
    assert len(SOPKG) >= 30 and len(BENCH) >= 8 and len(MAKE) >= 2
    subcommands = {c.argv[0] for c in SOPKG}
    assert {"lint", "ingest", "search", "coverage", "changes", "eval", "up"} <= subcommands


def _parse(argv: tuple[str, ...]) -> str | None:
    """None when the command line parses; else argparse's message."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            build_parser().parse_args(list(argv))
        except SystemExit as e:
            if e.code != 0:
                return err.getvalue().strip()
    return None


@pytest.mark.parametrize("command", SOPKG, ids=str)
def test_sopkg_command_lines_work_as_written(
    command: DocCommand, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    problem = _parse(command.argv)
    if problem and command.mention and "arguments are required" in problem:
        problem = None  # `sopkg search` named in a sentence: --help below checks it
    assert problem is None, f"{command}\n{problem}"
    argv = list(command.argv)
    if argv[0] == "lint" and "--help" not in argv and (ROOT / argv[-1]).is_dir():
        assert main(argv) in (0, 1)  # runs offline: 1 would be errors in that corpus
        assert "file" in capsys.readouterr().out
        return
    subcommand = argv[:2] if argv[0] == "neo4j" else argv[:1]
    with pytest.raises(SystemExit) as done:
        main([*subcommand, "--help"])
    assert done.value.code == 0
    assert "usage: sopkg" in capsys.readouterr().out


@cache
def _help(script: str) -> str:
    run = subprocess.run(
        [sys.executable, script, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout


@pytest.mark.parametrize("command", BENCH, ids=str)
def test_benchmark_command_lines_name_real_flags(command: DocCommand) -> None:
    script = command.argv[0]
    assert (ROOT / script).is_file(), command
    usage = _help(script)
    for flag in (w.split("=")[0] for w in command.argv[1:] if w.startswith("--")):
        assert flag in usage, f"{command}: {flag} is not an option of {script}"


@pytest.mark.parametrize("command", MAKE, ids=str)
def test_make_targets_exist(command: DocCommand) -> None:
    targets = set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(), re.M))
    for target in command.argv:
        if "=" not in target:
            assert target in targets, command
