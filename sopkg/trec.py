"""An evaluation's raw results in the TREC formats, so that any tool (trec_eval, ranx,
pytrec_eval) or a reviewer's own script can score `sopkg eval`'s rankings again.

A judged unit is a statement (`doc`, "item", `p1`) or a section (`doc`, "section",
`overview`); in these files it is one token, `doc:item:p1`, each part percent-encoded so
that the formats' whitespace split keeps it whole. A set's `<name>.qrels` holds its
judgements (`query 0 unit grade`); its `<name>.<mode>.run` the ranking of each query in
that mode (`query Q0 unit rank score sopkg-<mode>`), the score falling with the rank so
that every tool keeps the product's order (trec_eval sorts by score, not by rank).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import quote

Unit = tuple[str, str, str]  # (doc, "item" | "section", id)


def unit_id(unit: Unit) -> str:
    return ":".join(quote(part, safe="-_.~") for part in unit)


def qrels_lines(grades: Mapping[str, Mapping[Unit, int]]) -> list[str]:
    """`grades`: query id -> unit -> grade, in the queries file's order."""
    return [
        f"{qid} 0 {unit_id(unit)} {grade}"
        for qid, judged in grades.items()
        for unit, grade in sorted(judged.items())
    ]


def run_lines(ranked: Mapping[str, Sequence[str]], mode: str) -> list[str]:
    """`ranked`: query id -> its results as unit ids, best first."""
    return [
        f"{qid} Q0 {uid} {rank} {len(units) - rank + 1} sopkg-{mode}"
        for qid, units in ranked.items()
        for rank, uid in enumerate(units, start=1)
    ]


def file_stems(names: Sequence[str], instances: Sequence[str]) -> list[str]:
    """Each set's file name: its name, or its eval instance's when two sets share one."""
    pairs = zip(names, instances, strict=True)
    return [name if names.count(name) == 1 else inst.removeprefix("eval-") for name, inst in pairs]


def write_set(
    folder: Path,
    stem: str,
    grades: Mapping[str, Mapping[Unit, int]],
    rankings: Mapping[str, Mapping[str, Sequence[str]]],
) -> list[Path]:
    """`rankings`: mode -> query id -> unit ids. The files written, qrels first."""
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / f"{stem}.qrels"]
    written[0].write_text("\n".join(qrels_lines(grades)) + "\n", encoding="utf-8")
    for mode, ranked in rankings.items():
        path = folder / f"{stem}.{mode}.run"
        lines = run_lines(ranked, mode)
        path.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
        written.append(path)
    return written
