"""Translation-drift findings on evaluation corpora, for judging their precision by hand.

    python benchmarks/translation_drift.py ../shared/eval/dev/corpus ../shared/eval/dev-xl/corpus sample_corpus

Each corpus in turn is ingested into a local Neo4j instance of its own (default
`drift-dev`, wiped first; never `main`, `test` or `eval`), the coverage report is built as
of `--today`, and every `translation-drift` finding is printed with its reason, after the
number of statement pairs compared (statements of a translation that follows its source's
current version). Then a recall check on planted changes: in every compared pair whose
translation names a quantity, that first quantity's number alone is tripled (`30日` ->
`90日`), and the pair is compared again; the share found is printed. A JSON summary line per
corpus ends the output. docs/coverage.md lists
each finding with the judgement (right, or a false alarm and why).
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from pathlib import Path

from _bench import bench_settings, emit_json, log, start_instance, wipe

from ingest.pipeline import ingest_corpus
from kg.coverage import CoverageReader
from kg.embedders import make_embedder
from ontology.governance import FindingKind
from search_api.coverage.drift import disagreements, quantities
from search_api.coverage.findings import Analysis, collect_facts

NUMBER = re.compile(r"\d+")


def planted(text: str, lang: str) -> str | None:
    """The text with the digits of its first quantity tripled, None without one."""
    found = quantities(text, lang)
    if not found:
        return None
    digits = NUMBER.search(found[0].text)
    if digits is None:
        return None
    at = text.find(found[0].text)
    if at < 0:
        return None
    start = at + digits.start()
    return text[:start] + str(int(digits.group(0)) * 3) + text[start + len(digits.group(0)) :]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpora", type=Path, nargs="+")
    ap.add_argument("--today", type=dt.date.fromisoformat, default=dt.date(2026, 11, 1))
    ap.add_argument("--instance", default="drift-dev")
    args = ap.parse_args(argv)

    settings = bench_settings()
    embedder = make_embedder(settings)
    _, conn = start_instance(settings, args.instance, heap="1g", pagecache="512m")
    with conn.driver() as driver:
        for corpus in args.corpora:
            wipe(driver, conn.database)
            summary = ingest_corpus(corpus, driver, conn.database, embedder, corpus_name="drift")
            log(f"{corpus}: {summary.written} written, {len(summary.errors)} errors")
            facts = collect_facts(CoverageReader(driver, conn.database), embeddings=False)
            analysis = Analysis(facts, args.today)
            pairs = sum(1 for _ in analysis.current_translations())
            drift = [f for f in analysis.findings() if f.kind is FindingKind.TRANSLATION_DRIFT]
            print(f"\n{corpus}: {pairs} statement pairs of current translations, "
                  f"{len(drift)} translation-drift findings")  # fmt: skip
            for f in drift:
                print(f"  {f.doc} {f.item} [{f.lang}]: {f.reason}")
            tried = caught = 0
            for _, _, _, st, a, b in analysis.current_translations():
                changed = planted(b.text, b.lang)
                if changed is None or disagreements(a.text, a.lang, b.text, b.lang, st.kind):
                    continue
                tried += 1
                caught += bool(disagreements(a.text, a.lang, changed, b.lang, st.kind))
            print(f"  planted changes (first quantity of the translation tripled): "
                  f"{caught} of {tried} found")  # fmt: skip
            emit_json({
                "benchmark": "translation_drift", "corpus": str(corpus),
                "pairs": pairs, "findings": [[f.doc, f.item, f.reason] for f in drift],
                "planted": tried, "planted_found": caught,
            })  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
