"""Tatoeba jpn-eng (CC BY 2.0 FR) as a public cross-lingual check through the product:
each sentence becomes a one-statement SOP in its language only, the aligned sentence in the
other language is the query, and `sopkg eval` runs them. Nothing in the ranking was chosen
on it: it checks that the cross-lingual leg, tuned on dev and dev-xl, holds elsewhere.

usage: python3 benchmarks/tatoeba.py [--direction ja2en|en2ja|mixed] (all by default)
           [--data ../shared/eval/public/tatoeba-jpn-eng] [--mode hybrid --mode dense ...]
           [--param FIELD=VALUE ...] [--out report.json]

`mixed` puts the first half of the pairs in English and the second half in Japanese, in
one corpus: each query then competes with 500 documents in its own language, as a
moderator's query does with the SOPs of their own language (the issue's failing case).

Each direction's corpus is written once under .sopkg/tatoeba/<direction>/ and its graph
(own local Neo4j instance, see sopkg.evaluation.EvalSet) is reused by later runs.
Published reference (the data's README): multilingual-e5-small ja -> en P@1 0.809, both
sides embedded as queries, over the bare sentences.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _public import add_eval_args, evaluate, parse_eval_args, write_queries, write_report  # noqa: E402

from sopkg.evaluation import EvalSet  # noqa: E402

SECTION = "text"
# The same words on every document: a constant title and heading rank no sentence above
# another, and the SOP format requires both.
FRAME = {"en": ("Tatoeba", "Sentence"), "ja": ("タトエバ", "例文")}
DIRECTIONS = ["ja2en", "en2ja", "mixed"]


def pairs(data: Path, direction: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(documents, queries) of a direction, as rows of the data's JSONL files."""

    def rows(path: Path) -> list[dict[str, Any]]:
        return [json.loads(line) for line in path.read_text("utf-8").splitlines()]

    ja2en = rows(data / "corpus.jsonl"), rows(data / "queries.jsonl")
    en2ja = rows(data / "en2ja" / "corpus.jsonl"), rows(data / "en2ja" / "queries.jsonl")
    if direction != "mixed":
        return ja2en if direction == "ja2en" else en2ja
    half = len(ja2en[0]) // 2
    return ja2en[0][:half] + en2ja[0][half:], ja2en[1][:half] + en2ja[1][half:]


def convert(data: Path, out: Path, direction: str) -> EvalSet:
    corpus, queries = out / "corpus", out / "queries.jsonl"
    (corpus / "sentences").mkdir(parents=True, exist_ok=True)
    (corpus / "taxonomy.yaml").write_text(
        "topics:\n  - id: sentences\n    en: Sentences\n    ja: 例文\n", encoding="utf-8"
    )
    (corpus / "glossary.yaml").write_text("terms: []\n", encoding="utf-8")
    documents, questions = pairs(data, direction)
    for row in documents:
        lang = row["lang"]
        path = corpus / "sentences" / f"{row['id']}.{lang}.md"
        if path.exists():
            continue
        title, heading = FRAME[lang]
        # A prose section of one passage, as JaQuAD's paragraphs: the judged unit.
        path.write_text(
            f"---\nid: {row['id']}\nlang: {lang}\ntitle: {title}\ntopic: sentences\n"
            f'markets: [ALL]\nowner: Tatoeba\nversion: "1.0"\neffective: 2026-01-01\n---\n'
            f"# {title}\n\n## {heading} {{#{SECTION}}}\n{row['text'].strip()}\n",
            encoding="utf-8",
        )
    write_queries(queries, questions, SECTION, "crosslingual")
    return EvalSet(corpus, queries)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared/eval/public/tatoeba-jpn-eng")
    ap.add_argument("--work", type=Path, default=ROOT / ".sopkg" / "tatoeba")
    ap.add_argument("--direction", action="append", choices=DIRECTIONS)
    add_eval_args(ap, out_help="every direction's report as JSON, by direction")
    args = parse_eval_args(ap)
    reports = {}
    for direction in args.direction or DIRECTIONS:
        print(f"## {direction}")
        reports[direction] = evaluate(
            convert(args.data, args.work / direction, direction), args, "sentences"
        )
    # One file for every direction: each report written on its own would replace the last.
    write_report(args.out, {"benchmark": "tatoeba", "directions": reports})


if __name__ == "__main__":
    main()
