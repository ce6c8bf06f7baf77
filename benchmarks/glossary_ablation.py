"""How much of the ranking rests on the corpus glossary: the same judged sets evaluated with
their full glossary and with only a seeded share of its term groups, compared query by query
(`sopkg eval --against`'s comparison: wins, losses, a paired randomisation test).

A held-out corpus comes with its knowledge owners' glossary, which may cover its queries'
words less well than the dev corpora's cover theirs. This measures what that costs, without
editing any glossary: the copies live under .sopkg/ablation/<set>-keep<NN>/corpus, each with
its own eval instance (stopped at the end; the copies and graphs are reused next time).

usage: python3 benchmarks/glossary_ablation.py --set CORPUS QUERIES [--set CORPUS QUERIES]
           [--keep 0 --keep 0.5] [--seed 7] [--mode hybrid --mode dense] [--param FIELD=VALUE]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _bench import check_outputs, log, machine  # noqa: E402

from ingest.corpus import GLOSSARY_FILE  # noqa: E402
from kg.embedders import make_embedder  # noqa: E402
from kg.local_neo4j import LocalNeo4j  # noqa: E402
from kg.settings import get_settings  # noqa: E402
from search_api.fusion import served_fusion  # noqa: E402
from sopkg.comparison import compare_reports, comparison_table  # noqa: E402
from sopkg.evaluation import EvalSet, fusion_config, run_eval, summary_table  # noqa: E402


def ablated_copy(eset: EvalSet, keep: float, seed: int, work: Path) -> EvalSet | None:
    """A copy of the set's corpus whose glossary keeps each term group with probability
    `keep` (the same groups for the same seed); None when the corpus has no glossary."""
    source = eset.corpus / GLOSSARY_FILE
    if not source.is_file():
        return None
    dest = work / f"{eset.name}-keep{round(keep * 100):02d}" / "corpus"
    # A fresh copy (a file gone from the corpus must go from the copy); the graph of an
    # earlier run is kept, and ingest only re-embeds what changed.
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(eset.corpus, dest)
    glossary = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    rng = random.Random(seed)
    groups = [g for g in glossary.get("terms") or [] if rng.random() < keep]
    text = yaml.safe_dump({**glossary, "terms": groups}, allow_unicode=True, sort_keys=False)
    (dest / GLOSSARY_FILE).write_text(text, encoding="utf-8")
    log(f"{eset.name}: {len(groups)} of {len(glossary.get('terms') or [])} term groups kept")
    return EvalSet(dest, eset.queries)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", nargs=2, action="append", required=True,
                    metavar=("CORPUS", "QUERIES"))  # fmt: skip
    ap.add_argument("--keep", type=float, action="append",
                    help="share of term groups kept (repeatable; default 0 and 0.5)")  # fmt: skip
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--mode", action="append", choices=["hybrid", "fused", "lexical", "dense"])
    ap.add_argument("--param", action="append", default=[], metavar="FIELD=VALUE")
    ap.add_argument("--out", type=Path, help="every report and comparison as JSON")
    args = ap.parse_args()
    keeps = args.keep or [0.0, 0.5]
    if any(not 0 <= k <= 1 for k in keeps):
        ap.error("--keep is a share between 0 and 1")
    check_outputs(ap, args.out)
    settings = get_settings()
    embedder = make_embedder(settings)
    fusion = fusion_config(None, args.param, served_fusion(settings))
    modes = args.mode or ["hybrid", "dense"]
    sets = [EvalSet(Path(c), Path(q)) for c, q in args.set]
    work = settings.state_dir / "ablation"

    full = run_eval(settings, embedder, sets, modes, with_per_query=True, fusion=fusion)
    print("Full glossaries:\n" + summary_table(full))
    out: dict[str, Any] = {"benchmark": "glossary_ablation", "seed": args.seed, "full": full}
    line: dict[str, Any] = {}
    for keep in keeps:
        pairs = [(s, ablated_copy(s, keep, args.seed, work)) for s in sets]
        pairs_with = [(s, a) for s, a in pairs if a is not None]
        if not pairs_with:
            log("no set has a glossary to ablate")
            break
        report = run_eval(
            settings, embedder, [a for _, a in pairs_with], modes, with_per_query=True,
            fusion=fusion,
        )  # fmt: skip
        # Named as the full sets, so that the comparison pairs them.
        for (s, _), r in zip(pairs_with, report["sets"], strict=True):
            r["name"] = s.name
        comparison = compare_reports(full, report)
        print(f"\nKeeping {keep:.0%} of the term groups (seed {args.seed}):")
        print(summary_table(report))
        print("\nAgainst the full glossaries:\n" + comparison_table(comparison))
        out[f"keep_{keep}"] = {"report": report, "against_full": comparison}
        line[f"keep_{keep}"] = {
            s["name"]: {m: {"ndcg@10": r["overall"]["ndcg@10"],
                            "delta": comparison["sets"][i]["modes"][m]["delta"]["ndcg@10"],
                            "p": comparison["sets"][i]["modes"][m]["p_value"]}
                        for m, r in s["modes"].items()}
            for i, s in enumerate(report["sets"])
        }  # fmt: skip
        for _, a in pairs_with:
            LocalNeo4j(settings, a.instance).stop()
    if args.out:
        args.out.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", "utf-8")
    print(json.dumps({"benchmark": "glossary_ablation", "seed": args.seed,
                      "full": {s["name"]: {m: r["overall"]["ndcg@10"]
                                           for m, r in s["modes"].items()}
                               for s in full["sets"]},
                      **line, "machine": machine()}))  # fmt: skip


if __name__ == "__main__":
    main()
