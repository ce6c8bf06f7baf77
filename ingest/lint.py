"""`sopkg lint`: parse and check a corpus, print every finding as `file:line: rule: message`."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from ingest.corpus import load_corpus
from ingest.model import Corpus, Issue


def lint(root: Path) -> Corpus:
    """Parse and check the corpus at root; the findings are in `Corpus.issues`."""
    return load_corpus(root)


def format_issues(issues: Iterable[Issue]) -> str:
    """One line per issue, `file:line: rule: message` (warnings say `warning:` first)."""
    return "\n".join(str(issue) for issue in issues)


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def summary(corpus: Corpus) -> str:
    n_files = len(corpus.files) + len(corpus.broken)
    return ", ".join(
        [
            f"{_plural(n_files, 'file')} ({len(corpus.broken)} broken)",
            _plural(len(corpus.documents()), "document"),
            _plural(len(corpus.errors), "error"),
            _plural(len(corpus.warnings), "warning"),
        ]
    )


def run_lint(root: Path, out: TextIO | None = None) -> int:
    """Print every issue and a summary line; exit code 1 if any error, else 0."""
    # Resolved at call time, not as a default argument, so captured/redirected stdout works.
    stream = out if out is not None else sys.stdout
    corpus = lint(root)
    if corpus.issues:
        print(format_issues(corpus.issues), file=stream)
    print(summary(corpus), file=stream)
    return 1 if corpus.errors else 0
