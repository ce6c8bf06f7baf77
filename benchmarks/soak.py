"""Load and soak: many concurrent clients against `sopkg serve` for minutes, with ingests.

    python3 benchmarks/soak.py [--clients 16] [--minutes 10] [--ingest-every 60]

Starts its own local Neo4j instance (`bench`, wiped) and the API as `sopkg serve` in a child
process on 127.0.0.1 (loopback only; keys for a reader, an owner and an admin), ingests a
copy of the sample corpus through POST /v1/ingest, then runs `--clients` threads, each
with one keep-alive connection, for `--minutes` (and at most `--max-requests` requests),
mixing: searches in both languages with and without filters; document and statement reads;
the coverage report and the change feed with the owner key; feedback posts on earlier
searches; and, every `--ingest-every` seconds, an edit of one SOP in the corpus copy and an
incremental ingest with the admin key.

Prints requests by route and status, latency percentiles, every 5xx and every connection
error, the API process's resident memory after warm-up, at the middle and at the end, and
the load average; then one JSON line. Target: no 5xx, no connection error, memory growth
under 10% after warm-up. Exit status 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _bench as b
import httpx

from ingest.corpus import load_corpus
from kg import allocator

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_corpus"
HOST = "127.0.0.1"  # loopback only: this script never sends traffic anywhere else

SEARCHES: list[dict[str, Any]] = [
    {"query": "counterfeit branded goods listing"},
    {"query": "seller asks buyer to pay outside the platform", "market": "SG"},
    {"query": "cosmetics claims that a product removes spots", "language": "en"},
    {"query": "repeat violation enforcement", "limit": 5},
    {"query": "health food medical claims", "market": "JP"},
    {"query": "escalation to the legal team", "topic": "ipr"},
    {"query": "コピー品 出品"},
    {"query": "このコスメ「シミが消える」って書いてあるけどNG?"},
    {"query": "外部決済への誘導", "market": "JP"},
    {"query": "偽ブランド 通報 対応", "language": "ja"},
    {"query": "健康食品 効能 表示", "limit": 3},
    {"query": "違反を繰り返す出品者"},
]
# (operation, weight): reads dominate, as on a moderation shift.
MIX = [
    ("search", 55),
    ("document", 12),
    ("statement", 12),
    ("coverage", 4),
    ("changes", 6),
    ("feedback", 7),
    ("topics", 4),
]


@dataclass
class Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    by_route: Counter[tuple[str, int]] = field(default_factory=Counter)
    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)  # every 5xx and connection error
    query_ids: list[str] = field(default_factory=list)
    statements: set[str] = field(default_factory=set)

    def add(self, route: str, status: int, ms: float, detail: str = "") -> None:
        with self.lock:
            self.by_route[(route, status)] += 1
            self.latency[route].append(ms)
            if status >= 500 or status == 0:
                self.errors.append(f"{route} -> {status or 'connection error'} {detail}"[:300])


class Server:
    """`sopkg serve` in a child process, as an operator runs it."""

    def __init__(self, conn: Any, keys: dict[str, dict[str, str]]) -> None:
        self.port = b_free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="sopkg-soak-api-", suffix=".log")
        env = os.environ | {
            "PYTHONPATH": str(ROOT),
            "NEO4J_URI": conn.uri,
            "NEO4J_USER": conn.user,
            "NEO4J_PASSWORD": conn.password,
            "NEO4J_DATABASE": conn.database,
            "SOPKG_API_KEYS": json.dumps(keys),
            "SOPKG_OPEN_MODE": "false",
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sopkg.cli", "serve", "--host", HOST, "--port", str(self.port)],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT,
        )  # fmt: skip

    def wait_alive(self, timeout: float = 300) -> None:
        t = time.monotonic()
        while time.monotonic() - t < timeout:
            if self.proc.poll() is not None:
                raise SystemExit(f"the API exited ({self.proc.returncode}):\n{self.tail()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise SystemExit(f"the API did not start within {timeout} s:\n{self.tail()}")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def tail(self, lines: int = 40) -> str:
        text = Path(self.log.name).read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def tracebacks(self, most: int = 5) -> list[str]:
        """The server log's first `most` tracebacks (what a 500 was), with their last line."""
        lines = Path(self.log.name).read_text(encoding="utf-8", errors="replace").splitlines()
        found = []
        for i, line in enumerate(lines):
            if line.startswith("Traceback") and len(found) < most:
                end = next(
                    (j for j in range(i + 1, len(lines)) if lines[j][:1] not in (" ", "")), i
                )
                found.append("\n".join(lines[max(end - 6, i) : end + 1]))
        return found

    def warnings(self) -> list[str]:
        """The server log's warning and error lines (uvicorn's own included)."""
        text = Path(self.log.name).read_text(encoding="utf-8", errors="replace")
        return [ln for ln in text.splitlines() if ln.startswith(("WARNING", "ERROR"))]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def b_free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def call(client: httpx.Client, stats: Stats, route: str, method: str, path: str,
         idle: list[float] | None = None, **kw: Any) -> httpx.Response | None:  # fmt: skip
    """One request. `idle` holds when this client's previous request ended: a connection
    error says how long the client's connection had been idle (a reset right at the server's
    keep-alive limit is the client reusing a connection the server is closing)."""
    t = time.perf_counter()
    try:
        r = client.request(method, path, **kw)
    except httpx.HTTPError as e:
        gap = f" (after {t - idle[0]:.2f} s idle)" if idle else ""
        stats.add(route, 0, (time.perf_counter() - t) * 1000, f"{type(e).__name__}: {e}{gap}")
        return None
    finally:
        if idle:
            idle[0] = time.perf_counter()
    stats.add(route, r.status_code, (time.perf_counter() - t) * 1000, r.text[:200])
    return r


