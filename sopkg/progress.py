"""The command line's progress bars (tqdm), drawn on standard error only when it is a
terminal and JSON alone was not asked for: library code reports `ProgressEvent`s through
a callback and never prints."""

from __future__ import annotations

import shutil
import sys
from typing import TextIO

from tqdm import tqdm

from ingest.progress import ProgressEvent


class ProgressBars:
    """A callback drawing one bar per stage (ingest, then each eval mode, ...): count,
    percentage, rate and time left, and the passages embedded so far."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.stage: str | None = None
        self.bar: tqdm[None] | None = None

    def __call__(self, event: ProgressEvent) -> None:
        if event.stage != self.stage or self.bar is None:
            self.close()
            self.stage = event.stage
            size = shutil.get_terminal_size()
            self.bar = tqdm(
                total=event.total, unit=f" {event.unit}", desc=event.stage, file=self.stream,
                # COLUMNS/LINES, else the terminal's size, else 80x24: a terminal that
                # says 0x0 (a new pty) would otherwise make tqdm draw nothing.
                ncols=size.columns, nrows=size.lines, leave=True,
            )  # fmt: skip
        bar = self.bar
        bar.total = event.total
        if event.unit != "passages":
            bar.set_postfix_str(f"{event.passages} passages {event.label}"[:48], refresh=False)
        bar.update(event.done - bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def progress_bars(json_only: bool, stream: TextIO | None = None) -> ProgressBars | None:
    """Bars on a terminal; None (no output at all) otherwise or with --json."""
    out = stream if stream is not None else sys.stderr
    if json_only or not out.isatty():
        return None
    return ProgressBars(out)
