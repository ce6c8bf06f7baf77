"""Where a local Neo4j server's CPU goes: a Java Flight Recorder profile, summed by method.

Attaches to a running instance for a while (it does not start one, and reads nothing from
the graph) and prints the methods with the largest share of the JVM's execution samples,
by their own time and with what they call, and the JVM's share of the machine's CPU. Run it
beside the work to profile, e.g. a build in one shell and

    python benchmarks/jvm_profile.py --instance bench-w --seconds 40

in another (docs/benchmarks.md, "The JVM's optimising compiler"). It needs the JDK's `jcmd`
and `jfr` tools (Debian: openjdk-17-jdk-headless); a JRE has neither.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import _bench as b


def method_name(frame: dict[str, Any]) -> str:
    method = frame["method"]
    return f"{method['type']['name'].replace('/', '.')}.{method['name']}"


def tally(events: list[dict[str, Any]]) -> tuple[Counter[str], Counter[str]]:
    """(own samples, samples with the method anywhere on the stack) per method."""
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    for event in events:
        frames = (event["values"].get("stackTrace") or {}).get("frames") or []
        names = [method_name(f) for f in frames]
        if names:
            own[names[0]] += 1
        anywhere.update(set(names))
    return own, anywhere


def jvm_cpu_share(jfr: str, recording: Path) -> float | None:
    """The JVM's mean share of the machine's CPU (user + system) over the recording."""
    out = subprocess.run(
        [jfr, "print", "--json", "--events", "jdk.CPULoad", str(recording)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    loads = [e["values"] for e in json.loads(out)["recording"]["events"]]
    if not loads:
        return None
    return sum(v["jvmUser"] + v["jvmSystem"] for v in loads) / len(loads)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--instance", default=b.SYNTHETIC_INSTANCE, help="a running instance")
    ap.add_argument("--seconds", type=int, default=30, help="how long to record")
    ap.add_argument("--top", type=int, default=25, help="methods listed in each table")
    ap.add_argument("--keep", type=Path, help="also keep the recording (.jfr) here")
    args = ap.parse_args()

    jcmd, jfr = shutil.which("jcmd"), shutil.which("jfr")
    if not jcmd or not jfr:
        raise SystemExit("jcmd and jfr not found: they come with a JDK, not a JRE")
    status = b.LocalNeo4j(b.bench_settings(), args.instance).status()
    if status.pid is None:
        raise SystemExit(f"{status.describe()}: start it (and the work to profile) first")
    with tempfile.TemporaryDirectory() as tmp:
        recording = args.keep or Path(tmp) / "neo4j.jfr"
        b.log(f"recording neo4j[{args.instance}] (pid {status.pid}) for {args.seconds} s")
        subprocess.run(
            [jcmd, str(status.pid), "JFR.start", f"duration={args.seconds}s",
             "settings=profile", f"filename={recording}"],
            check=True, capture_output=True,
        )  # fmt: skip
        # JFR.start returns at once; the file is written when the duration has passed.
        time.sleep(args.seconds)
        deadline = time.monotonic() + 60
        while not (recording.exists() and recording.stat().st_size) and time.monotonic() < deadline:
            time.sleep(0.5)
        out = subprocess.run(
            [jfr, "print", "--json", "--events", "jdk.ExecutionSample", "--stack-depth", "64",
             str(recording)],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        events = json.loads(out)["recording"]["events"]
        cpu = jvm_cpu_share(jfr, recording)
    own, anywhere = tally(events)
    n = len(events) or 1
    print(f"\nneo4j[{args.instance}]: {len(events)} execution samples in {args.seconds} s"
          + (f"; the JVM used {cpu:.0%} of the machine's CPU" if cpu is not None else ""))  # fmt: skip
    for title, counts in (("own time", own), ("with what it calls", anywhere)):
        print(f"\n  top methods, {title} (% of samples):")
        for name, c in counts.most_common(args.top):
            print(f"    {100 * c / n:5.1f}  {name}")
    b.emit_json(
        {"benchmark": "jvm_profile", "instance": args.instance, "seconds": args.seconds,
         "samples": len(events), "jvm_cpu_share": cpu,
         "own": {k: round(c / n, 4) for k, c in own.most_common(args.top)},
         "anywhere": {k: round(c / n, 4) for k, c in anywhere.most_common(args.top)},
         "machine": b.machine()}
    )  # fmt: skip


if __name__ == "__main__":
    main()