TCP_COUNTERS = ("ListenOverflows", "ListenDrops", "TCPAbortOnData", "TCPAbortOnClose",
                "TCPAbortOnMemory", "TCPAbortOnTimeout")  # fmt: skip


def tcp_counters() -> dict[str, int]:
    """The kernel's TCP abort and accept-queue counters (all of this machine's sockets):
    which side dropped or reset a connection, when a client saw one."""
    try:
        lines = Path("/proc/net/netstat").read_text().splitlines()
    except OSError:
        return {}
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            table = dict(zip(names.split()[1:], map(int, values.split()[1:]), strict=False))
            return {k: table[k] for k in TCP_COUNTERS if k in table}
    return {}


def client_loop(url: str, keys: dict[str, str], doc_ids: list[str], stats: Stats,
                deadline: float, budget: list[int], n: int, seed: int) -> None:  # fmt: skip
    rng = random.Random(seed * 1000 + n)
    ops, weights = zip(*MIX, strict=True)
    reader = {"X-API-Key": keys[f"reader-{n % (len(keys) - 2)}"]}
    owner = {"X-API-Key": keys["owner"]}
    idle = [time.perf_counter()]
    with httpx.Client(base_url=url, timeout=120) as client:
        while time.monotonic() < deadline:
            with stats.lock:
                if budget[0] <= 0:
                    return
                budget[0] -= 1
            op = rng.choices(ops, weights)[0]
            if op == "search":
                r = call(client, stats, "POST /v1/search", "POST", "/v1/search", idle,
                         json=rng.choice(SEARCHES), headers=reader)  # fmt: skip
                if r is not None and r.status_code == 200:
                    data = r.json()
                    with stats.lock:
                        stats.query_ids.append(data["query_id"])
                        del stats.query_ids[:-500]
                        for res in data["results"]:
                            if res["unit"]["type"] == "statement":
                                stats.statements.add(res["unit"]["key"])
            elif op == "document":
                path = f"/v1/documents/{rng.choice(doc_ids)}"
                call(client, stats, "GET /v1/documents/{id}", "GET", path, idle,
                     headers=reader)  # fmt: skip
            elif op == "statement":
                with stats.lock:
                    known = sorted(stats.statements)
                if known:
                    key = rng.choice(known).replace("#", ".")
                    call(client, stats, "GET /v1/statements/{id}", "GET",
                         f"/v1/statements/{key}", idle, headers=reader)  # fmt: skip
            elif op == "coverage":
                call(client, stats, "GET /v1/coverage", "GET", "/v1/coverage", idle,
                     headers=owner)  # fmt: skip
            elif op == "changes":
                call(client, stats, "GET /v1/changes", "GET", "/v1/changes", idle,
                     params={"since": "2025-01-01"}, headers=owner)  # fmt: skip
            elif op == "topics":
                call(client, stats, "GET /v1/topics", "GET", "/v1/topics", idle,
                     headers=reader)  # fmt: skip
            elif op == "feedback":
                with stats.lock:
                    # Searches some seconds old: their log entries are written by now.
                    ids = stats.query_ids[:-50]
                if ids:
                    call(client, stats, "POST /v1/feedback", "POST", "/v1/feedback", idle,
                         json={"query_id": rng.choice(ids), "answered": rng.random() < 0.7},
                         headers=reader)  # fmt: skip


def edit_one(corpus: Path, n: int) -> str:
    """Change one SOP file so the next ingest has one document to write."""
    files = sorted(p for p in corpus.rglob("*.en.md"))
    path = files[n % len(files)]
    text = path.read_text(encoding="utf-8").rstrip("\n")
    path.write_text(text + f"\n\nSoak edit {n}: reviewed during the soak run.\n", "utf-8")
    return path.name


