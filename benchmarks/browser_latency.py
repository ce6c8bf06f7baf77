"""Search page latency in headless Chromium: from pressing Enter to the results painted.

    python benchmarks/browser_latency.py /work/shared/eval/dev/queries.jsonl
    python benchmarks/browser_latency.py queries.jsonl --corpus path/to/corpus --rounds 3

The graph lives on the local `bench-browser` Neo4j instance (see benchmarks/_bench.py;
`--instance`): `--corpus` (default: the `corpus` folder beside the queries file, when
there is one) is ingested there, incrementally; with `--no-ingest` the graph is used as
it is. The app (API and web
pages, `search_api.app.create_app`) runs in a child process with a generated reader key,
as `query_latency.py` runs it. Chromium (Debian's /usr/bin/chromium, driven by
Playwright; no browser is downloaded) signs in through the sign-in page, opens the search
page, and for each query (its `filters` set in the page's filter controls) types it into
the box and presses Enter.

Measured in the page: from the Enter key event (its timestamp) to the first frame painted
with the new results (the page's `sopkg:results` event, fired after the frame that shows
them); and, from the Resource Timing entry of the results request, the part spent
waiting for the server. Warm: `--warmup` searches first. Prints p50/p95/p99 and one JSON
line. The results response's Server-Timing header splits the server's part: the search
(the API's search route, called in-process), of which retrieval (`timings_ms.total`),
and the HTML rendering. Figures only, nothing asserted; the target is p95 < 150 ms.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import _bench as b
import query_latency as ql

TARGET_P95_MS = 150.0
INSTANCE = "bench-browser"
CHROMIUM = os.environ.get("SOPKG_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Installed once per page: records the Enter keydown's timestamp, and resolves `__measure`
# with (painted - enter, server wait of the results request) on the page's event.
ARM = """
() => {
  window.__measure = new Promise((resolve) => {
    let enter = null;
    const onKey = (e) => { if (e.key === 'Enter') enter = e.timeStamp; };
    window.addEventListener('keydown', onKey, { capture: true, once: true });
    document.addEventListener('sopkg:results', () => {
      const painted = performance.now();
      const entries = performance.getEntriesByType('resource')
        .filter((r) => r.name.includes('/_results?'));
      const last = entries[entries.length - 1];
      performance.clearResourceTimings();
      const timing = {};
      for (const t of (last ? last.serverTiming : [])) timing[t.name] = t.duration;
      resolve({
        total: painted - enter,
        fetch: last ? last.responseEnd - last.startTime : null,
        retrieval: timing.retrieval ?? null,
        search: timing.search ?? null,
        render: timing.render ?? null,
        cards: document.querySelectorAll('#results .card').length,
        message: document.querySelector('#results .message') !== null,
      });
    }, { once: true });
  });
}
"""

SET_FILTERS = """
(filters) => {
  document.getElementById('q').value = '';
  for (const name of ['market', 'topic', 'language']) {
    const el = document.getElementById(name);
    if (el) el.value = filters[name] || '';
  }
}
"""


def measure(page: Any, q: ql.Query) -> dict[str, Any]:
    page.evaluate(SET_FILTERS, q.filters)  # no change event: no search yet
    page.locator("#q").fill(q.text)
    page.evaluate(ARM)
    page.keyboard.press("Enter")
    result: dict[str, Any] = page.evaluate("() => window.__measure")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("queries", type=Path, help="JSONL: text, optional filters")
    ap.add_argument(
        "--corpus",
        type=Path,
        help="ingest this corpus into the bench graph (default: corpus/ beside the queries)",
    )
    ap.add_argument("--no-ingest", action="store_true", help="use the graph as it is")
    ap.add_argument("--rounds", type=int, default=2, help="passes over the queries")
    ap.add_argument("--warmup", type=int, default=20, help="searches before measuring")
    ap.add_argument("--width", type=int, default=1280, help="viewport width (390: a phone)")
    ap.add_argument(
        "--instance",
        default=INSTANCE,
        help=f"local Neo4j instance (default {INSTANCE}: its own, so that it neither wipes "
        "nor is wiped by the synthetic graph query_latency.py builds on `bench`)",
    )
    ap.add_argument("--heap", default="1g")
    ap.add_argument("--pagecache", default="512m")
    args = ap.parse_args()
    queries = ql.load_queries(args.queries)
    if args.corpus is None and not args.no_ingest:
        beside = args.queries.resolve().parent / "corpus"
        args.corpus = beside if beside.is_dir() else None
    args.synthetic = None
    if args.no_ingest:
        args.corpus = None
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"no Chromium at {CHROMIUM}: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    settings = b.bench_settings()
    _, conn = b.start_instance(settings, args.instance, args.heap, args.pagecache)
    with conn.driver() as driver:
        graph_note = ql.prepare_graph(args, driver, conn.database, settings)
        counts = b.graph_counts(driver, conn.database)
    b.log(f"graph: {graph_note}; {counts['passages']} current passages")
    machine_before = b.machine()

    api = ql.ApiProcess(conn)
    samples: list[dict[str, Any]] = []
    try:
        ready_s = api.wait_ready()
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(
                base_url=api.url, viewport={"width": args.width, "height": 900}
            )
            page = context.new_page()
            page.goto("/signin")
            page.locator("#key").fill(api.key)
            page.locator("form[action='/signin'] button[type=submit]").click()
            page.wait_for_url(lambda url: "/signin" not in url)
            page.goto("/")
            for i in range(args.warmup):
                measure(page, queries[i % len(queries)])
            t = time.perf_counter()
            for _ in range(args.rounds):
                for q in queries:
                    samples.append({"query": q.text, **measure(page, q)})
            wall = time.perf_counter() - t
            version = browser.version
            browser.close()
    finally:
        api.stop()

    total = [s["total"] for s in samples]
    fetch = [s["fetch"] for s in samples if s["fetch"] is not None]
    rest = [s["total"] - s["fetch"] for s in samples if s["fetch"] is not None]
    empty = sum(1 for s in samples if not s["cards"])
    figures = {
        "enter_to_painted_ms": ql._pcts(total),
        "results_request_ms": ql._pcts(fetch),
        "retrieval_ms": ql._pcts([s["retrieval"] for s in samples if s["retrieval"] is not None]),
        "server_search_ms": ql._pcts([s["search"] for s in samples if s["search"] is not None]),
        "server_render_ms": ql._pcts([s["render"] for s in samples if s["render"] is not None]),
        "in_browser_ms": ql._pcts(rest),
    }
    p95 = figures["enter_to_painted_ms"]["p95"]
    met = p95 < TARGET_P95_MS
    print(
        f"\nBrowser search latency: {len(queries)} queries from {args.queries}, "
        f"{len(samples)} searches ({args.rounds} rounds) after {args.warmup} warm-up, "
        f"Chromium {version} headless, viewport {args.width} px"
    )
    print(f"  graph: {graph_note}; {counts['passages']} current passages, "
          f"{counts['documents']} documents (instance {args.instance})")  # fmt: skip
    print(f"  machine: {machine_before['cpus']} cpus, load average "
          f"{machine_before['loadavg_1m']} at start; app ready in {ready_s:.1f} s")  # fmt: skip
    for name, label in (
        ("enter_to_painted_ms", "Enter -> results painted"),
        ("results_request_ms", "  results request"),
        ("server_search_ms", "    server: search"),
        ("retrieval_ms", "      of which retrieval"),
        ("server_render_ms", "    server: HTML render"),
        ("in_browser_ms", "  in the browser (rest)"),
    ):
        f = figures[name]
        print(f"  {label:<28} p50 {f['p50']:7.1f}  p95 {f['p95']:7.1f}  "
              f"p99 {f['p99']:7.1f}  mean {f['mean']:7.1f} ms")  # fmt: skip
    print(f"  searches with no result card: {empty}")
    print(f"  target p95 < {TARGET_P95_MS:.0f} ms: {p95:.1f} ms ({'met' if met else 'MISSED'})")
    slowest = sorted(samples, key=lambda s: -s["total"])[:3]
    print("  slowest: " + "; ".join(f"{s['total']:.0f} ms {s['query']!r}" for s in slowest))
    print()
    b.emit_json(
        {
            "benchmark": "browser_latency",
            "queries": str(args.queries),
            "n_queries": len(queries),
            "searches": len(samples),
            "graph": graph_note,
            "counts": counts,
            "chromium": version,
            "viewport_width": args.width,
            "wall_s": b.r3(wall),
            **figures,
            "target_p95_ms": TARGET_P95_MS,
            "target_p95_met": met,
            "machine": machine_before,
        }
    )


if __name__ == "__main__":
    sys.exit(main())
