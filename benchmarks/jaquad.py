"""JaQuAD (Japanese Wikipedia QA, CC BY-SA 3.0) as a public Japanese retrieval check at
scale, through the product: each paragraph becomes a one-section Japanese-only SOP, the
questions become judged queries on that section, and `sopkg eval` runs them.

usage: python3 benchmarks/jaquad.py [--data ../shared/eval/public/jaquad-dev]
           [--mode hybrid --mode lexical ...] [--param FIELD=VALUE ...] [--out report.json]
           [--paragraphs N]

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


def convert(data: Path, out: Path, paragraphs: int | None = None) -> EvalSet:
    """Write the SOP corpus and the judged queries; with `paragraphs`, only the first N
    paragraphs (in id order, so whole articles first) and the questions about them. The
    corpus folder stays the same, so its graph is reused and only the difference ingested."""
    corpus, queries = out / "corpus", out / "queries.jsonl"
    (corpus / "wiki").mkdir(parents=True, exist_ok=True)
    (corpus / "taxonomy.yaml").write_text(
        "topics:\n  - id: wiki\n    en: Wikipedia\n    ja: ウィキペディア\n", encoding="utf-8"
    )
    (corpus / "glossary.yaml").write_text("terms: []\n", encoding="utf-8")
    rows = [json.loads(line) for line in (data / "corpus.jsonl").read_text("utf-8").splitlines()]
    rows = sorted(rows, key=lambda p: p["id"])[:paragraphs]
    keep = {f"{p['id']}.ja.md" for p in rows}
    for old in (corpus / "wiki").glob("*.md"):
        if old.name not in keep:
            old.unlink()
    for p in rows:
        path = corpus / "wiki" / f"{p['id']}.ja.md"
        if path.exists():
            continue
        # One passage per paragraph: the judged unit is the whole paragraph.
        text = " ".join(x.strip() for x in p["text"].split("\n") if x.strip())
        title = p["title"].replace('"', "'")
        path.write_text(
            f'---\nid: {p["id"]}\nlang: ja\ntitle: "{title}"\ntopic: wiki\nmarkets: [ALL]\n'
            f'owner: JaQuAD\nversion: "1.0"\neffective: 2026-01-01\n---\n'
            f"# {p['title']}\n\n## 本文 {{#{SECTION}}}\n{text}\n",
            encoding="utf-8",
        )
    ids = {p["id"] for p in rows}
    judged = []
    for line in (data / "queries.jsonl").read_text(encoding="utf-8").splitlines():
        q = json.loads(line)
        if not all(r["doc"] in ids for r in q["relevant"]):
            continue
        relevant = [
            {"doc": r["doc"], "section": SECTION, "grade": r["grade"]} for r in q["relevant"]
        ]
        judged.append(json.dumps({"id": q["id"], "text": q["text"], "lang": "ja",
                                  "kind": "question", "relevant": relevant},
                                 ensure_ascii=False))  # fmt: skip
    queries.write_text("\n".join(judged) + "\n", encoding="utf-8")
    return EvalSet(corpus, queries)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared/eval/public/jaquad-dev")
    ap.add_argument("--work", type=Path, default=ROOT / ".sopkg" / "jaquad")
    ap.add_argument("--mode", action="append", choices=["hybrid", "fused", "lexical", "dense"])
    ap.add_argument("--param", action="append", default=[], metavar="FIELD=VALUE")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--paragraphs", type=int, help="only the first N paragraphs (a subset)")
    args = ap.parse_args()
    settings = get_settings()
    eset = convert(args.data, args.work, args.paragraphs)
    report = run_eval(
        settings, make_embedder(settings), [eset], args.mode or ["hybrid", "lexical", "dense"],
        fusion=fusion_config(overrides=args.param),
    )  # fmt: skip
    if args.out:
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", "utf-8")
    s = report["sets"][0]
    print(summary_table(report))
    print(f"\n{s['ingest']['documents']} paragraphs, "
          f"{s['modes'][next(iter(s['modes']))]['overall']['queries']} questions")  # fmt: skip
    print(json.dumps({"paragraphs": s["ingest"]["documents"], "load": _load(),
                      "modes": {m: r["overall"] for m, r in s["modes"].items()}}))  # fmt: skip


def _load() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


if __name__ == "__main__":
    main()