def ingest_loop(url: str, admin_key: str, corpus: Path, stats: Stats, deadline: float,
                every: float, log: list[dict[str, Any]]) -> None:  # fmt: skip
    headers = {"X-API-Key": admin_key}
    n = 0
    with httpx.Client(base_url=url, timeout=600) as client:
        next_at = time.monotonic() + every
        while next_at < deadline:
            time.sleep(max(0.0, next_at - time.monotonic()))
            n += 1
            name = edit_one(corpus, n)
            t = time.perf_counter()
            r = call(client, stats, "POST /v1/ingest", "POST", "/v1/ingest",
                     json={"corpus": str(corpus)}, headers=headers)  # fmt: skip
            s = time.perf_counter() - t
            written = r.json().get("written") if r is not None and r.status_code == 200 else None
            log.append({"n": n, "file": name, "status": r.status_code if r else 0,
                        "written": written, "seconds": round(s, 2)})  # fmt: skip
            b.log(f"ingest {n}: {name} -> {log[-1]['status']}, written {written}, {s:.1f} s")
            next_at += every


def prefill_log(driver: Any, database: str, n: int, seed: int) -> None:
    """`n` query log entries shaped like the soak's searches (their texts, ten current
    statements each), written as the API's logger writes them."""
    import datetime as dt
    import uuid

    from kg.analysis import detect_language
    from kg.coverage import CoverageReader, QueryLogEntry

    keys = [r["key"] for r in driver.execute_query(
        "MATCH (s:Statement {current: true}) RETURN s.key AS key", database_=database
    ).records]  # fmt: skip
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    reader = CoverageReader(driver, database)
    for start in range(0, n, 1000):
        batch = []
        for i in range(start, min(n, start + 1000)):
            search = SEARCHES[i % len(SEARCHES)]
            batch.append(QueryLogEntry(
                id=uuid.uuid4().hex, at=now - dt.timedelta(seconds=n - i),
                query=search["query"], query_lang=detect_language(search["query"]), mode="hybrid", market=search.get("market"), result_count=10,
                best_score=rng.random(), top_scores=sorted((rng.random() for _ in range(10)),
                                                            reverse=True),
                agreement=rng.random(), separation=rng.random() / 5,
                result_ids=rng.sample(keys, min(10, len(keys))), result_topics=[""] * 10,
            ))  # fmt: skip
        reader.log_queries(batch, keep=max(n, 10_000))


