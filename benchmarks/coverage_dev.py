"""The coverage report on an evaluation corpus against the gaps its authors wrote into it.

    python benchmarks/coverage_dev.py ../shared/eval/dev/corpus ../shared/eval/dev/GAPS.md
    python benchmarks/coverage_dev.py CORPUS GAPS_MD --today 2026-11-01 --instance coverage-dev

CORPUS is ingested (incrementally) into a local Neo4j instance of its own (default
`coverage-dev`; never `main`, `test` or `eval`), wiped first when it holds another corpus.
The report is computed as of `--today` (default 2026-11-01, the date GAPS.md judges by),
and its findings are compared with the rows of GAPS.md's table on (kind, doc, lang, item),
languages order-free. Prints the matched rows, the missing ones (in GAPS.md, not found),
the extra ones (found, not in GAPS.md) with their reasons, and a JSON summary line.
Exit status 0 when found == expected, 1 otherwise.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

from _bench import bench_settings, emit_json, log, start_instance, wipe

from ingest.pipeline import ingest_corpus
from kg.coverage import CoverageReader
from kg.embedders import make_embedder, make_second_embedder
from search_api.coverage import build_report

Row = tuple[str, str, str, str]


def _langs(cell: str) -> str:
    parts = sorted(p.strip() for p in cell.split(",") if p.strip())
    return ",".join(parts) or "-"


def expected_rows(gaps_md: Path) -> dict[Row, str]:
    """(kind, doc, lang, item) -> reason, from the Markdown table of GAPS.md."""
    out: dict[Row, str] = {}
    for line in gaps_md.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 5 or cells[0] in ("kind", "") or set(cells[0]) <= set("-: "):
            continue
        kind, doc, lang, item, reason = cells
        out[(kind, doc, _langs(lang), item)] = reason
    return out


def _corpus_names(driver: object, database: str) -> set[str]:
    records, _, _ = driver.execute_query(  # type: ignore[attr-defined]
        "MATCH (c:Corpus) RETURN c.name AS name", database_=database
    )
    return {r["name"] for r in records}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("gaps_md", type=Path)
    ap.add_argument("--today", type=dt.date.fromisoformat, default=dt.date(2026, 11, 1))
    ap.add_argument("--instance", default="coverage-dev")
    ap.add_argument("--due-within-days", type=int, default=30)
    args = ap.parse_args(argv)

    settings = bench_settings()
    _, conn = start_instance(settings, args.instance, heap="1g", pagecache="512m")
    name = "coverage-dev"
    with conn.driver() as driver:
        if _corpus_names(driver, conn.database) - {name}:
            log("the instance holds another corpus: wiping it")
            wipe(driver, conn.database)
        t0 = time.perf_counter()
        summary = ingest_corpus(
            args.corpus,
            driver,
            conn.database,
            make_embedder(settings),
            corpus_name=name,
            second=make_second_embedder(settings),
        )
        log(f"ingest: {summary.written} written, {summary.skipped} unchanged, "
            f"{len(summary.errors)} errors, {time.perf_counter() - t0:.1f} s")  # fmt: skip
        for e in summary.errors:
            log(f"  {e}")
        t0 = time.perf_counter()
        report = build_report(CoverageReader(driver, conn.database), args.today,
                              args.due_within_days)  # fmt: skip
        seconds = time.perf_counter() - t0

    found = {f.key: f.reason for f in report.findings}
    expected = expected_rows(args.gaps_md)
    matched = sorted(set(found) & set(expected))
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    print(f"coverage report as of {args.today} over {args.corpus} ({seconds:.2f} s)")
    print(f"expected {len(expected)}, found {len(found)}: matched {len(matched)}, "
          f"missing {len(missing)}, extra {len(extra)}\n")  # fmt: skip
    for row in matched:
        print("  ok      " + " | ".join(row) + f"  -- {found[row]}")
    for row in missing:
        print("  MISSING " + " | ".join(row) + f"  -- GAPS.md: {expected[row]}")
    for row in extra:
        print("  EXTRA   " + " | ".join(row) + f"  -- {found[row]}")
    emit_json({
        "benchmark": "coverage_dev", "corpus": str(args.corpus), "today": str(args.today),
        "expected": len(expected), "found": len(found), "matched": len(matched),
        "missing": [list(r) for r in missing], "extra": [list(r) for r in extra],
        "report_seconds": round(seconds, 3),
    })  # fmt: skip
    return 0 if not missing and not extra else 1


if __name__ == "__main__":
    sys.exit(main())
