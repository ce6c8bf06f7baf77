"""JaQuAD (Japanese Wikipedia QA, CC BY-SA 3.0) as a public Japanese retrieval check at
scale, through the product: each paragraph becomes a one-section Japanese-only SOP, the
questions become judged queries on that section, and `sopkg eval` runs them.

usage: python3 benchmarks/jaquad.py [--data ../shared/eval/public/jaquad-dev]
           [--mode hybrid --mode lexical ...] [--param FIELD=VALUE ...] [--out report.json]

The converted corpus is written once under .sopkg/jaquad/ and its graph (own local Neo4j
instance, see sopkg.evaluation.EvalSet) is reused by later runs. Reference figures in the
data's README: plain BM25 over fugashi tokens 0.913 nDCG@10; the issue quotes BM25 0.916.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kg.embedders import make_embedder  # noqa: E402
from kg.settings import get_settings  # noqa: E402
from sopkg.evaluation import EvalSet, fusion_config, run_eval, summary_table  # noqa: E402

SECTION = "text"


def convert(data: Path, out: Path) -> EvalSet:
    """Write the SOP corpus and the judged queries (skipped when already there)."""
    corpus, queries = out / "corpus", out / "queries.jsonl"
    if queries.exists():
        return EvalSet(corpus, queries)
    (corpus / "wiki").mkdir(parents=True, exist_ok=True)
    (corpus / "taxonomy.yaml").write_text(
        "topics:\n  - id: wiki\n    en: Wikipedia\n    ja: ウィキペディア\n", encoding="utf-8"
    )
    (corpus / "glossary.yaml").write_text("terms: []\n", encoding="utf-8")
    for line in (data / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
        p = json.loads(line)
        # One passage per paragraph: the judged unit is the whole paragraph.
        text = " ".join(x.strip() for x in p["text"].split("\n") if x.strip())
        title = p["title"].replace('"', "'")
        (corpus / "wiki" / f"{p['id']}.ja.md").write_text(
            f'---\nid: {p["id"]}\nlang: ja\ntitle: "{title}"\ntopic: wiki\nmarkets: [ALL]\n'
            f'owner: JaQuAD\nversion: "1.0"\neffective: 2026-01-01\n---\n'
            f"# {p['title']}\n\n## 本文 {{#{SECTION}}}\n{text}\n",
            encoding="utf-8",
        )
    rows = []
    for line in (data / "queries.jsonl").read_text(encoding="utf-8").splitlines():
        q = json.loads(line)
        relevant = [
            {"doc": r["doc"], "section": SECTION, "grade": r["grade"]} for r in q["relevant"]
        ]
        rows.append(json.dumps({"id": q["id"], "text": q["text"], "lang": "ja", "kind": "question",
                                "relevant": relevant}, ensure_ascii=False))  # fmt: skip
    queries.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return EvalSet(corpus, queries)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared/eval/public/jaquad-dev")
    ap.add_argument("--work", type=Path, default=ROOT / ".sopkg" / "jaquad")
    ap.add_argument("--mode", action="append", choices=["hybrid", "fused", "lexical", "dense"])
    ap.add_argument("--param", action="append", default=[], metavar="FIELD=VALUE")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    settings = get_settings()
    eset = convert(args.data, args.work)
    report = run_eval(
        settings, make_embedder(settings), [eset], args.mode or ["hybrid", "lexical", "dense"],
        fusion=fusion_config(overrides=args.param),
    )  # fmt: skip
    if args.out:
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", "utf-8")
    print(summary_table(report))
    print(f"ingest: {report['sets'][0]['ingest']}")


if __name__ == "__main__":
    main()