def pct(values: list[float]) -> dict[str, float]:
    return {f"p{p}": round(b.percentile(values, p), 1) for p in (50, 95, 99)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--max-requests", type=int, default=500_000, help="hard bound")
    ap.add_argument("--ingest-every", type=float, default=60.0, help="seconds")
    ap.add_argument("--warmup", type=float, default=30.0, help="seconds before the first RSS")
    ap.add_argument("--corpus", type=Path, default=SAMPLE, help="copied, then edited and ingested")
    ap.add_argument("--instance", default=b.DEFAULT_INSTANCE)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--prefill-log", type=int, default=0, metavar="N",
        help="log N searches before the clients start, as a server that has run for a while "
        "(the log's bound is SOPKG_QUERY_LOG_MAX, 10,000 by default)",
    )  # fmt: skip
    args = ap.parse_args()

    settings = b.bench_settings()
    server, conn = b.start_instance(settings, args.instance)
    with conn.driver() as driver:
        b.wipe(driver, conn.database)
    work = Path(tempfile.mkdtemp(prefix="sopkg-soak-"))
    corpus = work / "corpus"
    shutil.copytree(args.corpus, corpus)
    doc_ids = sorted(load_corpus(corpus).documents())
    # One reader key per client, as each moderator has their own (per-key limits apply).
    keys = {f"reader-{i}": secrets.token_urlsafe(24) for i in range(args.clients)}
    keys |= {role: secrets.token_urlsafe(24) for role in ("owner", "admin")}
    api = Server(conn, {f"soak-{name}": {"key": key, "role": name.split("-")[0]}
                        for name, key in keys.items()})  # fmt: skip
    stats = Stats()
    try:
        api.wait_alive()
        malloc = allocator.in_use(allocator.loaded_libraries(Path(f"/proc/{api.proc.pid}/maps")))
        b.log(f"API allocator: {malloc}")
        t = time.perf_counter()
        r = httpx.post(f"{api.url}/v1/ingest", json={"corpus": str(corpus)},
                       headers={"X-API-Key": keys["admin"]}, timeout=1800)  # fmt: skip
        if r.status_code != 200:
            raise SystemExit(f"first ingest failed: {r.status_code} {r.text[:500]}")
        b.log(f"sample corpus ingested through the API in {time.perf_counter() - t:.1f} s")
        if args.prefill_log:
            with conn.driver() as driver:
                prefill_log(driver, conn.database, args.prefill_log, args.seed)
            b.log(f"query log filled with {args.prefill_log} entries")

        start = time.monotonic()
        deadline = start + args.minutes * 60
        budget = [args.max_requests]
        ingests: list[dict[str, Any]] = []
        threads = [
            threading.Thread(target=client_loop, args=(api.url, keys, doc_ids, stats, deadline,
                                                       budget, i, args.seed))
            for i in range(args.clients)
        ]  # fmt: skip
        threads.append(threading.Thread(
            target=ingest_loop,
            args=(api.url, keys["admin"], corpus, stats, deadline, args.ingest_every, ingests),
        ))  # fmt: skip
        load_start = os.getloadavg()
        tcp_start = tcp_counters()
        for th in threads:
            th.start()
        rss: dict[str, float] = {}
        # Every 30 s as well, so a plateau (arenas and buffers reaching their size) can be
        # told from a leak (a steady climb).
        series: list[tuple[int, float]] = []
        marks = {"after warm-up": start + args.warmup, "middle": start + args.minutes * 30}
        pending = sorted((at, label) for label, at in marks.items())
        next_sample = start
        while any(th.is_alive() for th in threads):
            now = time.monotonic()
            if pending and now >= pending[0][0]:
                label = pending.pop(0)[1]
                rss[label] = round(api.rss_mb(), 1)
                b.log(f"RSS {label}: {rss[label]} MiB ({sum(stats.by_route.values())} requests)")
            if now >= next_sample:
                series.append((round(now - start), round(api.rss_mb(), 1)))
                next_sample += 30
            time.sleep(1)
        for th in threads:
            th.join()
        elapsed = time.monotonic() - start
        rss["end"] = round(api.rss_mb(), 1)
        load_end = os.getloadavg()
        tcp = {k: v - tcp_start.get(k, 0) for k, v in tcp_counters().items()}
        server_errors = api.tracebacks()
        warnings = api.warnings()
    finally:
        api.stop()
        shutil.rmtree(work, ignore_errors=True)

    total = sum(stats.by_route.values())
    all_ms = [ms for v in stats.latency.values() for ms in v]
    print(f"\nsoak: {args.clients} clients, {elapsed:.0f} s, {total} requests "
          f"({total / elapsed:.1f}/s), ingest every {args.ingest_every:.0f} s")  # fmt: skip
    print(f"load average: {load_start[0]:.2f} at start, {load_end[0]:.2f} at end "
          f"(1 min), {os.cpu_count()} cores")  # fmt: skip
    print(f"\n{'route':<28}{'status':>7}{'count':>8}")
    for (route, status), n in sorted(stats.by_route.items()):
        print(f"{route:<28}{status or 'conn':>7}{n:>8}")
    print(f"\n{'route':<28}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    for route, values in sorted(stats.latency.items()):
        p = pct(values)
        print(f"{route:<28}{p['p50']:>9}{p['p95']:>9}{p['p99']:>9}")
    p = pct(all_ms)
    print(f"{'all':<28}{p['p50']:>9}{p['p95']:>9}{p['p99']:>9}")
    print(f"\nerrors (5xx and connection errors): {len(stats.errors)}")
    for e in stats.errors[:50]:
        print(f"  {e}")
    for tb in server_errors:
        print("\nserver log, a traceback (its last lines):\n" + tb)
    print(f"server log warnings and errors: {len(warnings)}")
    for w in warnings[:10]:
        print(f"  {w[:300]}")
    print("TCP counters during the run (whole machine): "
          + ", ".join(f"{k} {v}" for k, v in tcp.items()))  # fmt: skip
    growth = (rss["end"] - rss["after warm-up"]) / rss["after warm-up"] * 100
    print(f"\nAPI resident memory: after warm-up {rss['after warm-up']} MiB, middle "
          f"{rss['middle']} MiB, end {rss['end']} MiB (growth {growth:+.1f}%)")  # fmt: skip
    print("  every 30 s (s: MiB): " + ", ".join(f"{t}: {m:.0f}" for t, m in series))
    print("ingests:", ", ".join(f"{i['status']}/{i['written']} in {i['seconds']} s"
                                for i in ingests))  # fmt: skip
    met = not stats.errors and growth < 10 and all(i["status"] == 200 for i in ingests)
    print(f"target (no 5xx, no connection error, growth < 10%): {'met' if met else 'MISSED'}")
    b.emit_json({
        "clients": args.clients, "seconds": round(elapsed, 1), "requests": total,
        "by_route": {f"{r} {s}": n for (r, s), n in sorted(stats.by_route.items())},
        "latency_ms": {r: pct(v) for r, v in stats.latency.items()} | {"all": pct(all_ms)},
        "errors": stats.errors, "rss_mb": rss, "rss_series": series, "growth_pct": round(growth, 1),
        "allocator": malloc, "tcp": tcp, "server_warnings": len(warnings),
        "ingests": ingests, "machine": b.machine(),
    })  # fmt: skip
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
