"""Time ``graphdetect detect --engine spark`` against the embedded engine on the same data.

Both run as whole ``graphdetect detect`` processes, one after the other in one run, so
the ratio compares like with like (the Spark figure includes starting the JVM). The run
folders must be the same bytes (cases.jsonl, entity_scores.csv, rejects.csv); the script
stops if they are not. Each engine's read stage is printed beside its wall time (on
Spark with its steps: files read, checked and cached, rejects, repeated keys, window,
tables collected, claims numbered), and the times of the detectors whose steps run on
Spark: the stay detectors (their relational steps) and card_pooling (the lockstep
groups, which outpatient_gathering reuses; its facts, case assembly and scoring are the
same work on both). The graph and the other detectors are the same work on both (see the
README's "Engines").

``--patients 100000`` (the default) is about 1M claims, generated once under
/tmp/graphdetect-bench/; ``--data`` runs a folder already there (a province's cities as
partitioned Parquet, from ``province.py``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ensure_data, process_tree, rss

SAME = ("cases.jsonl", "entity_scores.csv", "rejects.csv")


def _role(pid: int, root: int, cmd: str) -> str:
    if pid == root:
        return "driver_python"
    if "java" in cmd.split(" ", 1)[0]:
        return "jvm"
    return "python_workers" if "pyspark" in cmd else "other"


def run(data: Path, out: Path, *engine: str) -> dict:
    """One ``graphdetect detect`` process: its wall time, its summary's timings, and the
    peak memory (RSS, sampled every 0.2 s from /proc) of the process itself (the
    driver's Python), of Spark's JVM (on a local master the driver and the executors),
    and of the Python workers together."""
    exe = Path(sys.executable).with_name("graphdetect")
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(exe), "detect", str(data), "--out", str(out), "--quiet",
                             *engine])
    peak: dict[str, int] = {}
    while proc.poll() is None:
        now: dict[str, int] = {}
        for pid, cmd in process_tree(proc.pid):
            role = _role(pid, proc.pid, cmd)
            now[role] = now.get(role, 0) + rss(pid)
        now["all"] = sum(now.values())
        for role, held in now.items():
            peak[role] = max(peak.get(role, 0), held)
        time.sleep(0.2)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"detect {' '.join(engine)} failed (exit {proc.returncode})")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    timings = summary["timings"]
    return {"wall_s": round(wall, 2), "read_s": timings["read"],
            "peak_gb": {k: round(v / 1024**3, 2) for k, v in sorted(peak.items())},
            "stays_s": timings["detect.concurrent_stay"] + timings["detect.split_stay"],
            "pooling_s": timings["detect.card_pooling"], "timings": timings,
            "rows": summary["rows"]["read"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=100_000)
    ap.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    ap.add_argument("--data", type=Path, help="a data folder to run instead of a generated "
                    "city, e.g. a province view that benchmarks/province.py made (partitioned "
                    "Parquet)")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--spark-conf", action="append", default=[], metavar="KEY=VALUE",
                    help="passed on to detect, e.g. spark.driver.memory=10g (the driver "
                         "collects the claims: 10M rows run in the default 4g on local[2])")
    args = ap.parse_args()
    data = args.data or ensure_data(args.patients, args.format)
    tmp = Path(tempfile.mkdtemp(prefix="graphdetect-spark-bench-"))
    try:
        embedded = run(data, tmp / "embedded")
        conf = [x for kv in args.spark_conf for x in ("--spark-conf", kv)]
        spark = run(data, tmp / "spark", "--engine", "spark", "--master", args.master, *conf)
        for name in SAME:
            if (tmp / "embedded" / name).read_bytes() != (tmp / "spark" / name).read_bytes():
                raise SystemExit(f"{name} differs between the engines")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{data.name}: {embedded['rows']:,} rows read, outputs the same bytes")
    for name, r in (("embedded", embedded), (f"spark {args.master}", spark)):
        print(f"  {name:<18} wall {r['wall_s']:7.2f} s   read {r['read_s']:7.2f} s   "
              f"stay detectors {r['stays_s']:6.2f} s   card_pooling {r['pooling_s']:6.2f} s")
        print("  " + " " * 18 + " peak RSS (GB): " + ", ".join(
            f"{k} {v}" for k, v in r["peak_gb"].items()))
        steps = {k[5:]: v for k, v in r["timings"].items() if k.startswith("read.")}
        if steps:
            print("  " + " " * 18 + " read's steps (s): " + ", ".join(
                f"{k} {v:.1f}" for k, v in steps.items()))
    with open(Path(tempfile.gettempdir()) / "graphdetect-bench" / "spark.json", "w") as f:
        json.dump({"data": str(data), "embedded": embedded, "spark": spark}, f, indent=1)
    print(f"  ratio spark/embedded: wall {spark['wall_s'] / embedded['wall_s']:.2f}x, "
          f"read {spark['read_s'] / embedded['read_s']:.2f}x")


if __name__ == "__main__":
    main()
